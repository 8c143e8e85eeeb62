import { expect, test, type Page } from "@playwright/test";

/** Waits until the wasm bundle has hydrated the page (set by an effect in App). */
async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Parses "$1,234.56" or "From $12.00" to cents. */
function cents(text: string): number {
  const m = text.replace(/,/g, "").match(/(\d+)\.(\d{2})/);
  if (!m) throw new Error(`no price in ${JSON.stringify(text)}`);
  return Number(m[1]) * 100 + Number(m[2]);
}

test("browse: home -> category -> sort -> product -> variant -> 404", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  await page.goto("/");
  await expect(page).toHaveTitle(/Emporium/);
  await expect(page.getByRole("heading", { name: "Shop by category" })).toBeVisible();
  await hydrated(page);

  // Into a category from the home page's category grid.
  await page.getByTestId("category-card").filter({ hasText: "Clothing" }).click();
  await expect(page).toHaveURL(/\/c\/clothing$/);
  await expect(page.getByRole("heading", { level: 1, name: "Clothing" })).toBeVisible();
  await expect(page.getByTestId("product-card")).toHaveCount(24);

  // Sort by price, low to high: the select (an island) loads the sorted page on change.
  await hydrated(page);
  await page.getByTestId("sort").selectOption("price-asc");
  await expect(page).toHaveURL(/sort=price-asc/);
  await expect(page.getByTestId("sort")).toHaveValue("price-asc");
  // Wait for the sorted page.
  const sorted = async () => {
    const prices = (await page.getByTestId("card-price").allInnerTexts()).map(cents);
    return prices.length === 24 && prices.every((p, i) => i === 0 || prices[i - 1] <= p);
  };
  await expect.poll(sorted).toBe(true);

  // Into a product with two options (colour and size).
  await page.getByTestId("product-card").first().getByRole("link").click();
  await expect(page).toHaveURL(/\/p\//);
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
  const price = page.getByTestId("price");
  const sku = page.getByTestId("sku");
  const before = { price: await price.innerText(), sku: await sku.innerText() };

  // Choosing a size above L changes the SKU, and the price for XL and XXL.
  const sizes = page.getByTestId("option-1").getByRole("link");
  const count = await sizes.count();
  expect(count).toBeGreaterThan(1);
  const last = sizes.nth(count - 1);
  const lastLabel = await last.innerText();
  await last.click();
  await expect(page).toHaveURL(new RegExp(`variant=`));
  await expect(sku).not.toHaveText(before.sku);
  await expect(sku).toContainText(`-${lastLabel}`);
  if (["XL", "XXL"].includes(lastLabel)) {
    await expect(price).not.toHaveText(before.price);
    expect(cents(await price.innerText())).toBeGreaterThan(cents(before.price));
  }
  // The change happened without a reload: a reload would have cleared the marker.
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);

  // No script errors or failed requests on the way (the 404 below logs one on purpose).
  expect(errors).toEqual([]);

  // A product that does not exist gets the 404 page with status 404.
  const response = await page.goto("/p/no-such-product");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("error-page")).toContainText("Page not found");
  await expect(page.getByRole("link", { name: "Back to the shop" })).toBeVisible();
});

test("a variant change updates price, stock and SKU without a reload", async ({ page }) => {
  // Chargers have one option (power) with a different price per variant.
  await page.goto("/c/chargers");
  await page.getByTestId("product-card").first().getByRole("link").click();
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  const price = page.getByTestId("price");
  const first = cents(await price.innerText());
  const options = page.getByTestId("option-0").getByRole("link");
  await options.nth(3).click();
  await expect(page.getByTestId("sku")).toContainText("100W");
  await expect.poll(async () => cents(await price.innerText())).toBeGreaterThan(first);
  // Same document: a reload would have cleared the marker.
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
});

test("pages work before hydration: filters are a plain GET form", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/c/shoes");
  await page.getByLabel("Minimum price").fill("100");
  await page.getByLabel("Maximum price").fill("150");
  await page.getByLabel("In stock only").check();
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/min_price=100.*max_price=150.*in_stock=1/);
  const prices = (await page.getByTestId("card-price").allInnerTexts()).map(cents);
  expect(prices.length).toBeGreaterThan(0);
  for (const p of prices) expect(p).toBeGreaterThanOrEqual(10000), expect(p).toBeLessThanOrEqual(15000);
  await expect(page.getByText("Sold out")).toHaveCount(0);

  // Pagination links work without JavaScript too.
  await page.goto("/c/clothing");
  await page.getByRole("link", { name: "Next →" }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByRole("link", { name: "Page 2" })).toHaveAttribute("aria-current", "page");
  await context.close();
});

test("a malformed query gets a 400 page with a message", async ({ page }) => {
  const response = await page.goto("/c/clothing?page=abc");
  expect(response?.status()).toBe(400);
  await expect(page.getByTestId("error-message")).toContainText("not a page number");
});

test("hashed static assets are cached for a year", async ({ page, request }) => {
  const urls: string[] = [];
  page.on("response", (r) => r.url().includes("/pkg/") && urls.push(r.url()));
  await page.goto("/");
  await hydrated(page);
  expect(urls.some((u) => u.endsWith(".wasm"))).toBe(true);
  for (const url of urls) {
    expect(url).toMatch(/\.[A-Za-z0-9_-]{10,}\.(js|wasm|css)$/);
    const r = await request.get(url);
    expect(r.headers()["cache-control"]).toContain("immutable");
  }
});
