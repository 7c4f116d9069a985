/**
 * Conveyor's stand-in for `@actions/cache`'s `restoreCache`/`saveCache`, over the CacheStore:
 * what actions/cache, setup-node and setup-python share.
 *
 * Lookup order is GitHub's: the primary key exactly, then the newest entry whose key starts with
 * the primary key, then each restore key in order as a prefix (newest match first). Keys are
 * validated as the toolkit does (at most 10 keys, 512 characters, no commas).
 *
 * The version scoping entries is computed like the toolkit's `getCacheVersion`: SHA-256 of the
 * path lines as written, the store's archive format, `windows-only` on Windows without
 * `enableCrossOsArchive`, and the salt `1.0`, joined by `|`. The format is the store's: `conveyor
 * run` keeps folders (`conveyor-files`, which no toolkit version collides with); on a server runner
 * entries are the toolkit's own tar archives (`zstd-without-long` or `gzip`), so they are shared
 * with actions that use `@actions/cache` directly.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { findPaths } from "./glob.js";
import type { Checked } from "./inputs.js";
import { checked, refused, messageOf } from "./inputs.js";
import type { BuiltinContext, CacheLocations, CacheSize } from "./types.js";

/** The format of `conveyor run`'s folder entries. */
export const CACHE_FORMAT = "conveyor-files";
const VERSION_SALT = "1.0";
const MAX_KEYS = 10;
const MAX_KEY_LENGTH = 512;

export function cacheVersion(
  paths: readonly string[],
  enableCrossOsArchive: boolean,
  platform: NodeJS.Platform = process.platform,
  format: string = CACHE_FORMAT,
): string {
  const components = [...paths, format];
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
  const version = cacheVersion(
    request.paths,
    request.enableCrossOsArchive,
    process.platform,
    await context.caches.format(),
  );
  const found = await context.caches.lookup([request.primaryKey, ...request.restoreKeys], version);
  if (!found) return checked(undefined);
  if (request.lookupOnly) {
    context.log("Lookup only - skipping download");
    return checked(found.key);
  }
  try {
    context.log(sizeLine(await context.caches.restore(found, locations(context))));
    return checked(found.key);
  } catch (cause) {
    // As the toolkit: a cache that cannot be restored is a warning and a miss, not a failure.
    context.warning(`Failed to restore: ${messageOf(cause)}`);
    return checked(undefined);
  }
}

function sizeLine(size: CacheSize): string {
  const files = size.files === undefined ? "" : `, ${size.files} files`;
  return `Cache Size: ~${Math.round(size.bytes / (1024 * 1024))} MB (${size.bytes} B)${files}`;
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
  const version = cacheVersion(paths, enableCrossOsArchive, process.platform, await context.caches.format());
  const size = await context.caches.save(key, version, saved, where);
  if (size === undefined) return checked("exists");
  context.log(sizeLine(size));
  return checked("saved");
}

function locations(context: BuiltinContext): CacheLocations {
  return { workspace: context.workspace, home: context.env.HOME ?? homedir() };
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
