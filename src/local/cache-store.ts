/**
 * Cache entries as plain folders, shared across runs:
 *
 *   <root>/caches/<version>/<encoded key>/entry.json   key, version, creation time
 *   <root>/caches/<version>/<encoded key>/content/     the files (layout chosen by the action)
 *   <root>/caches/<version>/index.jsonl                one line per committed entry, for prefix lookups
 *
 * An entry is written into a staging folder and renamed into place when committed, so readers never
 * see half an entry and a key, once written, never changes (the first commit wins, as on GitHub).
 * `entry.json` is the truth for exact lookups; the index only saves reading every entry for a prefix.
 *
 * The content of an entry is `manifest.json` (the saved paths) and `files/`, where each saved path
 * sits under `workspace/`, `home/` or `root/` depending on where it was: entries restore into another
 * workspace or home folder, as tar's workspace-relative paths do on GitHub.
 */
import { createHash } from "node:crypto";
import { appendFile, lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { CACHE_FORMAT } from "../actions/builtin/cache-client.js";
import { copyPath } from "../actions/builtin/file-tree.js";
import type { CopyTotals } from "../actions/builtin/file-tree.js";
import type { CacheHit, CacheLocations, CacheSize, CacheStore } from "../actions/builtin/types.js";

interface EntryRecord {
  readonly key: string;
  readonly version: string;
  readonly createdAt: string;
}

interface IndexLine {
  readonly key: string;
  readonly directory: string;
  readonly createdAt: string;
}

/** Longest folder name written for a key; file systems stop at 255 bytes. */
const MAX_NAME_LENGTH = 200;

export class FileCacheStore implements CacheStore {
  /** Reservations of this process: `version\0key` -> staging folder. */
  private readonly reservations = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  format(): Promise<string> {
    return Promise.resolve(CACHE_FORMAT);
  }

  async lookup(keys: readonly string[], version: string): Promise<CacheHit | undefined> {
    const [primary] = keys;
    const exact = primary === undefined ? undefined : await this.find(primary, version);
    if (primary !== undefined && exact) return { key: primary, location: exact };
    for (const prefix of keys) {
      const partial = await this.findByPrefix(prefix, version);
      if (partial) return { key: partial.key, location: partial.directory };
    }
    return undefined;
  }

  restore(hit: CacheHit, where: CacheLocations): Promise<CacheSize> {
    return restoreEntry(hit.location, where);
  }

  async save(
    key: string,
    version: string,
    paths: readonly string[],
    where: CacheLocations,
  ): Promise<CacheSize | undefined> {
    const directory = await this.reserve(key, version);
    if (directory === undefined) return undefined;
    try {
      const totals = await writeEntry(directory, paths, where);
      await this.commit(key, version);
      return totals;
    } catch (cause) {
      await this.abandon(key, version);
      throw cause;
    }
  }

  async find(key: string, version: string): Promise<string | undefined> {
    const directory = join(this.versionDirectory(version), encodeCacheKey(key));
    const record = await readRecord(directory);
    return record?.key === key ? join(directory, "content") : undefined;
  }

  async findByPrefix(
    prefix: string,
    version: string,
  ): Promise<{ key: string; directory: string } | undefined> {
    const lines = await this.readIndex(version);
    // Reversed first so that, at equal times, the later commit (further down the index) wins.
    const candidates = lines
      .reverse()
      .filter((line) => line.key.startsWith(prefix))
      // Newest first, as GitHub picks the most recently created of several partial matches.
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    for (const candidate of candidates) {
      const directory = join(this.versionDirectory(version), candidate.directory);
      const record = await readRecord(directory);
      if (record?.key === candidate.key) return { key: candidate.key, directory: join(directory, "content") };
    }
    return undefined;
  }

  async reserve(key: string, version: string): Promise<string | undefined> {
    const id = reservationId(key, version);
    if (this.reservations.has(id) || (await this.find(key, version)) !== undefined) return undefined;
    const staging = join(this.versionDirectory(version), ".staging");
    await mkdir(staging, { recursive: true });
    const folder = await mkdtemp(join(staging, "entry-"));
    await mkdir(join(folder, "content"));
    this.reservations.set(id, folder);
    return join(folder, "content");
  }

  async commit(key: string, version: string): Promise<void> {
    const id = reservationId(key, version);
    const folder = this.reservations.get(id);
    if (folder === undefined) throw new Error(`No reservation for cache key '${key}' to commit.`);
    this.reservations.delete(id);
    const record: EntryRecord = { key, version, createdAt: this.now().toISOString() };
    await writeFile(join(folder, "entry.json"), `${JSON.stringify(record, null, 2)}\n`);
    const name = encodeCacheKey(key);
    try {
      await rename(folder, join(this.versionDirectory(version), name));
    } catch (cause) {
      // Another job committed the same key first: keys are immutable, so its entry stays.
      await rm(folder, { recursive: true, force: true });
      if (errorCode(cause) === "ENOTEMPTY" || errorCode(cause) === "EEXIST") return;
      throw cause;
    }
    const line: IndexLine = { key, directory: name, createdAt: record.createdAt };
    // One short line per append: O_APPEND keeps concurrent writers from interleaving.
    await appendFile(join(this.versionDirectory(version), "index.jsonl"), `${JSON.stringify(line)}\n`);
  }

  async abandon(key: string, version: string): Promise<void> {
    const id = reservationId(key, version);
    const folder = this.reservations.get(id);
    this.reservations.delete(id);
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  }

  private versionDirectory(version: string): string {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(version))
      throw new Error(`Invalid cache version '${version}'.`);
    return join(this.root, "caches", version);
  }

  private async readIndex(version: string): Promise<IndexLine[]> {
    const text = await readFile(join(this.versionDirectory(version), "index.jsonl"), "utf8").catch(() => "");
    const lines: IndexLine[] = [];
    for (const raw of text.split("\n")) {
      if (raw.trim() === "") continue;
      try {
        const parsed = JSON.parse(raw) as Partial<IndexLine>;
        if (
          typeof parsed.key === "string" &&
          typeof parsed.directory === "string" &&
          typeof parsed.createdAt === "string"
        ) {
          lines.push({ key: parsed.key, directory: parsed.directory, createdAt: parsed.createdAt });
        }
      } catch {
        // A line cut short by a crash: the entry is still found by its exact key.
      }
    }
    return lines;
  }
}

