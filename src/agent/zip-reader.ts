/**
 * Extracting a zip archive as it is downloaded: the built-in download-artifact's side of the
 * artifact service. The central directory (at the end, read first with a ranged request) says where
 * each entry starts and how long it is, so the archive is then read once, front to back, writing each
 * file as its bytes arrive, whether the writer put sizes before the data or in a descriptor after it.
 *
 * Extraction never writes outside its folder: absolute paths, `..`, backslashes and NUL are refused,
 * symbolic links in the archive are refused, and a folder on the way that resolves elsewhere (a link
 * already there) is refused too. CRC-32 and sizes are checked for every file.
 *
 * The archive arrives as blocks lent by the download (block-download.ts): a stored file's bytes are
 * written from them, several writes at a time at their places in the file, and each block goes back
 * for reuse when its last write is done.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, lstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, open, realpath, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { crc32, createInflateRaw, inflateRawSync } from "node:zlib";
import type { Block } from "./block-download.js";

export interface ZipEntry {
  readonly path: string;
  readonly kind: "file" | "directory" | "symlink";
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Where its local header starts. */
  readonly offset: number;
  readonly mode: number;
}

/** A zip archive that cannot be read, or that tries to write where it must not. */
export class ZipError extends Error {}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const MAX_32 = 0xffffffff;
/** The end record (22 bytes) with the longest comment, and Zip64's record and locator before it. */
export const ZIP_TAIL_BYTES = 22 + 0xffff + 20 + 56;
const WRITE_PIECE = 1024 * 1024;
/** A stored file's writes in flight at once (each at its own place in the file). */
const WRITES_IN_FLIGHT = 4;
/** Entries up to this size are read, checked and written whole. */
const WHOLE_ENTRY_BYTES = 1024 * 1024;

/**
 * The entries of a `size`-byte archive, from its end: `tail` holds its last bytes, and `read`
 * fetches other bytes (`start`..`end` inclusive) when the directory is not all in the tail.
 */
export async function centralDirectory(
  size: number,
  tail: Buffer,
  read: (start: number, end: number) => Promise<Buffer>,
): Promise<ZipEntry[]> {
  const tailStart = size - tail.length;
  const bytesAt = async (start: number, length: number): Promise<Buffer> => {
    if (start < 0 || start + length > size) throw new ZipError("the archive's directory points outside it.");
    if (start >= tailStart) return tail.subarray(start - tailStart, start - tailStart + length);
    return length === 0 ? Buffer.alloc(0) : read(start, start + length - 1);
  };
  const endAt = findEnd(tail);
  if (endAt < 0) throw new ZipError("this is not a zip archive (no end of central directory record).");
  let count = tail.readUInt16LE(endAt + 10);
  let directorySize = tail.readUInt32LE(endAt + 12);
  let directoryStart = tail.readUInt32LE(endAt + 16);
  if (count === 0xffff || directorySize === MAX_32 || directoryStart === MAX_32) {
    const locatorAt = endAt - 20;
    if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_LOCATOR) {
      throw new ZipError("the archive's Zip64 locator is missing.");
    }
    const record = await bytesAt(Number(tail.readBigUInt64LE(locatorAt + 8)), 56);
    if (record.readUInt32LE(0) !== ZIP64_END)
      throw new ZipError("the archive's Zip64 end record is missing.");
    count = Number(record.readBigUInt64LE(32));
    directorySize = Number(record.readBigUInt64LE(40));
    directoryStart = Number(record.readBigUInt64LE(48));
  }
  const directory = await bytesAt(directoryStart, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_HEADER) {
      throw new ZipError("the archive's central directory is damaged.");
    }
    const madeBy = directory.readUInt16LE(at + 4) >> 8;
    const method = directory.readUInt16LE(at + 10);
    const crc = directory.readUInt32LE(at + 16);
    let compressedSize = directory.readUInt32LE(at + 20);
    let entrySize = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const external = directory.readUInt32LE(at + 38);
    let offset = directory.readUInt32LE(at + 42);
    const path = directory.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    // Zip64: the fields that overflowed are in the extra field, in this order.
    const wide = zip64Values(extra);
    if (entrySize === MAX_32) entrySize = Number(wide.shift() ?? MAX_32);
    if (compressedSize === MAX_32) compressedSize = Number(wide.shift() ?? MAX_32);
    if (offset === MAX_32) offset = Number(wide.shift() ?? MAX_32);
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    const kind = path.endsWith("/") ? "directory" : (unixMode & 0o170000) === 0o120000 ? "symlink" : "file";
    entries.push({
      path,
      kind,
      method,
      crc,
      compressedSize,
      size: entrySize,
      offset,
      mode: unixMode & 0o777 || 0o644,
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries.sort((a, b) => a.offset - b.offset);
}

function findEnd(tail: Buffer): number {
  for (let at = tail.length - 22; at >= 0; at--) {
    // The record's comment must reach exactly to the end: a signature inside data does not.
    if (
      tail.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY &&
      at + 22 + tail.readUInt16LE(at + 20) === tail.length
    ) {
      return at;
    }
  }
  return -1;
}

function zip64Values(extra: Buffer): bigint[] {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      const values: bigint[] = [];
      for (let i = 0; i + 8 <= length && at + 4 + i + 8 <= extra.length; i += 8) {
        values.push(extra.readBigUInt64LE(at + 4 + i));
      }
      return values;
    }
    at += 4 + length;
  }
  return [];
}

