import { expect, test, type Page } from "@playwright/test";

async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

test("search: a misspelt name in the header box suggests the product; facets filter results", async ({ page }) => {
  // A product name from a category page, misspelt in its first long word.
  await page.goto("/c/clothing");
  const names = (await page.getByTestId("product-card").locator("h3").allInnerTexts()).map((n) => n.trim());
  const name = names.find((n) => n.split(/\s+/).some((w) => /^[A-Za-z]{6,}$/.test(w))) ?? names[0];
  const word = name.split(/\s+/).find((w) => /^[A-Za-z]{6,}$/.test(w)) ?? name.split(/\s+/)[0];
  const typo = word.slice(0, 2) + word[3] + word[2] + word.slice(4);
  const typed = name.replace(word, typo);

  await hydrated(page);
  const box = page.getByRole("combobox", { name: "Search products" });
  await box.fill(typed);
  await expect(page.getByTestId("suggestion").first()).toBeVisible();
  // The product is among the suggestions; pick it with the keyboard.
  const texts = (await page.getByTestId("suggestion").allInnerTexts()).map((t) => t.trim());
  const index = texts.indexOf(name);
  expect(index, `${JSON.stringify(typed)} suggested ${JSON.stringify(texts)}`).toBeGreaterThanOrEqual(0);
  for (let i = 0; i <= index; i++) await box.press("ArrowDown");
  await box.press("Enter");
  await expect(page).toHaveURL(/\/p\//);
  await expect(page.getByTestId("product-name")).toHaveText(name);

  // Results page: filter by a colour facet (a plain GET form).
  await page.goto("/search?q=");
  // The category facet names categories as the menu does ("Clothing"), not by slug.
  const menu = (await page.getByRole("navigation", { name: "Categories" }).getByRole("link").allInnerTexts()).map((t) => t.trim());
  const facetNames = (await page.getByTestId("facet-category").locator("label > span:first-child").allInnerTexts()).map((t) => t.trim());
  expect(facetNames.length).toBeGreaterThan(0);
  expect(menu.length).toBeGreaterThan(0);
  for (const category of menu) expect(facetNames).toContain(category);
  expect(facetNames.filter((n) => /^[a-z0-9-]+$/.test(n))).toEqual([]);
  const total = async () => Number((await page.getByTestId("search-total").innerText()).split(" ")[0]);
  const before = await total();
  const colours = page.getByTestId("facet-colour");
  const first = colours.locator("label").first();
  const expected = Number((await first.getByTestId("facet-count").innerText()).trim());
  await first.locator("input").check();
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/colour=/);
  await expect.poll(total).toBe(expected);
  expect(expected).toBeLessThan(before);
});

test("search: nothing found offers a spelling correction and popular products", async ({ page }) => {
  // A long word of a product name with three letters wrong: beyond the typo budget.
  await page.goto("/search?q=");
  const names = await page.getByTestId("search-hit-name").allInnerTexts();
  const word = names
    .flatMap((n) => n.split(/\s+/))
    .find((w) => /^[A-Za-z]{9,}$/.test(w));
  expect(word, "a product name with a word of 9+ letters").toBeTruthy();
  const letters = word!.toLowerCase().split("");
  for (const [i, c] of [[1, "q"], [4, "x"], [7, "z"]] as const) letters[i] = letters[i] === c ? "j" : c;
  const mangled = letters.join("");

  await page.goto(`/search?q=${mangled}`);
  await expect(page.getByTestId("no-results")).toContainText(`Nothing matches “${mangled}”`);
  await expect(page.getByTestId("popular").getByTestId("product-card").first()).toBeVisible();
  const suggestion = page.getByTestId("did-you-mean");
  await expect(suggestion).toBeVisible();
  await suggestion.click();
  await expect(page).toHaveURL(/\/search\?q=/);
  await expect(page.getByTestId("search-hit").first()).toBeVisible();
  await expect(page.getByTestId("no-results")).toHaveCount(0);
});