/**
 * A key as one folder name: bytes other than letters, digits, `_`, `-` and a non-leading `.` are
 * percent-encoded; a name that would be too long keeps a readable start and ends in `~` and a hash.
 */
export function encodeCacheKey(key: string): string {
  let encoded = "";
  for (const byte of Buffer.from(key, "utf8")) {
    const c = String.fromCharCode(byte);
    const plain = /[A-Za-z0-9_-]/.test(c) || (c === "." && encoded !== "");
    encoded += plain ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  if (encoded.length <= MAX_NAME_LENGTH) return encoded;
  const start = encoded.slice(0, 120).replace(/%[0-9A-F]?$/, "");
  return `${start}~${createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
}

function reservationId(key: string, version: string): string {
  return `${version}\0${key}`;
}

async function readRecord(directory: string): Promise<EntryRecord | undefined> {
  const text = await readFile(join(directory, "entry.json"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as EntryRecord;
  } catch {
    return undefined;
  }
}

function errorCode(cause: unknown): string | undefined {
  return cause instanceof Error && "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
}

/** Where a saved path sits in an entry: relative to the workspace, else the home folder, else `/`. */
export function entryLocation(path: string, where: CacheLocations): string {
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
export function restoreTarget(location: string, where: CacheLocations): string {
  const [area, ...rest] = location.split("/");
  const base = area === "workspace" ? where.workspace : area === "home" ? where.home : "/";
  return join(base, ...rest);
}

function joinLocation(area: string, rel: string): string {
  return rel === "" ? area : `${area}/${rel.split(sep).join("/")}`;
}

async function writeEntry(
  directory: string,
  paths: readonly string[],
  where: CacheLocations,
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

async function restoreEntry(directory: string, where: CacheLocations): Promise<CopyTotals> {
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