/** The folder-relative parts of an entry's path; a ZipError for a path that could leave the folder. */
export function safeEntryPath(path: string): string[] {
  if (path.includes("\\") || path.includes("\0") || path.startsWith("/") || /^[A-Za-z]:/.test(path)) {
    throw new ZipError(
      `the archive holds the path '${path}', which could be written outside the folder: refused.`,
    );
  }
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw new ZipError(
      `the archive holds the path '${path}', which leads out of the folder with '..': refused.`,
    );
  }
  return parts;
}

export interface Extracted {
  readonly files: number;
  readonly bytes: number;
  /** SHA-256 (hex) of every byte of the archive read. */
  readonly sha256: string;
}

export interface ExtractOptions {
  /**
   * Check each file's CRC-32 (default). A caller that checks the whole archive's SHA-256 against a
   * known digest may leave it out, as GitHub's client does: it costs as much as the digest.
   */
  readonly verifyCrc?: boolean;
}

/**
 * Writes the files of the archive `blocks` (read once, from its start) into `into`, as `entries`
 * (from its central directory) describe them.
 */
export async function extractZip(
  blocks: AsyncIterable<Block>,
  entries: readonly ZipEntry[],
  into: string,
  options: ExtractOptions = {},
): Promise<Extracted> {
  const verifyCrc = options.verifyCrc !== false;
  const hash = createHash("sha256");
  const reader = new ByteReader(blocks[Symbol.asyncIterator](), (bytes) => hash.update(bytes));
  try {
    return await extractEntries(reader, entries, into, verifyCrc, () => hash.digest("hex"));
  } finally {
    await reader.close();
  }
}

async function extractEntries(
  reader: ByteReader,
  entries: readonly ZipEntry[],
  into: string,
  verifyCrc: boolean,
  digest: () => string,
): Promise<Extracted> {
  await mkdir(into, { recursive: true });
  const root = await realpath(into);
  const folders = new Set<string>([root]);
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    const parts = safeEntryPath(entry.path);
    if (entry.kind === "symlink") {
      throw new ZipError(
        `the archive holds a symbolic link '${entry.path}': links are refused, so nothing is written outside the folder.`,
      );
    }
    if (entry.offset < reader.position)
      throw new ZipError(`the archive's entries overlap at '${entry.path}'.`);
    await reader.skip(entry.offset - reader.position);
    const header = await reader.read(30);
    if (header.readUInt32LE(0) !== LOCAL_HEADER)
      throw new ZipError(`the archive is damaged at '${entry.path}'.`);
    await reader.skip(header.readUInt16LE(26) + header.readUInt16LE(28));
    if (entry.kind === "directory" || parts.length === 0) {
      if (parts.length > 0) await safeFolder(root, join(root, ...parts), folders);
      await reader.skip(entry.compressedSize);
      continue;
    }
    if (entry.method !== 0 && entry.method !== 8) {
      throw new ZipError(
        `'${entry.path}' is compressed with method ${entry.method}; only stored and deflated entries are read.`,
      );
    }
    const target = join(root, ...parts);
    await safeFolder(root, dirname(target), folders);
    let crc = 0;
    let size = 0;
    if (entry.compressedSize <= WHOLE_ENTRY_BYTES && entry.size <= WHOLE_ENTRY_BYTES) {
      // Small files in one write, synchronously: each asynchronous step costs a trip to libuv's
      // threads, ten times the write itself (20,000 small files would take seconds).
      const packed = await reader.read(entry.compressedSize); // valid until the reader's next use
      const data = entry.method === 8 ? inflateWhole(packed, entry) : packed;
      crc = verifyCrc ? crc32(data) : entry.crc;
      size = data.length;
      if (size === entry.size && crc >>> 0 === entry.crc >>> 0) writeSmallFile(target, data, entry.mode);
    } else {
      if (!verifyCrc) crc = entry.crc;
      const write = entry.method === 8 ? writeInflated : writeStored;
      await write(target, entry, reader, (chunk) => {
        if (verifyCrc) crc = crc32(chunk, crc);
        size += chunk.length;
        // More than the directory says: damaged, or a bomb; either way, stop writing.
        if (size > entry.size) throw damaged(entry);
      });
    }
    if (size !== entry.size || crc >>> 0 !== entry.crc >>> 0) throw damaged(entry);
    files += 1;
    bytes += size;
  }
  await reader.drain();
  return { files, bytes, sha256: digest() };
}

