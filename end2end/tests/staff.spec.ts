import { expect, test } from "@playwright/test";
import { createOwner, setUpTwoFactor, signIn, totp } from "./admin";
import { linkFromOutbox } from "./outbox";

test("staff: an owner invites a catalog manager, who sets up two-factor sign-in, signs in and is refused the staff page; the audit log shows both", async ({
  page,
  browser,
}) => {
  const run = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const owner = `owner-${run}@example.com`;
  const manager = `cat-${run}@example.com`;
  const password = "harbour-lantern-64";
  // The first owner comes from the command line, as on a new shop.
  createOwner(owner, password);

  // The owner signs in; the admin opens only after two-factor set-up.
  await signIn(page, owner, password, "/admin/staff");
  await setUpTwoFactor(page, /\/admin\/staff$/);
  await expect(page.getByTestId("staff-email")).toContainText([owner]);
  const invite = page.getByTestId("invite-form");
  await invite.getByLabel("E-mail").fill(manager);
  await invite.getByLabel("Role").selectOption("catalog");
  await invite.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("flash")).toContainText("Invitation sent");
  await expect(page.getByTestId("invite-row")).toContainText(manager);

  // The catalog manager accepts from the e-mail in a browser of their own.
  const context = await browser.newContext();
  const them = await context.newPage();
  const link = await linkFromOutbox(manager, /\/staff-invite\?token=[0-9a-f]+/);
  await them.goto(link);
  await expect(them.getByTestId("invite-for")).toContainText("Catalog manager");
  await them.getByLabel("Your name").fill("Cato Lane");
  await them.getByLabel("Choose a password").fill(password);
  await them.getByRole("button", { name: "Accept and continue" }).click();
  const secret = await setUpTwoFactor(them, /\/admin$/);

  // Signed out and in again: the password, then the app's next code.
  await them.getByTestId("sign-out").click();
  await signIn(them, manager, password, "/admin");
  await expect(them).toHaveURL(/\/admin\/two-factor/);
  await them.getByLabel("Code", { exact: true }).fill(totp(secret, 1));
  await them.getByRole("button", { name: "Confirm" }).click();
  await expect(them).toHaveURL(/\/admin$/);
  await expect(them.getByTestId("admin-role")).toContainText("Catalog manager");
  await expect(them.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Staff" })).toHaveCount(0);

  // The staff page is refused, with a sentence.
  const refused = await them.goto("/admin/staff");
  expect(refused?.status()).toBe(403);
  await expect(them.getByTestId("error-message")).toHaveText("Only an owner may manage staff and their roles.");
  await context.close();

  // The owner's audit log has both: the invitation and the joining.
  await page.goto("/admin/audit");
  const rows = page.getByTestId("audit-row");
  // (The log names staff by their account; the invitee's address stays on the invitation.)
  await expect(rows.filter({ hasText: "invited" }).filter({ hasText: owner })).toHaveCount(1);
  await expect(rows.filter({ hasText: "joined" }).filter({ hasText: manager })).toHaveCount(1);
  await expect(rows.filter({ hasText: "two factor enabled" }).filter({ hasText: manager })).toHaveCount(1);
});
