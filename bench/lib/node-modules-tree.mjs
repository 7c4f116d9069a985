// A node_modules-like tree for the cache benchmark: 20,000 files, 200 MB, in 1,000 packages of
// nested folders, with text that compresses about as real JavaScript does (a few times, not 100x).
// Deterministic (a seeded generator), so the benchmark and the job that saves the cache make the
// same bytes. Run as a program: `node node-modules-tree.mjs <dir>` writes the tree into <dir>.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const FILES = 20_000;
export const BYTES = 200 * 1000 * 1000;
const PACKAGES = 1_000;
const WORDS = [
  "const",
  "function",
  "return",
  "require",
  "exports",
  "module",
  "value",
  "options",
  "this",
  "=>",
  "if",
  "else",
  "null",
  "undefined",
  "length",
  "push",
  "map",
  "filter",
  "async",
  "await",
];

/** xorshift32: fast, seeded, the same sequence everywhere. */
function generator(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function fileText(random, size) {
  const parts = [];
  let length = 0;
  while (length < size) {
    // Mostly keywords, some random identifiers and numbers: roughly JavaScript's redundancy.
    const r = random();
    const word =
      r < 0.6
        ? WORDS[Math.floor(random() * WORDS.length)]
        : r < 0.9
          ? `id${Math.floor(random() * 1e6).toString(36)}`
          : String(Math.floor(random() * 1e9));
    parts.push(word, random() < 0.1 ? ";\n" : " ");
    length += word.length + 1;
  }
  return parts.join("").slice(0, size);
}

export function writeTree(root) {
  const random = generator(20_000);
  const perPackage = FILES / PACKAGES;
  const average = BYTES / FILES;
  let written = 0;
  for (let p = 0; p < PACKAGES; p++) {
    for (let f = 0; f < perPackage; f++) {
      const index = p * perPackage + f;
      const dir = join(root, `pkg-${p}`, f < 2 ? "" : `lib/part-${f % 4}`);
      mkdirSync(dir, { recursive: true });
      // Sizes vary from a tenth to nearly twice the average; the last file evens out the total.
      const size = index === FILES - 1 ? BYTES - written : Math.floor(average * (0.1 + 1.8 * random()));
      const name = f === 0 ? "package.json" : f === 1 ? "index.js" : `file-${f}.js`;
      writeFileSync(join(dir, name), fileText(random, Math.max(1, size)));
      written += size;
    }
  }
  return { files: FILES, bytes: written };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: node node-modules-tree.mjs <dir>");
  console.log(JSON.stringify(writeTree(dir)));
}
