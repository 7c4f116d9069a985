// Prints the dashboard bundle's size, gzipped, per file and in total, against its 400 kB budget.
// Run after `npm run build` (or it builds web/ itself).
import { existsSync } from "node:fs";
import { BUNDLE_BUDGET, gzippedSizes } from "./lib/dashboard-bundle-size.mjs";

if (!existsSync("dist/web/index.html")) {
  const { build } = await import("vite");
  await build({ configFile: "web/vite.config.ts", logLevel: "warn" });
}
const files = gzippedSizes("dist/web");
for (const file of files)
  console.log(`${file.path.padEnd(48)} ${(file.gzipped / 1024).toFixed(1).padStart(7)} kB gzipped`);
const total = files.reduce((sum, f) => sum + f.gzipped, 0);
console.log(
  `dashboard bundle: ${(total / 1024).toFixed(1)} kB gzipped (budget ${BUNDLE_BUDGET / 1024} kB) ${total <= BUNDLE_BUDGET ? "OK" : "OVER"}`,
);
if (total > BUNDLE_BUDGET) process.exitCode = 1;
