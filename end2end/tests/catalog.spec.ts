import { expect, test } from "@playwright/test";
import fs from "node:fs";
import path from "node:path";
import { createOwner, setUpTwoFactor, signIn } from "./admin";

test("catalog: an owner creates a product with two options (3 x 2 = 6 variants), uploads an image, publishes it and finds it in the shop and in search", async ({
  page,
}) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const owner = `catalog-owner-${run}@example.com`;
  const password = "harbour-lantern-64";
  createOwner(owner, password);
  await signIn(page, owner, password, "/admin/products/new");
  await setUpTwoFactor(page, /\/admin\/products\/new$/);

  const name = `Tidewater Linen Shirt ${run}`;
  const form = page.getByTestId("product-form");
  await form.getByLabel("Name", { exact: true }).fill(name);
  await form.getByLabel("Brand").fill("Loomwell");
  await form.getByLabel("Description", { exact: true }).fill("<p>Cool <strong>linen</strong> for warm days.</p><script>alert(1)</script>");
  await form.getByLabel("Options", { exact: true }).fill("Colour: Red, Blue, Green\nSize: S, M");
  await form.getByLabel("Price of each variant").fill("49.90");
  await form.getByRole("button", { name: "Create product" }).click();

  await expect(page).toHaveURL(/\/admin\/products\/\d+\?done=created/);
  await expect(page.getByTestId("flash")).toContainText("Product created");
  await expect(page.getByTestId("product-state")).toHaveText("Draft");
  await expect(page.getByTestId("variant-row")).toHaveCount(6);
  await expect(page.getByTestId("variant-sku").first()).toHaveValue(/^TIDEWATER-LINEN-SHIRT-\d+-RED-S$/);

  // A price of its own for one variant, then publish.
  const rows = page.getByTestId("variant-row");
  await rows.nth(1).getByLabel(/^Price of/).fill("44.50");
  await page.getByTestId("variants-form").getByRole("button", { name: "Save the variants" }).click();
  await expect(page.getByTestId("flash")).toContainText("Saved");
  await expect(page.getByTestId("variant-price").nth(1)).toHaveValue("44.50");
  await page.getByTestId("product-form").getByLabel(/^Published/).check();
  await page.getByTestId("product-form").getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("product-state")).toHaveText("Published");

  // An image: uploaded, kept at its widths, shown first.
  const upload = page.getByTestId("image-upload");
  await upload.getByLabel("Image file").setInputFiles({
    name: "swatch.png",
    mimeType: "image/png",
    buffer: fs.readFileSync(path.resolve("end2end/tests/linen-swatch.png")),
  });
  await upload.getByLabel("Alt text").fill("Tidewater shirt, folded");
  await upload.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("flash")).toContainText("Images updated");
  await expect(page.getByTestId("product-image")).toHaveCount(1);

  // The list finds it by name.
  await page.goto(`/admin/products?q=${encodeURIComponent(run)}`);
  await expect(page.getByTestId("product-name")).toHaveText([name]);
  await expect(page.getByTestId("product-state")).toHaveText(["Published"]);

  // In the shop, with its rich text and without the script.
  await page.getByTestId("product-name").click();
  await page.getByTestId("view-in-shop").click();
  await expect(page).toHaveURL(/\/p\/tidewater-linen-shirt-\d+$/);
  await expect(page.getByTestId("product-name")).toHaveText(name);
  await expect(page.getByTestId("description").locator("strong")).toHaveText("linen");
  await expect(page.getByTestId("description").locator("script")).toHaveCount(0);
  const main = page.getByTestId("main-image");
  await expect(main).toHaveAttribute("src", /^\/media\/uploads\/products\/\d+\/[0-9a-f]+\/600\.jpg$/);
  await expect(main).toHaveAttribute("srcset", /320\.jpg 320w, .*600\.jpg 600w/);
  await expect(main).toHaveAttribute("alt", "Tidewater shirt, folded");
  await expect.poll(() => main.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);

  // In search, once the index has taken the change (the event worker, within moments).
  await expect
    .poll(
      async () => {
        await page.goto(`/search?q=${encodeURIComponent(`tidewater ${run}`)}`);
        return page.getByTestId("search-hit-name").allInnerTexts();
      },
      { timeout: 15_000 },
    )
    .toContain(name);
});
