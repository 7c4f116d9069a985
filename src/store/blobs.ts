/**
 * Blobs: large, write-once data kept beside the database (finished jobs' logs, artifacts, caches). An interface because a second home is certain (object storage past one machine);
 * the filesystem implementation is the one-machine default.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface BlobStore {
  /** Stores `data` under `key`, replacing what was there, atomically (readers see old or new, never half). */
  put(key: string, data: Uint8Array): Promise<void>;
  /** The blob, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
  /** Deletes every blob whose key starts with `prefix/` (an upload's blocks, an entry's parts). */
  deleteAll(prefix: string): Promise<void>;
  /**
   * Stores what `source` yields under `key`, atomically as `put`, without holding it in memory; the
   * number of bytes written. Stops (and stores nothing) once it would pass `limit` bytes.
   */
  write(key: string, source: AsyncIterable<Uint8Array>, limit?: number): Promise<number>;
  /** A stream of the blob, or of bytes `start`..`end` (inclusive) of it; undefined when there is none. */
  read(key: string, range?: { readonly start: number; readonly end: number }): Promise<Readable | undefined>;
  /**
   * Calls `see` with the blob's bytes in order, read into one buffer that is reused (a piece is valid
   * only during its call): a large blob digested without a new buffer for every piece. False when
   * there is none.
   */
  scan(key: string, see: (bytes: Buffer) => void): Promise<boolean>;
  /** The blob's size in bytes, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  /**
   * Makes `key` the blobs `parts` one after another, atomically, by moving them rather than copying
   * (an upload's blocks become its blob without being written twice); the parts are gone after.
   */
  compose(key: string, parts: readonly string[]): Promise<void>;
}

/** Thrown by `write` when the source yields more than the limit. */
export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the data is larger than the limit of ${limit} bytes.`);
  }
}

/** Large reads and writes go in 1 MiB pieces: fewer system calls than the default 64 KiB. */
const PIECE = 1024 * 1024;

/**
 * A scan reads in pieces of this size into one buffer: a new buffer per piece (as streams make) cost
 * half the time of hashing a large blob, in allocations and first touches of fresh memory.
 */
const SCAN_PIECE = 4 * 1024 * 1024;

/** Keys are `/`-separated names of letters, digits, `.`, `_` and `-`: never a path out of the root. */
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export class FileBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString("hex")}.partial`;
    await writeFile(temporary, data);
    await rename(temporary, path);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (e) {
      if (isMissing(e)) return undefined;
      if (!isDirectory(e)) throw e;
      const stream = await this.read(key);
      const chunks: Buffer[] = [];
      if (stream) for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
      return Buffer.concat(chunks);
    }
  }

  async delete(key: string): Promise<void> {
    // Recursive: a composed blob is a folder.
    await rm(this.pathOf(key), { recursive: true, force: true });
  }

  async deleteAll(prefix: string): Promise<void> {
    await rm(this.pathOf(prefix), { recursive: true, force: true });
  }

  async write(key: string, source: AsyncIterable<Uint8Array>, limit = Infinity): Promise<number> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString("hex")}.partial`;
    let written = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            written += chunk.byteLength;
            if (written > limit) throw new BlobTooLargeError(limit);
            yield chunk;
          }
        },
        createWriteStream(temporary, { highWaterMark: PIECE }),
      );
      await rename(temporary, path);
      return written;
    } catch (e) {
      await rm(temporary, { force: true });
      throw e;
    }
  }

  async read(
    key: string,
    range?: { readonly start: number; readonly end: number },
  ): Promise<Readable | undefined> {
    const path = this.pathOf(key);
    const parts = await this.partsOf(path);
    if (parts) return Readable.from(readParts(parts, range), { objectMode: false });
    // Opened before returning, so a missing blob is an answer and not a stream error later.
    const stream = createReadStream(path, { highWaterMark: PIECE, ...(range ?? {}) });
    return new Promise((resolve, reject) => {
      stream.once("open", () => resolve(stream));
      stream.once("error", (e) => (isMissing(e) ? resolve(undefined) : reject(e)));
    });
  }

  async scan(key: string, see: (bytes: Buffer) => void): Promise<boolean> {
    const path = this.pathOf(key);
    const files = (await this.partsOf(path))?.map((part) => part.path) ?? [path];
    const buffer = Buffer.allocUnsafeSlow(SCAN_PIECE);
    for (const [index, file] of files.entries()) {
      let handle: FileHandle;
      try {
        handle = await open(file, "r");
      } catch (e) {
        // A missing blob; a part gone while being read is an error.
        if (isMissing(e) && index === 0) return false;
        throw e;
      }
      try {
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          see(buffer.subarray(0, bytesRead));
        }
      } finally {
        await handle.close();
      }
    }
    return true;
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      if (!info.isDirectory()) return info.size;
      const parts = (await this.partsOf(this.pathOf(key))) ?? [];
      return parts.reduce((sum, part) => sum + part.size, 0);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async compose(key: string, parts: readonly string[]): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // A composed blob is a folder of its parts, numbered in order, renamed into place whole.
    const temporary = `${path}.${randomBytes(6).toString("hex")}.partial`;
    await mkdir(temporary);
    try {
      for (const [index, part] of parts.entries()) {
        await rename(this.pathOf(part), join(temporary, String(index).padStart(PART_DIGITS, "0")));
      }
      await rename(temporary, path);
    } catch (e) {
      await rm(temporary, { recursive: true, force: true });
      throw e;
    }
  }

  /** The parts of a composed blob at `path`, in order; undefined when it is a plain file or missing. */
  private async partsOf(path: string): Promise<{ path: string; size: number }[] | undefined> {
    let names: string[];
    try {
      names = await readdir(path);
    } catch {
      return undefined;
    }
    const parts = [];
    for (const name of names.sort())
      parts.push({ path: join(path, name), size: (await stat(join(path, name))).size });
    return parts;
  }

  private pathOf(key: string): string {
    if (!KEY.test(key) || key.split("/").some((part) => part === "." || part === "..")) {
      throw new Error(`not a blob key: ${JSON.stringify(key)}`);
    }
    return join(this.root, ...key.split("/"));
  }
}

function isMissing(e: unknown): boolean {
  return e instanceof Error && "code" in e && e.code === "ENOENT";
}

function isDirectory(e: unknown): boolean {
  return e instanceof Error && "code" in e && e.code === "EISDIR";
}

/** Digits of a composed blob's part names: Azure allows 50,000 blocks in a blob. */
const PART_DIGITS = 6;

/** Bytes `range.start`..`range.end` (inclusive; all without a range) of parts laid end to end. */
async function* readParts(
  parts: readonly { path: string; size: number }[],
  range?: { readonly start: number; readonly end: number },
): AsyncIterable<Buffer> {
  let offset = 0;
  for (const part of parts) {
    const first = Math.max(range?.start ?? 0, offset);
    const last = Math.min(range?.end ?? Infinity, offset + part.size - 1);
    if (first <= last) {
      yield* createReadStream(part.path, {
        highWaterMark: PIECE,
        start: first - offset,
        end: last - offset,
      }) as AsyncIterable<Buffer>;
    }
    offset += part.size;
  }
}

/** The blobs `keys` one after another, streamed: how uploaded parts and blocks become one blob. */
export async function* concatenateBlobs(
  blobs: BlobStore,
  keys: readonly string[],
): AsyncIterable<Uint8Array> {
  for (const key of keys) {
    const stream = await blobs.read(key);
    if (!stream) throw new Error(`the blob ${key} disappeared while being assembled`);
    yield* stream as AsyncIterable<Uint8Array>;
  }
}
