import { expect, test } from "@playwright/test";

// Every kind of page, visited as a guest and after adding to the cart, hydrates under the
// shop's Content-Security-Policy without a single violation: the policy allows exactly the
// shop's own scripts, its one inline loader (by hash) and the wasm.
test("no page logs a Content-Security-Policy violation", async ({ page }) => {
  const violations: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const w = window as unknown as { __csp?: string[] };
      (w.__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on("console", (m) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) violations.push(m.text());
  });
  const visit = async (path: string, hydrates = true) => {
    const response = await page.goto(path);
    // The shop's scripts, then (with card payments on) Stripe.js's origin, then the
    // page's inline scripts by hash.
    expect(response?.headers()["content-security-policy"], path).toMatch(/script-src 'self' 'wasm-unsafe-eval'( [^ ;']+)* 'sha256-/);
    if (hydrates) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    const seen = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
    violations.push(...seen.map((v) => `${path}: ${v}`));
  };
  for (const path of ["/", "/c/clothing", "/search?q=shirt", "/sign-in", "/register", "/order-lookup", "/no-such-page"]) {
    await visit(path);
  }
  // A product, then the cart and checkout with something in it.
  await visit("/c/clothing");
  await page.getByTestId("product-card").first().click();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).not.toHaveText("0");
  const seen = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
  violations.push(...seen);
  await visit("/cart");
  await visit("/checkout");
  expect(violations).toEqual([]);
});
