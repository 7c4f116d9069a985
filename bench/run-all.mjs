// Runs every benchmark in this folder, one after another, and exits 1 when any misses its target.
// Run: npm run build && npm run bench
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(here)
  .filter((name) => name.endsWith(".mjs") && name !== "run-all.mjs")
  .sort();
let missed = 0;
for (const name of benches) {
  process.stdout.write(`\n## ${name}\n`);
  const result = spawnSync(process.execPath, [join(here, name)], { stdio: "inherit" });
  if (result.status !== 0) missed++;
}
process.stdout.write(`\n${benches.length - missed} of ${benches.length} benchmarks met their targets.\n`);
process.exitCode = missed > 0 ? 1 : 0;
