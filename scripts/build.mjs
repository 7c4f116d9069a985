// Bundles the CLI into one CommonJS file and warms a V8 code cache for it.
// - Bundling is what lets @actions/workflow-parser load on Node 20 (its bare JSON imports need an
//   import attribute there) and keeps start-up to one file read.
// - The code cache (see bin/conveyor.cjs) holds the bytecode of the functions a validation runs, so
//   short commands skip most compilation.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: { conveyor: "src/cli/main.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: "linked",
  logLevel: "warning",
});

const warm = spawnSync(process.execPath, ["bin/conveyor.cjs", "validate", "examples/seed-workflows"], {
  env: { ...process.env, CONVEYOR_CODE_CACHE: "write" },
  encoding: "utf8",
});
if (warm.status !== 0) {
  console.error("warming the code cache failed:\n" + warm.stdout + warm.stderr);
  process.exit(1);
}
