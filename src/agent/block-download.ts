/**
 * A large download read into a few big blocks of memory that are lent out and reused: the
 * artifact download's transport (zip-reader.ts writes the blocks' bytes straight to the files).
 *
 * Node's http client hands out every 64 KiB the socket reads as a fresh buffer, copied once more by
 * its parser: half a gigabyte makes thousands of allocations, a garbage collector that never rests
 * and, on a virtual machine, new memory the host must supply page by page. Here a plain `http:` GET
 * reads from the socket straight into the block being filled (net's `onread`), so the bytes are
 * copied once, into memory already in use. `https:` goes through Node's client, its chunks copied
 * into blocks, so both look the same to the reader.
 *
 * Back-pressure: while a few filled blocks wait for the reader, the socket is paused; the memory
 * of released blocks is reused.
 */
import { connect } from "node:net";
import type { Socket } from "node:net";
import { request as httpsRequest } from "node:https";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";

/** Bytes lent by a pool: valid until `release`, after which the memory is reused. */
export interface Block {
  readonly bytes: Buffer;
  /** Gives the memory back; call it once, when nothing reads `bytes` any more. */
  release(): void;
}

const BLOCK_BYTES = 4 * 1024 * 1024;
/** Blocks read ahead of the reader before the socket waits. */
const QUEUED_BLOCKS = 4;
/** Returned blocks kept for reuse (more are left to the garbage collector). */
const KEPT_BLOCKS = 16;
/** A status line and headers longer than this are not an answer this client will read. */
const HEAD_LIMIT = 64 * 1024;
/** No byte for this long while the reader waits for more: the download fails instead of hanging. */
const IDLE_MS = 120_000;

/** Memory for blocks, reused once released. */
export class BlockPool {
  private readonly free: Buffer[] = [];
  /** Buffers made so far (the rest of the blocks lent were reused). */
  made = 0;

  constructor(readonly blockBytes = BLOCK_BYTES) {
    // The status line and headers are read into the first block.
    if (blockBytes <= HEAD_LIMIT) throw new RangeError(`blocks must be larger than ${HEAD_LIMIT} bytes.`);
  }

  take(): Buffer {
    const reused = this.free.pop();
    if (reused) return reused;
    this.made += 1;
    return Buffer.allocUnsafeSlow(this.blockBytes);
  }

  /** Memory back for reuse (a released block, or one taken and never lent). */
  give(memory: Buffer): void {
    if (this.free.length < KEPT_BLOCKS) this.free.push(memory);
  }

  /** A block of `memory`'s first `length` bytes, coming back here when released. */
  lend(memory: Buffer, length: number): Block {
    let released = false;
    return {
      bytes: memory.subarray(0, length),
      release: () => {
        if (released) return;
        released = true;
        this.give(memory);
      },
    };
  }
}

export interface BlockResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, once; leaving the loop early closes the connection. */
  readonly body: AsyncIterable<Block>;
}

export interface GetOptions {
  readonly pool?: BlockPool;
  /** How long the server may send nothing while the reader waits (default two minutes). */
  readonly idleMs?: number;
}

/** GETs `url` (http: or https:) with `headers`, its body as blocks of `options.pool`. */
export function getInBlocks(
  url: URL,
  headers: Readonly<Record<string, string>>,
  options: GetOptions = {},
): Promise<BlockResponse> {
  const pool = options.pool ?? new BlockPool();
  const idleMs = options.idleMs ?? IDLE_MS;
  if (url.protocol === "http:") return plainGet(url, headers, pool, idleMs);
  if (url.protocol === "https:") return tlsGet(url, headers, pool, idleMs);
  return Promise.reject(new Error(`cannot download from '${url.protocol}' URLs (http: or https: only).`));
}

