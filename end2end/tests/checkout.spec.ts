import { expect, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { registerAndConfirm } from "./outbox";
import { addProduct, fillNewAddress, hydrated } from "./shop";

function outboxHas(to: string, subject: RegExp): boolean {
  const dir = process.env.E2E_OUTBOX;
  if (!dir || !fs.existsSync(dir)) return false;
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
    .some((m) => m.includes(`To: ${to}`) && subject.test(m));
}

test("guest: two products -> checkout -> confirmation -> e-mail in the outbox", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const email = `guest-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

  const first = await addProduct(page, "clothing", 0);
  const second = await addProduct(page, "home", 1);
  await expect(page.getByTestId("cart-line")).toHaveCount(2);
  await expect(page.getByTestId("cart-count")).toHaveText("2");

  // Change a quantity in place.
  await hydrated(page);
  const line = page.getByTestId("cart-line").filter({ hasText: first });
  await line.getByRole("spinbutton").fill("2");
  await line.getByRole("button", { name: "Update" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("3");

  await page.getByTestId("checkout-link").click();
  await expect(page).toHaveURL(/\/checkout$/);
  await hydrated(page);
  await expect(page.getByTestId("review-lines")).toContainText(first);
  await expect(page.getByTestId("review-lines")).toContainText(second);
  await page.getByLabel("E-mail for your receipt").fill(email);
  await fillNewAddress(page);
  await page.getByLabel(/Express/).check();
  await page.getByLabel(/Bank transfer/).check();
  // The review follows the choices: Irish VAT, express shipping.
  await expect(page.getByText("Tax (23%)")).toBeVisible();
  await expect(page.getByTestId("review-shipping")).toHaveText("$14.95");
  await page.getByTestId("place-order").click();

  await expect(page).toHaveURL(/\/order\/EMP-\d+$/);
  await expect(page.getByRole("heading", { name: "Thank you for your order" })).toBeVisible();
  const number = (await page.getByTestId("order-number").innerText()).trim();
  await expect(page.getByTestId("order-line")).toHaveCount(2);
  await expect(page.getByTestId("order-status")).toHaveText("Awaiting payment");
  await expect(page.getByTestId("payment-instructions")).toContainText(number);
  await expect(page.getByTestId("cart-count")).toHaveText("0");
  await expect
    .poll(() => outboxHas(email, new RegExp(`Subject: Your Emporium order ${number}`)), { timeout: 10_000 })
    .toBe(true);
  expect(errors).toEqual([]);
});

test("signed in: the guest cart survives sign-in and the order is in the history", async ({ page }) => {
  const email = `member-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const password = "harbour-lights-64";
  // Create the account, then sign out: the shopper returns later as a guest.
  await page.goto("/register");
  await hydrated(page);
  await registerAndConfirm(page, email, password);
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/$/);

  const name = await addProduct(page, "outdoors", 0);
  await page.getByTestId("checkout-link").click();
  await hydrated(page);
  // The checkout's own link (it brings the shopper back), not the header's: waiting for it
  // also waits for the checkout form, which renders after the header.
  await page.getByText("Have an account?").getByRole("link", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/sign-in\?next=\/checkout/);
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/checkout$/);
  await expect(page.getByTestId("review-lines")).toContainText(name);
  await expect(page.getByText(`Signed in as ${email}`)).toBeVisible();
  await hydrated(page);
  await fillNewAddress(page);
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/order\/EMP-\d+$/);
  const number = (await page.getByTestId("order-number").innerText()).trim();

  await page.goto("/account/orders");
  const row = page.getByTestId("order-row").filter({ hasText: number });
  await expect(row).toBeVisible();
  await expect(row).toContainText("Awaiting payment");
  await row.getByRole("link", { name: number }).click();
  await expect(page).toHaveURL(new RegExp(`/account/orders/${number}$`));
  await expect(page.getByTestId("order-line")).toContainText(name);
});

test("the cart works before hydration (plain form posts)", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/c/clothing?in_stock=1");
  await page.getByTestId("product-card").first().locator("a").first().click();
  await expect(page).toHaveURL(/\/p\//);
  const name = (await page.getByTestId("product-name").innerText()).trim();
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.getByTestId("cart-line-name")).toHaveText(name);
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await page.getByRole("button", { name: /^Remove/ }).click();
  await expect(page.getByTestId("empty-cart")).toBeVisible();
  await context.close();
});
