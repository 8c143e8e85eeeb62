import { expect, test, type Page } from "@playwright/test";
import { addProduct, fillNewAddress, hydrated } from "./shop";

// Card payments through Stripe.js: here localstripe's own Stripe.js and server (started
// by scripts/e2e.sh), which read the card in their fields as Stripe's do.

async function cardOrder(page: Page): Promise<string> {
  await addProduct(page, "home", 0);
  await page.getByTestId("checkout-link").click();
  await hydrated(page);
  await page.getByLabel("E-mail for your receipt").fill(`card-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`);
  await fillNewAddress(page);
  await page.getByLabel(/^Card/).check();
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/order\/EMP-\d+$/);
  await expect(page.getByTestId("order-status")).toHaveText("Awaiting payment");
  return (await page.getByTestId("order-number").innerText()).trim();
}

async function enterCard(page: Page, number: string) {
  const fields = page.getByTestId("card-element");
  await fields.getByPlaceholder("number").fill(number);
  await fields.getByPlaceholder("exp_month").fill("12");
  await fields.getByPlaceholder("exp_year").fill("30");
  await fields.getByPlaceholder("cvc").fill("123");
  await fields.getByPlaceholder("postal_code").fill("42424");
}

test("a shopper pays by card and sees Paid", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const number = await cardOrder(page);
  await enterCard(page, "4242424242424242");
  await page.getByTestId("pay-button").click();
  await expect(page).toHaveURL(new RegExp(`/order/${number}\\?payment=returned$`));
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  await expect(page.getByTestId("card-payment")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a declined card shows the reason and another card pays", async ({ page }) => {
  await cardOrder(page);
  await enterCard(page, "4000000000000341");
  await page.getByTestId("pay-button").click();
  await expect(page.getByTestId("card-error")).toHaveText("Your card was declined.");
  // The order page says so too, and still offers the card form.
  await page.reload();
  await expect(page.getByTestId("order-status")).toHaveText("Payment failed");
  await enterCard(page, "4242424242424242");
  await page.getByTestId("pay-button").click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
});

test("3-D Secure: the bank's check is completed and the order is paid", async ({ page }) => {
  await cardOrder(page);
  await enterCard(page, "4000002760003184");
  await page.getByTestId("pay-button").click();
  await page.getByRole("button", { name: "Complete authentication" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
});
