// The dashboard's size as a browser downloads it: every built file gzipped (used by the build and
// by bench/dashboard-bundle.mjs).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const BUNDLE_BUDGET = 400 * 1024;

/** Gzipped bytes of the scripts, styles and page under `root`, by file and in total. */
export function gzippedSizes(root) {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(js|css|html)$/.test(name))
        files.push({ path, gzipped: gzipSync(readFileSync(path), { level: 9 }).length });
    }
  };
  walk(root);
  return files;
}

export function gzippedBundleSize(root) {
  return gzippedSizes(root).reduce((total, file) => total + file.gzipped, 0);
}