/** A stored entry's bytes written from the blocks they arrive in, a few writes at once. */
async function writeStored(
  target: string,
  entry: ZipEntry,
  reader: ByteReader,
  seen: (chunk: Buffer) => void,
): Promise<void> {
  const file = await openForWriting(target, entry.mode);
  const writing = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    let position = 0;
    for await (const piece of reader.take(entry.compressedSize)) {
      try {
        seen(piece.bytes);
      } catch (e) {
        piece.release();
        throw e;
      }
      const write = writeAt(file, piece.bytes, position).then(
        () => piece.release(),
        (error: unknown) => {
          piece.release();
          failure ??= { error };
        },
      );
      position += piece.bytes.length;
      writing.add(write);
      void write.then(() => writing.delete(write));
      while (writing.size >= WRITES_IN_FLIGHT) await Promise.race(writing);
      if (failure) throw failure.error;
    }
    await Promise.all(writing);
    if (failure) throw failure.error;
  } finally {
    await Promise.all(writing);
    await file.close();
  }
}

/** All of `bytes` at `position` (a write may take fewer bytes than it was given). */
async function writeAt(file: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    const { bytesWritten } = await file.write(bytes, at, bytes.length - at, position + at);
    at += bytesWritten;
  }
}

/** A deflated entry, inflated as its bytes arrive. */
async function writeInflated(
  target: string,
  entry: ZipEntry,
  reader: ByteReader,
  seen: (chunk: Buffer) => void,
): Promise<void> {
  const file = await openForWriting(target, entry.mode);
  const checked = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      seen(chunk);
      yield chunk;
    }
  };
  // A write stream gathers zlib's small chunks into few large writes.
  await pipeline(
    checked(inflated(reader.take(entry.compressedSize))),
    file.createWriteStream({ highWaterMark: WRITE_PIECE }),
  );
}

function damaged(entry: ZipEntry): ZipError {
  return new ZipError(`'${entry.path}' is damaged in the archive (its size or CRC-32 does not match).`);
}

/** A small entry's data, inflated no further than its size allows. */
function inflateWhole(packed: Buffer, entry: ZipEntry): Buffer {
  try {
    return inflateRawSync(packed, { maxOutputLength: Math.max(1, entry.size + 1) });
  } catch {
    throw damaged(entry);
  }
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

function writeSmallFile(path: string, data: Buffer, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, WRITE_FLAGS, mode);
  } catch (e) {
    if (!isLink(e, path)) throw e;
    unlinkSync(path);
    fd = openSync(path, WRITE_FLAGS, mode);
  }
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** An open refused because a link is at the name (O_NOFOLLOW): it is replaced, not written through. */
function isLink(e: unknown, path: string): boolean {
  return e instanceof Error && "code" in e && e.code === "ELOOP" && lstatSync(path).isSymbolicLink();
}

/** Makes `folder` (inside `root`) and checks it really is inside: a link on the way is refused. */
async function safeFolder(root: string, folder: string, known: Set<string>): Promise<void> {
  if (known.has(folder)) return;
  await mkdir(folder, { recursive: true });
  const real = await realpath(folder);
  if (real !== root && !real.startsWith(root + sep)) {
    throw new ZipError(`'${folder}' leads outside the folder being extracted to (through a link): refused.`);
  }
  known.add(folder);
}

/** Opens a file to write without following a link at its name: a link there is replaced, not written through. */
async function openForWriting(path: string, mode: number): Promise<FileHandle> {
  try {
    return await open(path, WRITE_FLAGS, mode);
  } catch (e) {
    if (!isLink(e, path)) throw e;
    await unlink(path);
    return open(path, WRITE_FLAGS, mode);
  }
}

