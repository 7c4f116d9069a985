// Bundles the CLI into CommonJS files and warms a V8 code cache for the main one.
// - Bundling is what lets @actions/workflow-parser load on Node 20 (its bare JSON imports need an
//   import attribute there) and keeps start-up to one file read.
// - Start-up costs in proportion to the main bundle's size (reading it, compiling it, running its
//   top level), so what the CLI imports dynamically (the server behind `conveyor up`, the remote
//   commands' extras) goes to a second bundle, `lazy.cjs`, read only by the commands that use it.
//   Both are minified for the same reason (names kept); the linked source maps lead back to the
//   sources.
// - The code cache (see bin/conveyor.cjs) holds the bytecode of the functions a validation and a
//   small run execute, so short commands skip most compilation.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const LAZY_BUNDLE = "./lazy.cjs";

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // Native and optional database drivers load from node_modules at run time.
  external: ["better-sqlite3", "pg", "pg-native"],
  // Whitespace and syntax only: identifiers stay, for readable stack traces and profiles.
  minifyWhitespace: true,
  minifySyntax: true,
  // Licences go to a file of their own, so the bundles are pure ASCII (bin/ reads them as Latin-1).
  legalComments: "external",
  charset: "ascii",
  sourcemap: "linked",
  logLevel: "warning",
};

/** Modules the main bundle imports dynamically, by absolute path: each becomes an export of lazy.cjs. */
const lazyModules = new Map();

/**
 * Turns each `import()` of a project or package module into a read of the second bundle, where
 * that module is evaluated on first use (as an `import()` would); the main bundle keeps no copy.
 */
const splitDynamicImports = {
  name: "split-dynamic-imports",
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== "dynamic-import") return undefined;
      const resolved = await b.resolve(args.path, {
        kind: "import-statement",
        importer: args.importer,
        resolveDir: args.resolveDir,
      });
      if (resolved.errors.length > 0 || resolved.external) return undefined;
      if (!lazyModules.has(resolved.path)) lazyModules.set(resolved.path, `m${lazyModules.size}`);
      return { path: lazyModules.get(resolved.path), namespace: "lazy" };
    });
    b.onResolve({ filter: /^\.\/lazy\.cjs$/, namespace: "lazy" }, () => ({
      path: LAZY_BUNDLE,
      external: true,
    }));
    b.onLoad({ filter: /.*/, namespace: "lazy" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(LAZY_BUNDLE)}).${args.path};`,
      loader: "js",
    }));
  },
};

/**
 * Node's built-in modules that are not part of its start-up snapshot cost milliseconds each to
 * load (child_process alone pulls in net and streams). A command that never calls them should not
 * pay for them, so each import of one becomes an object whose properties load the module on first
 * access; esbuild's interop reads imported names at the call, so laziness holds for every import form.
 */
const LAZY_BUILTINS = ["child_process", "crypto", "fs/promises", "net", "os", "string_decoder"];
const lazyBuiltins = {
  name: "lazy-builtins",
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join("|").replace("/", "\\/")})$`);
    b.onResolve({ filter }, (args) =>
      args.namespace === "lazy-builtin"
        ? { path: `node:${args.path.replace(/^node:/, "")}`, external: true }
        : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async (args) => {
      const { createRequire } = await import("node:module");
      const names = Object.getOwnPropertyNames(createRequire(import.meta.url)(`node:${args.path}`));
      const getters = names
        .filter((name) => name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name))
        .map((name) => `  ${name}: { enumerable: true, get: () => load().${name} },`)
        .join("\n");
      return {
        contents:
          `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(`node:${args.path}`)}));\n` +
          `Object.defineProperties(module.exports, {\n${getters}\n});\n`,
        loader: "js",
      };
    });
  },
};

/**
 * The parser's own `getWorkflowSchema()` builds the schema from an 80 kB JSON file that the bundle
 * would carry and evaluate at start-up. Conveyor restores the same schema from a snapshot
 * (src/workflow/schema-snapshot.ts, checked against the parser's by its test), so the bundle gives
 * the parser the snapshot too.
 */
const workflowSchemaFromSnapshot = {
  name: "workflow-schema-from-snapshot",
  setup(b) {
    b.onResolve({ filter: /\/workflow-schema\.js$/ }, (args) =>
      args.importer.includes("@actions/workflow-parser")
        ? { path: join(process.cwd(), "scripts", "workflow-schema-shim.ts") }
        : undefined,
    );
  },
};

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");

