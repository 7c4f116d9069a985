/**
 * A zip archive of files, made as it is read: what the built-in upload-artifact sends to the
 * artifact service, in the format GitHub's artifact clients write and read (so either side can be
 * GitHub's own code). Each entry streams its file through zlib's raw deflate (or stores it, at level
 * 0) with a data descriptor after it, as streaming writers do; sizes past 4 GiB and more than 65,535
 * entries use Zip64. Modes are kept (Unix external attributes), times in DOS form.
 */
import { createReadStream, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import type { Transform } from "node:stream";
import { promisify } from "node:util";
import { crc32, createDeflateRaw, deflateRaw, deflateRawSync } from "node:zlib";

export interface ZipSource {
  /** The file on disk. */
  readonly source: string;
  /** `/`-separated path in the archive. */
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly mtime: Date;
}

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
/** Bit 3: sizes and CRC follow the data; bit 11: names are UTF-8. */
const FLAGS = 0x0008 | 0x0800;
const STORED = 0;
const DEFLATED = 8;
const MAX_32 = 0xffffffff;
/** Files from this size on get Zip64 fields: deflate can make a file slightly larger than it was. */
const ZIP64_FROM = 0xf0000000;
const READ_PIECE = 1024 * 1024;
/** Files up to this size are read and compressed whole; up to the second, compressed synchronously. */
const WHOLE_FILE_BYTES = 1024 * 1024;
const SYNC_DEFLATE_BYTES = 64 * 1024;
const deflateRawAsync = promisify(deflateRaw);

interface Written {
  readonly nameBytes: Buffer;
  readonly method: number;
  readonly time: number;
  readonly date: number;
  readonly crc: number;
  readonly compressed: number;
  readonly size: number;
  readonly offset: number;
  readonly mode: number;
  readonly zip64: boolean;
}

export interface ZipOptions {
  /**
   * Read stored files into one buffer over and over instead of a new one per read: a chunk is then
   * valid only until the next is asked for (a consumer that copies it at once, as a block uploader
   * does, spares the garbage collector hundreds of megabytes).
   */
  readonly reuseBuffers?: boolean;
}

/** The archive of `sources`, in order, compressed at zlib's `level` (0 stores). */
export async function* zipArchive(
  sources: readonly ZipSource[],
  level: number,
  options: ZipOptions = {},
): AsyncGenerator<Buffer> {
  const shared = options.reuseBuffers === true && level === 0 ? Buffer.allocUnsafe(READ_PIECE) : undefined;
  const written: Written[] = [];
  let offset = 0;
  for (const entry of sources) {
    const nameBytes = Buffer.from(entry.path, "utf8");
    const method = level === 0 ? STORED : DEFLATED;
    const zip64 = entry.size >= ZIP64_FROM;
    const { time, date } = dosTime(entry.mtime);
    const header = localHeader(nameBytes, method, time, date, zip64);
    yield header;
    let crc = 0;
    let size = 0;
    let compressed = 0;
    if (entry.size <= WHOLE_FILE_BYTES) {
      // Small files in one read and one deflate, synchronously: each asynchronous step costs a trip
      // to libuv's threads, ten times the read itself (a tree of 20,000 small files would take seconds).
      const data = readFileSync(entry.source);
      crc = crc32(data);
      size = data.length;
      const packed =
        method === STORED
          ? data
          : data.length <= SYNC_DEFLATE_BYTES
            ? deflateRawSync(data, { level })
            : await deflateRawAsync(data, { level });
      compressed = packed.length;
      yield packed;
      yield dataDescriptor(crc, compressed, size, zip64);
      written.push({ nameBytes, method, time, date, crc, compressed, size, offset, mode: entry.mode, zip64 });
      offset += header.length + compressed + (zip64 ? 24 : 16);
      continue;
    }
    const file = shared
      ? readInto(entry.source, shared)
      : (createReadStream(entry.source, { highWaterMark: READ_PIECE }) as AsyncIterable<Buffer>);
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of file) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        yield chunk;
      }
    };
    const data = method === STORED ? counted() : deflated(counted(), level);
    for await (const chunk of data) {
      compressed += chunk.length;
      yield chunk;
    }
    yield dataDescriptor(crc, compressed, size, zip64);
    written.push({ nameBytes, method, time, date, crc, compressed, size, offset, mode: entry.mode, zip64 });
    offset += header.length + compressed + (zip64 ? 24 : 16);
  }
  const directoryStart = offset;
  let directorySize = 0;
  for (const entry of written) {
    const header = centralHeader(entry);
    directorySize += header.length;
    yield header;
  }
  yield end(written.length, directoryStart, directorySize);
}

