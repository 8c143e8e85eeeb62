import { expect, test } from "@playwright/test";
import { createOwner, setUpTwoFactor, signIn } from "./admin";

const HEADER =
  "Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Inventory Qty,Variant Price,Status";

/// A small Shopify product CSV: a jug in two sizes and a bowl with no options, under the
/// demo's Home & Living (so the shop's top menu, which other tests read, stays as it is).
/// `jugPrice` is the second jug's price (a negative one is the bad row).
function csv(run: string, jugPrice: string): string {
  return [
    HEADER,
    `pw-jug-${run},Harbour jug ${run},<p>Stoneware.</p>,Quay,Home & Living > Harbour ${run},,TRUE,Size,Small,,,PW-JUG-S-${run},4,18.00,active`,
    `pw-jug-${run},,,,,,,,Large,,,PW-JUG-L-${run},2,${jugPrice},`,
    `pw-bowl-${run},Harbour bowl ${run},,Quay,Home & Living,,TRUE,Title,Default Title,,,PW-BOWL-${run},9,11.50,active`,
  ].join("\n");
}

test("import: an owner's CSV with one bad row is refused with its line, then the fixed file is applied and its products are in the shop", async ({
  page,
}) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const owner = `import-owner-${run}@example.com`;
  const password = "harbour-lantern-64";
  createOwner(owner, password);
  await signIn(page, owner, password, "/admin/products/import");
  await setUpTwoFactor(page, /\/admin\/products\/import$/);

  const upload = async (text: string) => {
    await page.goto("/admin/products/import");
    await page.getByLabel("CSV file").setInputFiles({
      name: "harbour.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(text),
    });
    await page.getByRole("button", { name: "Check the file" }).click();
    await expect(page).toHaveURL(/\/admin\/imports\/\d+$/);
  };

  await upload(csv(run, "-20.00"));
  const problems = page.getByTestId("import-problem");
  await expect(problems).toHaveCount(1);
  await expect(problems.first().locator("td")).toHaveText(["3", "Variant Price", "A price cannot be negative."]);
  await expect(page.getByTestId("import-apply")).toHaveCount(0);

  await upload(csv(run, "24.00"));
  await expect(page.getByTestId("import-problem")).toHaveCount(0);
  await expect(page.getByTestId("import-summary")).toHaveText(
    "3 rows, 2 products: 2 would be created, 0 would be changed, 0 unchanged.",
  );
  await page.getByTestId("import-apply").getByRole("button", { name: "Apply the import" }).click();
  await expect(page.getByTestId("import-state")).toHaveText("Applied", { timeout: 15_000 });
  await expect(page.getByTestId("import-summary")).toContainText("2 created");

  await page.goto(`/p/pw-jug-${run}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Harbour jug ${run}`);
  await page.goto(`/p/pw-bowl-${run}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Harbour bowl ${run}`);
});
