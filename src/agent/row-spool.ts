/**
 * Encoded event rows that do not fit in the uplink's memory budget, kept in a file and read back
 * in order. The job runner's output cannot be slowed down from the event sink (it is a plain
 * callback), so while the server lags far behind, rows wait on disk instead of in memory.
 *
 * Rows are stored as UTF-8, one a line (an encoded row is JSON, which never holds a raw newline),
 * and come back as blocks of whole lines that row-bytes.ts takes as they are. I/O is synchronous,
 * in blocks of a megabyte; the spool is only used while the server is behind or away.
 */
import { closeSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from "node:fs";

const BLOCK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export class RowSpool {
  private fd: number | undefined;
  private staging: Buffer | undefined;
  private staged = 0;
  private written = 0;
  private readPosition = 0;

  constructor(private readonly path: string) {}

  /** Rows were appended that have not been read back. */
  get holdsRows(): boolean {
    return this.staged > 0 || this.readPosition < this.written;
  }

  append(row: string): void {
    const worst = row.length * 3 + 1; // UTF-8 takes at most 3 bytes per UTF-16 unit
    this.staging ??= Buffer.allocUnsafe(BLOCK_BYTES);
    if (this.staged + worst > this.staging.length) this.writeStaged();
    if (worst > this.staging.length) {
      this.writeBytes(Buffer.from(`${row}\n`, "utf8"));
      return;
    }
    const length = this.staging.write(row, this.staged, "utf8");
    this.staging[this.staged + length] = NEWLINE;
    this.staged += length + 1;
  }

  /** The oldest rows, about `maxBytes` of them (at least one while any are left), each ending in a newline. */
  read(maxBytes: number): Buffer {
    this.writeStaged();
    if (this.readPosition >= this.written) return Buffer.alloc(0);
    const fd = this.open();
    let length = Math.max(1, Math.min(maxBytes, this.written - this.readPosition));
    for (;;) {
      const buffer = Buffer.allocUnsafe(length);
      const got = readSync(fd, buffer, 0, length, this.readPosition);
      const end = buffer.lastIndexOf(NEWLINE, got - 1);
      if (end >= 0) {
        this.readPosition += end + 1;
        if (this.readPosition >= this.written) this.reset(fd);
        return buffer.subarray(0, end + 1);
      }
      // One row longer than maxBytes: read further until its end.
      length = Math.min(length * 2, this.written - this.readPosition);
    }
  }

  /** Removes the file; the spool must not be used afterwards. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    // Most jobs never spill: no file to remove, and no system call to find that out.
    if (this.fd !== undefined || this.written > 0) rmSync(this.path, { force: true });
    this.fd = undefined;
    this.staging = undefined;
    this.staged = 0;
    this.written = 0;
    this.readPosition = 0;
  }

  private writeStaged(): void {
    if (this.staged === 0 || !this.staging) return;
    this.writeBytes(this.staging.subarray(0, this.staged));
    this.staged = 0;
  }

  private writeBytes(bytes: Buffer): void {
    const fd = this.open();
    let offset = 0;
    while (offset < bytes.length) {
      offset += writeSync(fd, bytes, offset, bytes.length - offset, this.written + offset);
    }
    this.written += bytes.length;
  }

  /** Everything was read back: start the file over so it does not grow for the whole job. */
  private reset(fd: number): void {
    ftruncateSync(fd, 0);
    this.written = 0;
    this.readPosition = 0;
  }

  private open(): number {
    this.fd ??= openSync(this.path, "w+", 0o600);
    return this.fd;
  }
}