/** A file's bytes read into `buffer` again and again (each chunk valid until the next is asked for). */
async function* readInto(path: string, buffer: Buffer): AsyncGenerator<Buffer> {
  const file = await open(path, "r");
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

async function* deflated(chunks: AsyncIterable<Buffer>, level: number): AsyncGenerator<Buffer> {
  const deflate: Transform = createDeflateRaw({ level, chunkSize: 256 * 1024 });
  const feeding = (async () => {
    try {
      for await (const chunk of chunks) {
        if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once("drain", resolve));
      }
      deflate.end();
    } catch (e) {
      deflate.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  })();
  yield* deflate as AsyncIterable<Buffer>;
  await feeding;
}

function localHeader(name: Buffer, method: number, time: number, date: number, zip64: boolean): Buffer {
  // Zip64 entries say so from the start, with their sizes left to the descriptor.
  const extra = zip64 ? zip64Extra([0n, 0n]) : Buffer.alloc(0);
  const header = Buffer.alloc(30);
  header.writeUInt32LE(LOCAL_HEADER, 0);
  header.writeUInt16LE(zip64 ? 45 : 20, 4);
  header.writeUInt16LE(FLAGS, 6);
  header.writeUInt16LE(method, 8);
  header.writeUInt16LE(time, 10);
  header.writeUInt16LE(date, 12);
  header.writeUInt32LE(0, 14);
  header.writeUInt32LE(zip64 ? MAX_32 : 0, 18);
  header.writeUInt32LE(zip64 ? MAX_32 : 0, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, name, extra]);
}

function dataDescriptor(crc: number, compressed: number, size: number, zip64: boolean): Buffer {
  const descriptor = Buffer.alloc(zip64 ? 24 : 16);
  descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0);
  descriptor.writeUInt32LE(crc >>> 0, 4);
  if (zip64) {
    descriptor.writeBigUInt64LE(BigInt(compressed), 8);
    descriptor.writeBigUInt64LE(BigInt(size), 16);
  } else {
    descriptor.writeUInt32LE(compressed, 8);
    descriptor.writeUInt32LE(size, 12);
  }
  return descriptor;
}

function centralHeader(entry: Written): Buffer {
  const bigOffset = entry.offset >= MAX_32;
  const sizes: bigint[] = entry.zip64 ? [BigInt(entry.size), BigInt(entry.compressed)] : [];
  if (bigOffset) sizes.push(BigInt(entry.offset));
  const extra = sizes.length > 0 ? zip64Extra(sizes) : Buffer.alloc(0);
  const header = Buffer.alloc(46);
  header.writeUInt32LE(CENTRAL_HEADER, 0);
  // Made by: Unix (3), spec 4.5; the external attributes then hold the file's mode.
  header.writeUInt16LE((3 << 8) | 45, 4);
  header.writeUInt16LE(entry.zip64 || bigOffset ? 45 : 20, 6);
  header.writeUInt16LE(FLAGS, 8);
  header.writeUInt16LE(entry.method, 10);
  header.writeUInt16LE(entry.time, 12);
  header.writeUInt16LE(entry.date, 14);
  header.writeUInt32LE(entry.crc >>> 0, 16);
  header.writeUInt32LE(entry.zip64 ? MAX_32 : entry.compressed, 20);
  header.writeUInt32LE(entry.zip64 ? MAX_32 : entry.size, 24);
  header.writeUInt16LE(entry.nameBytes.length, 28);
  header.writeUInt16LE(extra.length, 30);
  header.writeUInt16LE(0, 32);
  header.writeUInt16LE(0, 34);
  header.writeUInt16LE(0, 36);
  header.writeUInt32LE(((0o100000 | (entry.mode & 0o7777)) << 16) >>> 0, 38);
  header.writeUInt32LE(bigOffset ? MAX_32 : entry.offset, 42);
  return Buffer.concat([header, entry.nameBytes, extra]);
}

function zip64Extra(values: readonly bigint[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => extra.writeBigUInt64LE(value, 4 + 8 * i));
  return extra;
}

function end(count: number, directoryStart: number, directorySize: number): Buffer {
  const zip64 = count > 0xffff || directoryStart >= MAX_32 || directorySize >= MAX_32;
  const parts: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(ZIP64_END, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE((3 << 8) | 45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(directorySize), 40);
    record.writeBigUInt64LE(BigInt(directoryStart), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(ZIP64_LOCATOR, 0);
    locator.writeBigUInt64LE(BigInt(directoryStart + directorySize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(record, locator);
  }
  const record = Buffer.alloc(22);
  record.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  record.writeUInt16LE(Math.min(count, 0xffff), 8);
  record.writeUInt16LE(Math.min(count, 0xffff), 10);
  record.writeUInt32LE(Math.min(directorySize, MAX_32), 12);
  record.writeUInt32LE(Math.min(directoryStart, MAX_32), 16);
  parts.push(record);
  return Buffer.concat(parts);
}

/** MS-DOS time and date (local time, two-second steps, from 1980), as zip keeps them. */
export function dosTime(at: Date): { time: number; date: number } {
  const year = Math.max(1980, at.getFullYear());
  return {
    time: (at.getHours() << 11) | (at.getMinutes() << 5) | Math.floor(at.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((at.getMonth() + 1) << 5) | at.getDate(),
  };
}
