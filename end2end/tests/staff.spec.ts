import { expect, test, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { linkFromOutbox } from "./outbox";

/** RFC 4648 base32 (no padding) to bytes. */
function base32(secret: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The code an authenticator app shows for `secret`, `steps` 30-second steps from now (RFC 6238). */
function totp(secret: string, steps = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + steps));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

/** On the two-factor page of a first visit: scans (reads) the secret, enters the app's
 * code, sees the ten recovery codes once and goes on. Returns the secret. */
async function setUpTwoFactor(page: Page, landing: RegExp): Promise<string> {
  await expect(page).toHaveURL(/\/admin\/two-factor/);
  await expect(page.getByTestId("totp-qr").locator("svg")).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").innerText()).trim();
  await page.getByLabel("Code from the app").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
  await expect(page).toHaveURL(/\/admin\/two-factor\/recovery-codes/);
  await expect(page.getByTestId("recovery-code")).toHaveCount(10);
  await page.getByTestId("continue").click();
  await expect(page).toHaveURL(landing);
  return secret;
}

async function signIn(page: Page, email: string, password: string, next: string) {
  await page.goto(`/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("staff: an owner invites a catalog manager, who sets up two-factor sign-in, signs in and is refused the staff page; the audit log shows both", async ({
  page,
  browser,
}) => {
  const run = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const owner = `owner-${run}@example.com`;
  const manager = `cat-${run}@example.com`;
  const password = "harbour-lantern-64";
  // The first owner comes from the command line, as on a new shop.
  const bin = process.env.E2E_SERVER_BIN;
  if (!bin) throw new Error("E2E_SERVER_BIN is not set (scripts/e2e.sh sets it)");
  execFileSync(bin, ["create-admin", "--email", owner], {
    env: { ...process.env, ADMIN_PASSWORD: password, RUST_LOG: "warn" },
  });

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
