/* global sessionStorage */
// Headless Chromium for the dashboard benchmarks (Debian's /usr/bin/chromium, driven by
// playwright-core), signed in to a benchmark server with its admin token.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CONVEYOR_CHROMIUM ?? "/usr/bin/chromium";

export async function openDashboard(server) {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The dashboard keeps its token in sessionStorage: put the admin's there before any page loads.
  await page.addInitScript((token) => sessionStorage.setItem("conveyor.token", token), server.token);
  return { browser, page };
}