/** Blocks queued for the reader, in order, then an end or a failure. */
class BlockQueue implements AsyncIterable<Block> {
  private readonly blocks: Block[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private iterated = false;

  /**
   * `cancel`: the reader left before the end (the connection is closed); `onRoom`: the reader took
   * a block from a full queue (the source may go on).
   */
  constructor(
    private readonly cancel: () => void,
    private readonly onRoom: () => void,
  ) {}

  /** As many blocks wait as the reader may be ahead of: the source should wait too. */
  get full(): boolean {
    return this.blocks.length >= QUEUED_BLOCKS;
  }

  push(block: Block): void {
    this.blocks.push(block);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: Error): void {
    if (this.ended) return;
    this.failure = error;
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  // An iterator of its own rather than a generator: a generator never started ignores `return`,
  // and a reader that gives up before its first block must still close the connection.
  [Symbol.asyncIterator](): AsyncIterator<Block> {
    if (this.iterated) throw new Error("a download's body can be read once.");
    this.iterated = true;
    return {
      next: () => this.next(),
      return: () => {
        this.stop();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private async next(): Promise<IteratorResult<Block>> {
    for (;;) {
      const block = this.blocks.shift();
      if (block) {
        if (this.blocks.length === QUEUED_BLOCKS - 1) this.onRoom();
        return { done: false, value: block };
      }
      if (this.failure) throw this.failure;
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private stop(): void {
    if (!this.ended || this.blocks.length > 0) this.cancel();
    for (const block of this.blocks.splice(0)) block.release();
  }
}

/** The block being filled, queued when full. */
class BlockFiller {
  memory: Buffer;
  filled = 0;

  constructor(
    private readonly pool: BlockPool,
    private readonly queue: BlockQueue,
  ) {
    this.memory = pool.take();
  }

  get full(): boolean {
    return this.filled === this.memory.length;
  }

  /** The filled block to the reader, and a new one to fill. */
  hand(): void {
    this.queue.push(this.pool.lend(this.memory, this.filled));
    this.memory = this.pool.take();
    this.filled = 0;
  }

  /** Copies `bytes` in, handing on each block that fills. */
  append(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) {
      if (this.full) this.hand();
      const copied = Buffer.from(bytes.buffer, bytes.byteOffset + at, bytes.length - at).copy(
        this.memory,
        this.filled,
      );
      this.filled += copied;
      at += copied;
    }
  }

  /** The last block, if it holds anything, and the memory back to the pool. */
  finish(handLast: boolean): void {
    if (handLast && this.filled > 0) this.hand();
    this.pool.give(this.memory);
  }
}

/**
 * HTTP/1.0 on a socket of its own: the answer is then never chunked, its end being its
 * Content-Length or, without one, the connection's close.
 */
function plainGet(
  url: URL,
  headers: Readonly<Record<string, string>>,
  pool: BlockPool,
  idleMs: number,
): Promise<BlockResponse> {
  return new Promise((resolve, reject) => {
    let head: { status: number; headers: Record<string, string> } | undefined;
    let remaining = Infinity;
    let paused = false;
    let finished = false;
    const queue = new BlockQueue(
      () => finish(new Error("the download was cancelled.")),
      () => {
        if (!paused || finished) return;
        paused = false;
        socket.resume();
        socket.setTimeout(idleMs); // from now, not from when it paused
      },
    );
    const block = new BlockFiller(pool, queue);
    const scratch = Buffer.allocUnsafe(64 * 1024);

    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      socket.destroy();
      block.finish(!error);
      if (!error) return queue.end();
      if (!head) reject(error);
      queue.fail(error);
    };

    /** The status line and headers, once they are all in the first block. */
    const readHead = (count: number): void => {
      const { memory } = block;
      const end = memory.subarray(0, block.filled).indexOf("\r\n\r\n", Math.max(0, block.filled - count - 3));
      if (end < 0) {
        if (block.filled > HEAD_LIMIT)
          finish(new Error(`${url.host} answered with headers over ${HEAD_LIMIT} bytes.`));
        return;
      }
      const parsed = parseHead(memory.toString("latin1", 0, end));
      if (typeof parsed === "string")
        return finish(new Error(`${url.host} gave an answer that is not HTTP: ${parsed}`));
      const coding = parsed.headers["transfer-encoding"];
      if (coding !== undefined && coding.toLowerCase() !== "identity") {
        // Not allowed in an answer to HTTP/1.0, and its framing would end up in the file.
        return finish(
          new Error(`${url.host} answered an HTTP/1.0 request with Transfer-Encoding '${coding}'.`),
        );
      }
      head = parsed;
      memory.copyWithin(0, end + 4, block.filled);
      block.filled -= end + 4;
      const length = head.headers["content-length"];
      if (length !== undefined) remaining = Number(length);
      resolve({ status: head.status, headers: head.headers, body: queue });
      counted(block.filled);
    };

    /** `count` more bytes of the body are in. */
    const counted = (count: number): void => {
      remaining -= count;
      if (remaining < 0) {
        const length = head?.headers["content-length"] ?? "";
        finish(new Error(`${url.host} sent more bytes than its Content-Length (${length}).`));
      } else if (remaining === 0) {
        finish();
      } else if (block.full) {
        block.hand();
      }
    };

    const socket: Socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 80),
      onread: {
        // Straight into the block being filled; into the scratch buffer only when it is full.
        buffer: () => (block.full ? scratch : block.memory.subarray(block.filled)),
        callback: (count: number, into: Uint8Array): boolean => {
          if (into.buffer === scratch.buffer) {
            // Chosen for a read while the block was full (the head is always in the first block).
            block.append(into.subarray(0, count));
          } else {
            block.filled += count;
          }
          if (head) counted(count);
          else readHead(count);
          if (finished) return false;
          paused = queue.full;
          return !paused;
        },
      },
    });
    socket.setNoDelay(true);
    // A listener of its own: the one setTimeout adds is called once, and a timeout while the reader
    // is behind is ignored, not the last.
    socket.setTimeout(idleMs);
    socket.on("timeout", () => {
      // Waiting for the reader is not the server's silence.
      if (!paused)
        finish(new Error(`${url.host} sent nothing for ${idleMs / 1000} s: the download was given up.`));
    });
    socket.once("error", (error) => finish(error));
    socket.once("end", () => {
      if (finished) return;
      if (!head) return finish(new Error(`${url.host} closed the connection without an answer.`));
      if (remaining === Infinity) return finish();
      const length = Number(head.headers["content-length"]);
      finish(new Error(`the download broke off after ${length - remaining} of ${length} bytes.`));
    });
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.0`, `Host: ${url.host}`];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    // Written, not ended: a server may take a half-closed connection for an abandoned request.
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  });
}

/** `HTTP/1.x 200 OK` and `Name: value` lines; a string saying what is wrong otherwise. */
export function parseHead(text: string): { status: number; headers: Record<string, string> } | string {
  const [statusLine = "", ...lines] = text.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!status) return `its status line is '${statusLine.slice(0, 80)}'.`;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return `a header line is '${line.slice(0, 80)}'.`;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = headers["content-length"];
  if (length !== undefined && !/^\d+$/.test(length)) return `its Content-Length is '${length}'.`;
  return { status: Number(status[1]), headers };
}

/** Node's https client, its chunks copied into the pool's blocks. */
function tlsGet(
  url: URL,
  headers: Readonly<Record<string, string>>,
  pool: BlockPool,
  idleMs: number,
): Promise<BlockResponse> {
  return new Promise((resolve, reject) => {
    let paused = false;
    let timedOut = false;
    let connection: Socket | undefined;
    // On the socket itself: a request hears of its socket's timeout only once, and a timeout while
    // the reader is behind is ignored, not the last. Taken off again when the answer ends, as a kept
    // alive socket serves other requests after.
    const onIdle = (): void => {
      if (paused) return;
      timedOut = true;
      outgoing.destroy(
        new Error(`${url.host} sent nothing for ${idleMs / 1000} s: the download was given up.`),
      );
    };
    const outgoing = httpsRequest(url, { headers }, (response: IncomingMessage) => {
      let finished = false;
      const queue = new BlockQueue(
        () => response.destroy(),
        () => {
          if (!paused) return;
          paused = false;
          response.resume();
          connection?.setTimeout(idleMs); // from now, not from when it paused
        },
      );
      const block = new BlockFiller(pool, queue);
      const finish = (error?: Error): void => {
        if (finished) return;
        finished = true;
        connection?.off("timeout", onIdle);
        connection?.setTimeout(0);
        block.finish(!error);
        if (error) queue.fail(error);
        else queue.end();
      };
      response.on("data", (chunk: Buffer) => {
        block.append(chunk);
        if (block.full) block.hand();
        if (queue.full && !finished) {
          paused = true;
          response.pause();
        }
      });
      response.once("end", () => finish());
      response.once("close", () => {
        if (response.complete) return;
        const silence = `${url.host} sent nothing for ${idleMs / 1000} s: the download was given up.`;
        finish(new Error(timedOut ? silence : `the download from ${url.host} broke off.`));
      });
      const flat: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      resolve({ status: response.statusCode ?? 0, headers: flat, body: queue });
    });
    outgoing.once("socket", (socket: Socket) => {
      connection = socket;
      socket.setTimeout(idleMs);
      socket.on("timeout", onIdle);
    });
    outgoing.once("error", (error) => {
      connection?.off("timeout", onIdle);
      reject(error);
    });
    outgoing.end();
  });
}

/** A (short) body read whole as UTF-8 text: what a refusal says. */
export async function textOf(blocks: AsyncIterable<Block>): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const block of blocks) {
    pieces.push(Buffer.from(block.bytes));
    block.release();
  }
  return Buffer.concat(pieces).toString("utf8");
}

/**
 * Writes `blocks` to `into` (a pipe to a program, say), each released once written, and ends it;
 * the bytes written. Waits while `into` is full; rejects if it fails (the program ended early).
 */
export async function writeBlocks(blocks: AsyncIterable<Block>, into: Writable): Promise<number> {
  // Kept from the start: a pipe can fail between two writes, with no one waiting on it.
  let failure: Error | undefined;
  const failed = (error: Error): void => void (failure ??= error);
  into.on("error", failed);
  try {
    let bytes = 0;
    for await (const block of blocks) {
      if (failure || into.destroyed) {
        block.release();
        break;
      }
      bytes += block.bytes.length;
      if (!into.write(block.bytes, () => block.release())) await once(into, "drain");
    }
    if (!failure && !into.destroyed) {
      into.end();
      await finished(into);
    }
    if (failure) throw failure;
    if (into.destroyed && !into.writableFinished)
      throw new Error("the output closed before the download was written.");
    return bytes;
  } finally {
    into.off("error", failed);
  }
}

/** Buffers as blocks that need no returning (what the caller already holds, or a test's chunks). */
export async function* unpooledBlocks(
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
): AsyncGenerator<Block> {
  for await (const bytes of chunks) yield { bytes, release: () => undefined };
}
