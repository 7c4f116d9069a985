/**
 * Conveyor's stand-in for `@actions/cache`'s `restoreCache`/`saveCache`, over the CacheStore:
 * what actions/cache, setup-node and setup-python share.
 *
 * Lookup order is GitHub's: the primary key exactly, then the newest entry whose key starts with
 * the primary key, then each restore key in order as a prefix (newest match first). Keys are
 * validated as the toolkit does (at most 10 keys, 512 characters, no commas).
 *
 * The version scoping entries is computed like the toolkit's `getCacheVersion`: SHA-256 of the
 * path lines as written, the archive format, `windows-only` on Windows without
 * `enableCrossOsArchive`, and the salt `1.0`, joined by `|`. Entries here are folders, not tar
 * archives, so the format component is `conveyor-files` where the toolkit puts `zstd-without-long`
 * (or nothing for gzip): GitHub's versions and Conveyor's never collide.
 *
 * An entry's content is `manifest.json` (the saved paths) and `files/`, where each saved path sits
 * under `workspace/`, `home/` or `root/` depending on where it was: entries restore into another
 * workspace or home folder, as tar's workspace-relative paths do on GitHub.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join, relative, sep } from "node:path";
import { mkdir, readFile, writeFile, lstat } from "node:fs/promises";
import { copyPath } from "./file-tree.js";
import type { CopyTotals } from "./file-tree.js";
import { findPaths } from "./glob.js";
import type { Checked } from "./inputs.js";
import { checked, refused, messageOf } from "./inputs.js";
import type { BuiltinContext } from "./types.js";

export const CACHE_FORMAT = "conveyor-files";
const VERSION_SALT = "1.0";
const MAX_KEYS = 10;
const MAX_KEY_LENGTH = 512;

export function cacheVersion(
  paths: readonly string[],
  enableCrossOsArchive: boolean,
  platform: NodeJS.Platform = process.platform,
): string {
  const components = [...paths, CACHE_FORMAT];
  if (platform === "win32" && !enableCrossOsArchive) components.push("windows-only");
  components.push(VERSION_SALT);
  return createHash("sha256").update(components.join("|")).digest("hex");
}

/** The toolkit's key checks; a failure fails the step. */
export function keyProblem(keys: readonly string[]): string | undefined {
  if (keys.length > MAX_KEYS) return `Key Validation Error: Keys are limited to a maximum of ${MAX_KEYS}.`;
  for (const key of keys) {
    if (key.length > MAX_KEY_LENGTH)
      return `Key Validation Error: ${key} cannot be larger than ${MAX_KEY_LENGTH} characters.`;
    if (key.includes(",")) return `Key Validation Error: ${key} cannot contain commas.`;
  }
  return undefined;
}

/** actions/cache's `isExactKeyMatch`: equal ignoring case (but not accents). */
export function isExactKeyMatch(key: string, matched: string | undefined): boolean {
  return matched !== undefined && matched.localeCompare(key, undefined, { sensitivity: "accent" }) === 0;
}

export interface RestoreRequest {
  /** The path lines as written (they also make the version). */
  readonly paths: readonly string[];
  readonly primaryKey: string;
  readonly restoreKeys: readonly string[];
  readonly lookupOnly: boolean;
  readonly enableCrossOsArchive: boolean;
}

/** The key restored (or found, when `lookupOnly`), undefined on a miss; refused for invalid input. */
export async function restoreCache(
  context: BuiltinContext,
  request: RestoreRequest,
): Promise<Checked<string | undefined>> {
  if (request.paths.length === 0)
    return refused("Path Validation Error: At least one directory or file path is required");
  const problem = keyProblem([request.primaryKey, ...request.restoreKeys]);
  if (problem) return refused(problem);
  const version = cacheVersion(request.paths, request.enableCrossOsArchive);
  const found = await lookup(context, version, request.primaryKey, request.restoreKeys);
  if (!found) return checked(undefined);
  if (request.lookupOnly) {
    context.log("Lookup only - skipping download");
    return checked(found.key);
  }
  try {
    const totals = await restoreEntry(found.directory, locations(context));
    context.log(
      `Cache Size: ~${Math.round(totals.bytes / (1024 * 1024))} MB (${totals.bytes} B), ${totals.files} files`,
    );
    return checked(found.key);
  } catch (cause) {
    // As the toolkit: a cache that cannot be restored is a warning and a miss, not a failure.
    context.warning(`Failed to restore: ${messageOf(cause)}`);
    return checked(undefined);
  }
}

