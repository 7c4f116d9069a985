/**
 * Encoded event rows held in order as UTF-8 bytes, each followed by a comma, in large chunks: a
 * request's rows are then a few slices of memory copied once, where joining thousands of small
 * strings (the obvious way) costs more than encoding them did.
 *
 * Offsets are logical: they count every byte ever appended, so a row's end stays valid while the
 * rows before it are dropped.
 */

interface Chunk {
  readonly buffer: Buffer;
  /** The logical offset of `buffer[0]`. */
  readonly start: number;
  used: number;
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;

export class RowBytes {
  private chunks: Chunk[] = [];
  /** Logical end (after its comma) of each row held; `ends[head]` is the first row's. */
  private ends: number[] = [];
  private head = 0;
  private startOffset = 0;
  private endOffset = 0;

  constructor(private readonly chunkBytes: number) {}

  /** Rows held. */
  get count(): number {
    return this.ends.length - this.head;
  }

  /** Bytes held (commas included). */
  get bytes(): number {
    return this.endOffset - this.startOffset;
  }

  /** Where the first row held starts. */
  get start(): number {
    return this.startOffset;
  }

  /** Where the last row held ends. */
  get end(): number {
    return this.endOffset;
  }

  append(row: string): void {
    const worst = row.length * 3 + 1; // UTF-8 takes at most 3 bytes per UTF-16 unit
    let chunk = this.chunks.at(-1);
    if (!chunk || chunk.buffer.length - chunk.used < worst) {
      chunk = {
        buffer: Buffer.allocUnsafe(Math.max(this.chunkBytes, worst)),
        start: this.endOffset,
        used: 0,
      };
      this.chunks.push(chunk);
    }
    const written = chunk.buffer.write(row, chunk.used, "utf8");
    chunk.buffer[chunk.used + written] = COMMA;
    chunk.used += written + 1;
    this.endOffset += written + 1;
    this.ends.push(this.endOffset);
  }

  /** Rows as the spool keeps them: UTF-8, each ending in a newline. The block is kept (its newlines become commas). */
  appendLines(block: Buffer): void {
    if (block.length === 0) return;
    for (let at = block.indexOf(NEWLINE); at !== -1; at = block.indexOf(NEWLINE, at + 1)) {
      block[at] = COMMA;
      this.ends.push(this.endOffset + at + 1);
    }
    this.chunks.push({ buffer: block, start: this.endOffset, used: block.length });
    this.endOffset += block.length;
  }

  /**
   * The first rows, up to `maxBytes` (at least one), as slices without the last comma; the count
   * of rows and where the last ends. Nothing is dropped.
   */
  first(maxBytes: number): { readonly rows: number; readonly end: number; readonly parts: Buffer[] } {
    let index = this.head; // rows [head, index) are taken
    while (index < this.ends.length) {
      if (index > this.head && (this.ends[index] as number) - this.startOffset > maxBytes) break;
      index++;
    }
    const rows = index - this.head;
    if (rows === 0) return { rows: 0, end: this.startOffset, parts: [] };
    const end = this.ends[index - 1] as number;
    const parts: Buffer[] = [];
    for (const chunk of this.chunks) {
      const from = Math.max(this.startOffset, chunk.start);
      const to = Math.min(end - 1, chunk.start + chunk.used);
      if (from < to) parts.push(chunk.buffer.subarray(from - chunk.start, to - chunk.start));
      if (chunk.start + chunk.used >= end) break;
    }
    return { rows, end, parts };
  }

  /** Forgets the first `rows` rows; chunks none of whose rows are held any more are freed. */
  drop(rows: number): void {
    const count = Math.min(rows, this.count);
    if (count <= 0) return;
    this.head += count;
    this.startOffset = this.ends[this.head - 1] as number;
    while (
      this.chunks.length > 1 &&
      (this.chunks[0] as Chunk).start + (this.chunks[0] as Chunk).used <= this.startOffset
    ) {
      this.chunks.shift();
    }
    if (this.head === this.ends.length) {
      this.ends = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.ends.length) {
      this.ends = this.ends.slice(this.head);
      this.head = 0;
    }
  }
}
