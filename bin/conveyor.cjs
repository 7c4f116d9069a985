#!/usr/bin/env node
// Starts Conveyor from its bundle (dist/conveyor.cjs) with a V8 code cache, so that short commands
// do not spend their time compiling. Short-lived commands also turn off V8's optimising compiler:
// they end before optimised code would pay for itself, and on a small machine the optimiser's
// threads compete with the work. The server and runners keep it.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const v8 = require("node:v8");
const Module = require("node:module");

// `__runner-thread`: `conveyor up`'s built-in runner, on a thread of the same process (V8's flags are the process's).
const LONG_RUNNING = new Set(["up", "runner", "server", "__runner-thread"]);
const command = process.argv[2];
const shortLived = !LONG_RUNNING.has(command);
if (shortLived) v8.setFlagsFromString("--no-opt");

const bundle = path.join(__dirname, "..", "dist", "conveyor.cjs");
// One cache per V8 configuration: V8 refuses a cache made under other flags.
const cacheFile = bundle + (shortLived ? ".short.cache" : ".long.cache");
let source;
try {
  // The build makes the bundle pure ASCII, so Latin-1 reads it exactly, and faster than UTF-8.
  source = fs.readFileSync(bundle, "latin1");
} catch {
  process.stderr.write("conveyor: the build is missing (dist/conveyor.cjs): run `npm run build` first.\n");
  process.exit(70);
}
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
const writeCache =
  process.env.CONVEYOR_CODE_CACHE === "write" || (cachedData !== undefined && script.cachedDataRejected);
if (writeCache) {
  // After the command ran, the cache also holds the functions it compiled lazily.
  process.on("exit", () => {
    try {
      fs.writeFileSync(cacheFile, script.createCachedData());
    } catch {
      // A read-only installation simply runs without a fresh cache.
    }
  });
}
const moduleObject = { exports: {} };
// The bundle's own require: it loads its second bundle (dist/lazy.cjs) and native modules from there.
const bundleRequire = Module.createRequire(bundle);
script.runInThisContext()(moduleObject.exports, bundleRequire, moduleObject, bundle, path.dirname(bundle));