async function lookup(
  context: BuiltinContext,
  version: string,
  primaryKey: string,
  restoreKeys: readonly string[],
): Promise<{ key: string; directory: string } | undefined> {
  const exact = await context.caches.find(primaryKey, version);
  if (exact) return { key: primaryKey, directory: exact };
  for (const prefix of [primaryKey, ...restoreKeys]) {
    const partial = await context.caches.findByPrefix(prefix, version);
    if (partial) return partial;
  }
  return undefined;
}

export type SaveOutcome = "saved" | "exists" | "no-files";

/**
 * Saves what the path lines match under `key`. "exists" when the key is taken (keys are immutable),
 * "no-files" when nothing matched; both are warnings for the caller, as in the toolkit.
 */
export async function saveCache(
  context: BuiltinContext,
  paths: readonly string[],
  key: string,
  enableCrossOsArchive: boolean,
): Promise<Checked<SaveOutcome>> {
  if (paths.length === 0)
    return refused("Path Validation Error: At least one directory or file path is required");
  const problem = keyProblem([key]);
  if (problem) return refused(problem);
  const where = locations(context);
  const found = await findPaths(paths, {
    workspace: where.workspace,
    homeDirectory: where.home,
    implicitDescendants: false,
    followSymbolicLinks: true,
    excludeHiddenFiles: false,
    matchDirectories: true,
  });
  if (!found.ok) return refused(found.message);
  const saved = outermost(found.value.paths);
  if (saved.length === 0) return checked("no-files");
  const version = cacheVersion(paths, enableCrossOsArchive);
  const directory = await context.caches.reserve(key, version);
  if (directory === undefined) return checked("exists");
  try {
    const totals = await writeEntry(directory, saved, where);
    await context.caches.commit(key, version);
    context.log(
      `Cache Size: ~${Math.round(totals.bytes / (1024 * 1024))} MB (${totals.bytes} B), ${totals.files} files`,
    );
    return checked("saved");
  } catch (cause) {
    await context.caches.abandon(key, version);
    throw cause;
  }
}

interface Locations {
  readonly workspace: string;
  readonly home: string;
}

function locations(context: BuiltinContext): Locations {
  return { workspace: context.workspace, home: context.env.HOME ?? homedir() };
}

/** Where a saved path sits in an entry: relative to the workspace, else the home folder, else `/`. */
export function entryLocation(path: string, where: Locations): string {
  const inside = (base: string): string | undefined => {
    const rel = relative(base, path);
    return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep)) ? rel : undefined;
  };
  const inWorkspace = inside(where.workspace);
  if (inWorkspace !== undefined) return joinLocation("workspace", inWorkspace);
  const inHome = inside(where.home);
  if (inHome !== undefined) return joinLocation("home", inHome);
  return joinLocation("root", path.slice(1));
}

/** The path an entry location restores to. */
export function restoreTarget(location: string, where: Locations): string {
  const [area, ...rest] = location.split("/");
  const base = area === "workspace" ? where.workspace : area === "home" ? where.home : "/";
  return join(base, ...rest);
}

function joinLocation(area: string, rel: string): string {
  return rel === "" ? area : `${area}/${rel.split(sep).join("/")}`;
}

/** Drops paths inside other saved paths: a folder is saved whole. */
function outermost(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  const kept: string[] = [];
  for (const path of sorted) {
    if (!kept.some((parent) => path.startsWith(parent.endsWith("/") ? parent : `${parent}/`)))
      kept.push(path);
  }
  return kept;
}

async function writeEntry(
  directory: string,
  paths: readonly string[],
  where: Locations,
): Promise<CopyTotals> {
  const totals: CopyTotals = { files: 0, bytes: 0 };
  const saved: string[] = [];
  for (const path of paths) {
    if ((await lstat(path).catch(() => undefined)) === undefined) continue;
    const location = entryLocation(path, where);
    await copyPath(path, join(directory, "files", location), { dereference: false }, totals);
    saved.push(location);
  }
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, "manifest.json"), `${JSON.stringify({ paths: saved }, null, 2)}\n`);
  return totals;
}

async function restoreEntry(directory: string, where: Locations): Promise<CopyTotals> {
  const manifest = JSON.parse(await readFile(join(directory, "manifest.json"), "utf8")) as {
    paths?: unknown;
  };
  const paths = Array.isArray(manifest.paths)
    ? manifest.paths.filter((p): p is string => typeof p === "string")
    : [];
  const totals: CopyTotals = { files: 0, bytes: 0 };
  for (const location of paths) {
    await copyPath(
      join(directory, "files", location),
      restoreTarget(location, where),
      { dereference: false },
      totals,
    );
  }
  return totals;
}