// The native process starter (native/spawn.c) into dist/spawn.node. It only makes starting step
// processes cheaper: where it cannot be built, Conveyor starts them with Node's spawn.
{
  const headers = [
    join(dirname(process.execPath), "..", "include", "node"),
    join(homedir(), ".cache", "node-gyp", process.versions.node, "include", "node"),
  ].find((folder) => existsSync(join(folder, "node_api.h")));
  const why =
    process.platform !== "linux"
      ? "it is for Linux"
      : headers === undefined
        ? "Node's headers (node_api.h) were not found"
        : undefined;
  const compiled =
    why === undefined
      ? spawnSync(
          process.env.CC ?? "cc",
          [
            ...["-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra"],
            ...[`-I${headers}`, "-DNODE_GYP_MODULE_NAME=spawn", "native/spawn.c", "-o", "dist/spawn.node"],
          ],
          { encoding: "utf8" },
        )
      : undefined;
  if (compiled?.status !== 0) {
    const reason = why ?? (compiled.error ? "no C compiler (cc)" : compiled.stderr.trim());
    console.warn(
      `native process starter not built (${reason}): steps start with Node's spawn, a few ms slower each.`,
    );
  } else if (compiled.stderr.trim() !== "") {
    console.error(`native/spawn.c compiled with warnings:\n${compiled.stderr}`);
    process.exit(1);
  }
}

await build({
  ...common,
  entryPoints: { conveyor: "src/cli/main.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  plugins: [lazyBuiltins, splitDynamicImports, workflowSchemaFromSnapshot],
});
if (lazyModules.size > 0) {
  // Each module is required on first access to its export: loading lazy.cjs evaluates none of them.
  const getters = [...lazyModules]
    .map(([path, name]) => `  ${name}: { enumerable: true, get: () => require(${JSON.stringify(path)}) },`)
    .join("\n");
  await build({
    ...common,
    stdin: {
      contents: `Object.defineProperties(exports, {\n${getters}\n});\n`,
      resolveDir: process.cwd(),
      sourcefile: "lazy-modules.js",
      loader: "js",
    },
    outfile: "dist/lazy.cjs",
  });
}
for (const file of lazyModules.size > 0 ? ["dist/conveyor.cjs", "dist/lazy.cjs"] : ["dist/conveyor.cjs"]) {
  // bin/conveyor.cjs reads the bundle as Latin-1, which is exact only for ASCII.
  if (readFileSync(file).some((byte) => byte > 0x7f)) {
    console.error(`${file} is not pure ASCII: check esbuild's charset option.`);
    process.exit(1);
  }
}

// The web dashboard (web/, React + Vite) into dist/web, which `conveyor up` serves; its gzipped size
// is printed and held under a budget (bench/dashboard-bundle.mjs measures the same).
{
  const { build: viteBuild } = await import("vite");
  await viteBuild({ configFile: "web/vite.config.ts", logLevel: "warn" });
  const { gzippedBundleSize, BUNDLE_BUDGET } = await import("../bench/lib/dashboard-bundle-size.mjs");
  const gzipped = gzippedBundleSize("dist/web");
  console.log(`dashboard: ${(gzipped / 1024).toFixed(1)} kB gzipped (budget ${BUNDLE_BUDGET / 1024} kB)`);
  if (gzipped > BUNDLE_BUDGET) {
    console.error("the dashboard bundle is over its budget: look for a large new dependency.");
    process.exit(1);
  }
}

// Warming: a validation of the seed workflows, then a small run (which reads the cache the
// validation wrote and adds the functions of a run: git state, workspace, runner, renderer).
const warm = (args, cwd = process.cwd()) => {
  const result = spawnSync(process.execPath, [join(process.cwd(), "bin/conveyor.cjs"), ...args], {
    cwd,
    env: { ...process.env, CONVEYOR_CODE_CACHE: "write" },
    encoding: "utf8",
  });
  if (result.status !== 0) {
    console.error(
      `warming the code cache (conveyor ${args.join(" ")}) failed:\n` + result.stdout + result.stderr,
    );
    process.exit(1);
  }
};
warm(["validate", "examples/seed-workflows"]);
const sample = mkdtempSync(join(tmpdir(), "conveyor-warm-"));
try {
  mkdirSync(join(sample, ".github", "workflows"), { recursive: true });
  writeFileSync(
    join(sample, ".github", "workflows", "warm.yml"),
    "on: push\njobs:\n  warm:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo warm\n",
  );
  const git = (...args) =>
    spawnSync("git", ["-c", "user.name=Conveyor", "-c", "user.email=conveyor@localhost", ...args], {
      cwd: sample,
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "warm");
  warm(["run"], sample);
} finally {
  rmSync(sample, { recursive: true, force: true });
}
