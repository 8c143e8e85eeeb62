import { expect, test } from "@playwright/test";
import { createOwner, setUpTwoFactor, signIn } from "./admin";
import { outboxMails } from "./outbox";
import { addProduct, fillNewAddress, hydrated } from "./shop";

// The order desk: a shopper pays a two-line order by card (localstripe's Stripe.js and
// server), an owner refunds one unit of the first line and puts it back in stock, and
// the shopper's order page and e-mail show the refund.

test("order desk: an admin refunds one line of a paid card order; the customer's page and e-mail show it", async ({
  page,
  browser,
}) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const shopper = `desk-${run}@example.com`;
  await addProduct(page, "home", 0);
  await addProduct(page, "home", 1);
  await page.getByTestId("checkout-link").click();
  await hydrated(page);
  await page.getByLabel("E-mail for your receipt").fill(shopper);
  await fillNewAddress(page);
  await page.getByLabel(/^Card/).check();
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/order\/EMP-\d+$/);
  const number = (await page.getByTestId("order-number").innerText()).trim();
  const fields = page.getByTestId("card-element");
  await fields.getByPlaceholder("number").fill("4242424242424242");
  await fields.getByPlaceholder("exp_month").fill("12");
  await fields.getByPlaceholder("exp_year").fill("30");
  await fields.getByPlaceholder("cvc").fill("123");
  await fields.getByPlaceholder("postal_code").fill("42424");
  await page.getByTestId("pay-button").click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  const orderPage = page.url();

  const admin = await (await browser.newContext()).newPage();
  const owner = `desk-owner-${run}@example.com`;
  const password = "harbour-lantern-64";
  createOwner(owner, password);
  await signIn(admin, owner, password, "/admin/orders");
  await setUpTwoFactor(admin, /\/admin\/orders$/);
  await admin.getByLabel("Number, e-mail or name").fill(shopper);
  await admin.getByRole("button", { name: "Show" }).click();
  await expect(admin.getByTestId("admin-order-row")).toHaveCount(1);
  await admin.getByTestId("admin-order-row").getByRole("link", { name: number }).click();
  await expect(admin).toHaveURL(new RegExp(`/admin/orders/${number}$`));
  await hydrated(admin);
  await expect(admin.getByTestId("admin-order-statuses")).toHaveText("Open · Paid · Not shipped");
  const total = (await admin.getByTestId("admin-order-total").innerText()).trim();

  const refund = admin.getByTestId("refund-form");
  await refund.locator("#refund-units-1").fill("1");
  await refund.getByLabel("Put those units back in stock").check();
  await refund.getByLabel("Reason").fill("Chipped in transit");
  await refund.getByTestId("refund-submit").click();
  await expect(admin.getByTestId("flash")).toHaveText("Refund recorded; the customer is e-mailed.");
  await expect(admin.getByTestId("admin-order-statuses")).toHaveText("Open · Partially refunded · Not shipped");
  const refunded = (await admin.getByTestId("admin-order-refunded").innerText()).trim();
  expect(refunded).not.toEqual("$0.00");
  expect(refunded).not.toEqual(total);
  await expect(admin.getByTestId("admin-order-line").first()).toContainText("1 back in stock");
  await expect(admin.getByTestId("timeline-entry").filter({ hasText: "Chipped in transit" })).toContainText(
    `Refunded ${refunded}`,
  );

  await page.goto(orderPage);
  await expect(page.getByTestId("payment-status")).toHaveText("Partially refunded");
  await expect(page.getByTestId("order-refund")).toHaveCount(1);
  await expect(page.getByTestId("order-refund")).toContainText(`Refunded ${refunded} on `);
  await expect
    .poll(() => outboxMails().some((m) => m.includes(`To: ${shopper}`) && m.includes(`Refund of ${refunded} for your Emporium order ${number}`)), {
      timeout: 10_000,
    })
    .toBe(true);
});
