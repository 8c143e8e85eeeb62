import { expect, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

/** Undoes quoted-printable encoding, as used in the .eml files of the outbox. */
function decodeQuotedPrintable(raw: string): string {
  const joined = raw.replace(/=\r?\n/g, "");
  return Buffer.from(
    joined.replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
    "latin1",
  ).toString("utf8");
}

/** Every e-mail in the outbox (scripts/e2e.sh sets E2E_OUTBOX), decoded. */
export function outboxMails(): string[] {
  const dir = process.env.E2E_OUTBOX;
  if (!dir) throw new Error("E2E_OUTBOX is not set (scripts/e2e.sh sets it)");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => decodeQuotedPrintable(fs.readFileSync(path.join(dir, f), "latin1")));
}

/** Waits for an e-mail to `to` carrying a link that matches `pattern`; returns the link. */
export async function linkFromOutbox(to: string, pattern: RegExp): Promise<string> {
  let link = "";
  await expect
    .poll(
      () => {
        for (const mail of outboxMails()) {
          const m = mail.match(pattern);
          if (mail.includes(`To: ${to}`) && m) {
            link = m[0];
            return true;
          }
        }
        return false;
      },
      { timeout: 10_000 },
    )
    .toBe(true);
  return link;
}

/** Registers from /register's form and finishes with the link from the e-mail: signed in. */
export async function registerAndConfirm(page: Page, email: string, password: string) {
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("notice")).toContainText("Check your inbox");
  const link = await linkFromOutbox(email, /\/register\/confirm\?token=[0-9a-f]+/);
  await page.goto(link);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create my account" }).click();
  await expect(page).toHaveURL(/\/account$/);
}
