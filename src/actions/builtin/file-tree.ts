/**
 * Copying files and folders in and out of the artifact and cache stores, and the digest of a folder's
 * content. Copies keep modes, symbolic links (unless dereferenced) and modification times: restored
 * caches must look unchanged to build tools that compare times, as tar extraction does.
 */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { copyFile, lstat, mkdir, readdir, readlink, rm, stat, symlink, utimes } from "node:fs/promises";
import type { Stats } from "node:fs";
import { dirname, join } from "node:path";

export interface CopyOptions {
  /** Copy what links point to instead of the links (upload-artifact follows links; caches keep them). */
  readonly dereference: boolean;
}

export interface CopyTotals {
  files: number;
  bytes: number;
}

/**
 * Copies `source` (a file, link or folder) to `destination`, merging into folders that exist and
 * replacing files (and anything of another kind) in the way.
 */
export async function copyPath(
  source: string,
  destination: string,
  options: CopyOptions,
  totals: CopyTotals = { files: 0, bytes: 0 },
): Promise<CopyTotals> {
  const info = options.dereference ? await stat(source) : await lstat(source);
  const existing = await lstat(destination).catch(() => undefined);
  if (info.isDirectory()) {
    if (existing && !existing.isDirectory()) await rm(destination, { force: true });
    await mkdir(destination, { recursive: true });
    for (const name of await readdir(source)) {
      await copyPath(join(source, name), join(destination, name), options, totals);
    }
    await keepTimes(destination, info);
    return totals;
  }
  if (existing) await rm(destination, { recursive: true, force: true });
  else await mkdir(dirname(destination), { recursive: true });
  if (info.isSymbolicLink()) {
    await symlink(await readlink(source), destination);
  } else if (info.isFile()) {
    // A reflink where the file system offers one, a plain copy otherwise; libuv keeps the mode.
    await copyFile(source, destination, constants.COPYFILE_FICLONE);
    await keepTimes(destination, info);
    totals.files += 1;
    totals.bytes += info.size;
  }
  // Sockets, FIFOs and devices are not content: skipped, as tar and zip would fail on them.
  return totals;
}

async function keepTimes(path: string, info: Stats): Promise<void> {
  await utimes(path, info.atime, info.mtime).catch(() => undefined);
}

/** Removes everything inside `directory`, keeping the folder itself. */
export async function removeContents(directory: string): Promise<void> {
  const names = await readdir(directory).catch(() => [] as string[]);
  await Promise.all(names.map((name) => rm(join(directory, name), { recursive: true, force: true })));
}

/** Files and links below `directory`, `/`-separated relative paths in byte order. */
export async function listFiles(directory: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(directory, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else files.push(path);
    }
  };
  await walk("");
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * The SHA-256 (hex) of a folder's content: SHA-256 over `path NUL sha256(content) LF` for every file in
 * byte order of its path (a link contributes its target). Stable across copies and machines.
 */
export async function contentDigest(directory: string): Promise<{ digest: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for (const file of await listFiles(directory)) {
    const path = join(directory, file);
    const info = await lstat(path);
    const content = info.isSymbolicLink() ? Buffer.from(await readlink(path)) : undefined;
    const digest = content ? createHash("sha256").update(content).digest("hex") : await fileDigest(path);
    size += info.isSymbolicLink() ? 0 : info.size;
    hash.update(`${file}\0${digest}\n`);
  }
  return { digest: hash.digest("hex"), size };
}

function fileDigest(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}
