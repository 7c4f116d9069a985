// Bundles the CLI into one ESM file. Bundling is what lets @actions/workflow-parser load on Node 20
// (its bare JSON imports need an import attribute there) and keeps start-up to one file read.
import { build } from "esbuild";

await build({
  entryPoints: { conveyor: "src/cli/main.ts" },
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  logLevel: "warning",
  // Some bundled CommonJS dependencies call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __conveyorCreateRequire } from 'node:module'; const require = __conveyorCreateRequire(import.meta.url);",
  },
});
