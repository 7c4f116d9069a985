/**
 * Turns the byte chunks a child process writes into lines, as the runner's `StreamReader.ReadLine`
 * does: a line ends at `\n`, `\r\n` or a lone `\r` (progress bars redraw with `\r`, and GitHub shows
 * each redraw as a line), the terminator is dropped, a UTF-8 byte order mark at the very start is
 * dropped, and invalid UTF-8 becomes U+FFFD.
 *
 * Unlike the runner, memory stays bounded: a line longer than `maxLineBytes` is emitted in pieces of
 * at most that many bytes, each cut on a character boundary. Only a piece with `startsLine` may hold
 * a workflow command.
 */

import { Buffer } from "node:buffer";

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface OutputLine {
  readonly text: string;
  /** False when this piece continues a line cut at the length limit. */
  readonly startsLine: boolean;
  /** False when the line was cut at the length limit and goes on in the next piece. */
  readonly endsLine: boolean;
}

export interface LineSplitterOptions {
  /** Longest piece emitted, in bytes (at least 4, so that any character fits). */
  readonly maxLineBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private readonly maxLineBytes: number;
  /** Bytes of the line under way, copied out of the caller's chunks. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The last line ended with `\r`: a `\n` arriving next belongs to it. */
  private afterCarriageReturn = false;
  private nextStartsLine = true;
  private atStreamStart = true;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLineBytes = Math.max(4, Math.floor(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES));
  }

  /** Feeds a chunk; returns the lines (and pieces of long lines) it completes. */
  push(chunk: Uint8Array): OutputLine[] {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: OutputLine[] = [];
    let position = 0;
    if (this.afterCarriageReturn && bytes.length > 0) {
      if (bytes[0] === LF) position = 1;
      this.afterCarriageReturn = false;
    }
    let nextLf = bytes.indexOf(LF, position);
    let nextCr = bytes.indexOf(CR, position);
    for (;;) {
      const end = nextLf < 0 ? nextCr : nextCr < 0 ? nextLf : Math.min(nextLf, nextCr);
      if (end < 0) break;
      this.append(bytes.subarray(position, end), lines);
      lines.push(this.take(true));
      position = end + 1;
      if (bytes[end] === CR) {
        if (position === bytes.length) this.afterCarriageReturn = true;
        else if (bytes[position] === LF) position += 1;
      }
      if (nextLf >= 0 && nextLf < position) nextLf = bytes.indexOf(LF, position);
      if (nextCr >= 0 && nextCr < position) nextCr = bytes.indexOf(CR, position);
    }
    this.append(bytes.subarray(position), lines);
    return lines;
  }

  /** The output ended: returns the last line if it had no terminator, and resets for a new stream. */
  end(): OutputLine[] {
    const lines = this.pendingBytes > 0 ? [this.take(true)] : [];
    this.afterCarriageReturn = false;
    this.nextStartsLine = true;
    this.atStreamStart = true;
    return lines;
  }

  /** Adds bytes of the line under way, cutting pieces off while it is longer than the limit. */
  private append(bytes: Buffer, lines: OutputLine[]): void {
    let offset = 0;
    while (this.pendingBytes + bytes.length - offset > this.maxLineBytes) {
      // The piece's bytes plus the one after them, which tells whether the cut splits a character.
      const room = this.maxLineBytes - this.pendingBytes;
      const head = Buffer.concat([...this.pending, bytes.subarray(offset, offset + room + 1)]);
      const cut = characterBoundaryAtOrBefore(head, this.maxLineBytes);
      lines.push(this.piece(head.subarray(0, cut), false));
      this.pending = [Buffer.from(head.subarray(cut, this.maxLineBytes))];
      this.pendingBytes = this.maxLineBytes - cut;
      offset += room;
    }
    if (offset < bytes.length) {
      // Copy: the caller may reuse its chunk buffer once `push` returns.
      this.pending.push(Buffer.from(bytes.subarray(offset)));
      this.pendingBytes += bytes.length - offset;
    }
  }

  private take(endsLine: boolean): OutputLine {
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.piece(bytes, endsLine);
  }

  private piece(bytes: Buffer, endsLine: boolean): OutputLine {
    let start = 0;
    if (this.atStreamStart) {
      this.atStreamStart = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    }
    const line = { text: bytes.toString("utf8", start), startsLine: this.nextStartsLine, endsLine };
    this.nextStartsLine = endsLine;
    return line;
  }
}

/** The largest index <= `limit` that does not fall inside a UTF-8 sequence (or `limit` for invalid UTF-8). */
function characterBoundaryAtOrBefore(bytes: Buffer, limit: number): number {
  for (let cut = limit; cut > 0 && cut > limit - 4; cut--) {
    if (((bytes[cut] ?? 0) & 0xc0) !== 0x80) return cut;
  }
  return limit;
}
