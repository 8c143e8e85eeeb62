// What the admin's end-to-end tests share: an authenticator app's codes, the first
// two-factor set-up, signing in.
import { expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";

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
export function totp(secret: string, steps = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + steps));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

/** On the two-factor page of a first visit: scans (reads) the secret, enters the app's
 * code, sees the ten recovery codes once and goes on. Returns the secret. */
export async function setUpTwoFactor(page: Page, landing: RegExp): Promise<string> {
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

export async function signIn(page: Page, email: string, password: string, next: string) {
  await page.goto(`/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}


/** An owner made from the command line (`server create-admin`), as on a new shop. */
export function createOwner(email: string, password: string) {
  const bin = process.env.E2E_SERVER_BIN;
  if (!bin) throw new Error("E2E_SERVER_BIN is not set (scripts/e2e.sh sets it)");
  execFileSync(bin, ["create-admin", "--email", email], {
    env: { ...process.env, ADMIN_PASSWORD: password, RUST_LOG: "warn" },
  });
}
