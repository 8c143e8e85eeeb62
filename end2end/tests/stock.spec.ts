import { expect, test } from "@playwright/test";
import { createOwner, setUpTwoFactor, signIn } from "./admin";

test("stock: an owner receives a delivery, counts the shelf, sets a threshold and finds the variant on the low-stock list", async ({
  page,
}) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const owner = `stock-owner-${run}@example.com`;
  const password = "harbour-lantern-64";
  createOwner(owner, password);
  await signIn(page, owner, password, "/admin/products/new");
  await setUpTwoFactor(page, /\/admin\/products\/new$/);

  const form = page.getByTestId("product-form");
  await form.getByLabel("Name", { exact: true }).fill(`Quay Enamel Mug ${run}`);
  await form.getByLabel("Price of each variant").fill("12.00");
  await form.getByRole("button", { name: "Create product" }).click();
  await expect(page).toHaveURL(/\/admin\/products\/\d+\?done=created/);
  await page.getByTestId("product-stock").click();
  await expect(page).toHaveURL(/\/admin\/products\/\d+\/stock$/);

  const variant = page.getByTestId("stock-variant").first();
  await expect(variant.getByTestId("on-hand")).toHaveText("0");
  const adjust = variant.getByTestId("stock-adjust");
  await adjust.getByLabel("Quantity").fill("+12");
  await adjust.getByLabel("Note").fill("pallet 7");
  await adjust.getByRole("button", { name: "Record" }).click();
  await expect(page.getByTestId("flash")).toContainText("Stock movement recorded");
  await expect(page.getByTestId("stock-variant").first().getByTestId("on-hand")).toHaveText("12");

  // The shelf holds 10: a count, recorded as -2 from the 12 the form showed.
  const again = page.getByTestId("stock-variant").first().getByTestId("stock-adjust");
  await again.getByLabel("Kind").selectOption("count");
  await again.getByLabel("Quantity").fill("10");
  await again.getByRole("button", { name: "Record" }).click();
  await expect(page.getByTestId("stock-variant").first().getByTestId("on-hand")).toHaveText("10");
  await expect(page.getByTestId("movement-delta")).toHaveText(["-2", "+12"]);
  await expect(page.getByTestId("movement-reason")).toHaveText(["Count correction", "Received"]);

  const threshold = page.getByTestId("stock-variant").first().getByTestId("stock-threshold");
  await threshold.getByLabel("Low-stock threshold").fill("10");
  await threshold.getByRole("button", { name: "Save threshold" }).click();
  await expect(page.getByTestId("stock-variant").first()).toContainText("Low stock");
  await page.goto("/admin/stock");
  await expect(page.getByTestId("low-stock")).toContainText(`Quay Enamel Mug ${run}`);
});
