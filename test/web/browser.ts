/**
 * Headless Chromium for the dashboard's browser tests and benchmarks: Debian's /usr/bin/chromium
 * driven by playwright-core (never `playwright install`), and the dashboard built when missing.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { PROJECT_ROOT } from "../cli/helpers.js";

export const CHROMIUM = process.env.CONVEYOR_CHROMIUM ?? "/usr/bin/chromium";
export const WEB_ROOT = join(PROJECT_ROOT, "dist", "web");
export const SCREENSHOTS = join(PROJECT_ROOT, "test-results", "screenshots");

/** Builds web/ into dist/web unless a build is there already (`npm run build` makes one). */
export async function ensureDashboardBuilt(): Promise<void> {
  if (existsSync(join(WEB_ROOT, "index.html"))) return;
  const { build } = await import("vite");
  await build({ configFile: join(PROJECT_ROOT, "web", "vite.config.ts"), logLevel: "warn" });
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's with \`apt-get install -y chromium\`.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, url: string, login: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("Login").fill(login);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByTestId("signed-in-as").waitFor();
}
