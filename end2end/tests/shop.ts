// Steps several end-to-end tests share: waiting for hydration, filling the cart and the
// checkout's address.
import { expect, type Page } from "@playwright/test";

export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Adds the default (first in-stock) variant of the `n`th in-stock product of a category. */
export async function addProduct(page: Page, category: string, n: number): Promise<string> {
  await page.goto(`/c/${category}?in_stock=1`);
  const card = page.getByTestId("product-card").nth(n);
  await card.locator("a").first().click();
  await expect(page).toHaveURL(/\/p\//);
  await hydrated(page);
  const name = (await page.getByTestId("product-name").innerText()).trim();
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.getByTestId("cart-line-name").filter({ hasText: name })).toBeVisible();
  return name;
}

export async function fillNewAddress(page: Page) {
  await page.getByLabel("Full name").fill("Robin Shopper");
  await page.getByLabel("Street address").fill("4 Quay Street");
  await page.getByLabel("Town or city").fill("Galway");
  await page.getByLabel("Postal code").fill("H91 X2X2");
  await page.getByLabel("Country").selectOption("IE");
}