async function* inflated(pieces: AsyncIterable<Piece>): AsyncGenerator<Buffer> {
  const inflate = createInflateRaw({ chunkSize: 256 * 1024 });
  const feeding = (async () => {
    try {
      for await (const piece of pieces) {
        // zlib reads the piece later, on its own thread: it is released once zlib is done with it.
        const more = inflate.write(piece.bytes, () => piece.release());
        if (!more) await new Promise((resolve) => inflate.once("drain", resolve));
      }
      inflate.end();
    } catch (e) {
      inflate.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  })();
  yield* inflate as AsyncIterable<Buffer>;
  await feeding;
}

/** Bytes of a block, which stays lent until every piece of it is released. */
interface Piece {
  readonly bytes: Buffer;
  release(): void;
}

/** A block shared by the reader and the pieces it handed out: released when the last lets go. */
class SharedBlock {
  private holders = 1;
  /** How far the reader has read it. */
  at = 0;

  constructor(readonly block: Block) {}

  hold(): void {
    this.holders += 1;
  }

  letGo(): void {
    this.holders -= 1;
    if (this.holders === 0) this.block.release();
  }
}

/** Reads exact numbers of bytes from a stream of blocks, keeping count of where it is. */
class ByteReader {
  private readonly pending: SharedBlock[] = [];
  private pendingLength = 0;
  /** The block behind what `read` last returned, held until the reader is next used. */
  private lastRead: SharedBlock | undefined;
  private ended = false;
  position = 0;

  constructor(
    private readonly source: AsyncIterator<Block>,
    private readonly seen: (bytes: Buffer) => void,
  ) {}

  /** What `read` last returned is no longer looked at. */
  private moveOn(): void {
    this.lastRead?.letGo();
    this.lastRead = undefined;
  }

  /** Pulls blocks until at least `n` bytes wait; false when the stream ended first. */
  private async fill(n: number): Promise<boolean> {
    while (this.pendingLength < n) {
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.seen(next.value.bytes);
      this.pending.push(new SharedBlock(next.value));
      this.pendingLength += next.value.bytes.length;
    }
    return true;
  }

  /** Up to `n` waiting bytes from the first block (at least one when any wait), held when `hold`. */
  private shift(n: number, hold: boolean): { bytes: Buffer; shared: SharedBlock } {
    const shared = this.pending[0] as SharedBlock;
    const all = shared.block.bytes;
    const bytes = all.subarray(shared.at, Math.min(all.length, shared.at + n));
    shared.at += bytes.length;
    this.pendingLength -= bytes.length;
    this.position += bytes.length;
    if (hold) shared.hold();
    if (shared.at === all.length) {
      this.pending.shift();
      shared.letGo();
    }
    return { bytes, shared };
  }

  /** The next `n` bytes: a view of a block valid until the reader is next used, or a copy. */
  async read(n: number): Promise<Buffer> {
    this.moveOn();
    if (!(await this.fill(n))) throw new ZipError("the archive ended too early.");
    const first = this.pending[0];
    if (n === 0 || !first) return Buffer.alloc(0);
    if (first.block.bytes.length - first.at >= n) {
      const { bytes, shared } = this.shift(n, true);
      this.lastRead = shared;
      return bytes;
    }
    const copy = Buffer.allocUnsafe(n);
    for (let filled = 0; filled < n;) filled += this.shift(n - filled, false).bytes.copy(copy, filled);
    return copy;
  }

  async skip(n: number): Promise<void> {
    this.moveOn();
    for (let left = n; left > 0;) {
      if (this.pendingLength === 0 && !(await this.fill(1)))
        throw new ZipError("the archive ended too early.");
      left -= this.shift(left, false).bytes.length;
    }
  }

  /** The next `n` bytes as they arrive, each piece holding its block until released. */
  async *take(n: number): AsyncGenerator<Piece> {
    this.moveOn();
    for (let left = n; left > 0;) {
      if (this.pendingLength === 0 && !(await this.fill(1)))
        throw new ZipError("the archive ended too early.");
      const { bytes, shared } = this.shift(left, true);
      left -= bytes.length;
      yield { bytes, release: once(() => shared.letGo()) };
    }
  }

  /** Reads to the end (what follows the last entry is still part of the digest). */
  async drain(): Promise<void> {
    this.moveOn();
    while (this.pendingLength > 0) this.shift(this.pendingLength, false);
    for (;;) {
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return;
      }
      this.seen(next.value.bytes);
      this.position += next.value.bytes.length;
      next.value.release();
    }
  }

  /** Lets go of every block; a source not read to its end is told to stop. */
  async close(): Promise<void> {
    this.moveOn();
    for (const shared of this.pending.splice(0)) shared.letGo();
    this.pendingLength = 0;
    if (!this.ended) await this.source.return?.();
  }
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
