/**
 * The SHA-256 of an upload, computed while its blocks arrive, so that finalizing an artifact does
 * not read it all again afterwards (on a large artifact that pass is a third of the upload's time).
 *
 * Blocks come in parallel and in any order, and only the block list says their order. But the
 * clients name blocks with a counter (the Azure SDK: a fixed prefix and a zero-padded number; the
 * built-in actions likewise), so the order they will be listed in is known in practice: the first
 * block is the one whose counter ends in six zeros (the SDK's prefix, a UUID, may end in digits
 * too), and a block is hashed (read back from the blob store, where it was just written) once every
 * block before it has been. When the list that commits the upload is exactly those blocks in that order, the digest is
 * ready; anything else (another naming, a block sent twice, another server process) leaves it
 * unknown and the caller hashes the blob itself. A guess that only ever saves work, never changes
 * an answer.
 */
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import type { BlobStore } from "../../store/blobs.js";

interface Tracker {
  readonly prefix: Buffer;
  readonly width: number;
  readonly hash: Hash;
  /** The number of the next block to hash; undefined until the first block arrived. */
  next: bigint | undefined;
  /** Ids hashed, in order. */
  readonly hashed: string[];
  /** Blocks stored but not yet hashed (a later number arrived first), by number. */
  readonly waiting: Map<bigint, { id: string; key: string }>;
  /** The hashing in progress; blocks are hashed one after another. */
  work: Promise<void>;
  failed: boolean;
}

/** Counters of first blocks are multiples of this (no upload has a million blocks). */
const FIRST_BLOCK_STEP = 1_000_000n;
/** Uploads tracked at once; past this the oldest is forgotten (its digest is then computed on finalize). */
const MAX_TRACKED = 64;

export class UploadDigests {
  private readonly trackers = new Map<string, Tracker>();
  private readonly done = new Map<string, string>();

  constructor(private readonly blobs: BlobStore) {}

  /** A block of the upload `blob` was stored under `key`. */
  blockStored(blob: string, blockId: string, key: string): void {
    const parsed = counterOf(blockId);
    if (!parsed) return this.forget(blob);
    let tracker = this.trackers.get(blob);
    if (!tracker) {
      if (this.trackers.size >= MAX_TRACKED) this.forget(this.trackers.keys().next().value ?? "");
      tracker = {
        prefix: parsed.prefix,
        width: parsed.width,
        hash: createHash("sha256"),
        next: undefined,
        hashed: [],
        waiting: new Map(),
        work: Promise.resolve(),
        failed: false,
      };
      this.trackers.set(blob, tracker);
    }
    if (tracker.failed || parsed.width !== tracker.width || !parsed.prefix.equals(tracker.prefix)) {
      tracker.failed = true;
      return;
    }
    tracker.waiting.set(parsed.number, { id: blockId, key });
    if (parsed.number % FIRST_BLOCK_STEP === 0n) tracker.next ??= parsed.number;
    const current = tracker;
    current.work = current.work.then(() => this.advance(current));
  }

  /**
   * The upload `blob` is being committed with the blocks `ids` in order: waits for the hashing, and
   * keeps the digest (`sha256:<hex>`) when the blocks hashed are exactly those. Call before the
   * blocks are moved into the blob.
   */
  async committing(blob: string, ids: readonly string[]): Promise<void> {
    const tracker = this.trackers.get(blob);
    if (!tracker) return;
    this.trackers.delete(blob);
    await tracker.work;
    const same =
      !tracker.failed &&
      tracker.hashed.length === ids.length &&
      ids.every((id, i) => tracker.hashed[i] === id);
    if (same) {
      if (this.done.size >= MAX_TRACKED) this.done.delete(this.done.keys().next().value ?? "");
      this.done.set(blob, `sha256:${tracker.hash.digest("hex")}`);
    }
  }

  /** The digest of a committed upload, once (undefined when it was not followed). */
  take(blob: string): string | undefined {
    const digest = this.done.get(blob);
    this.done.delete(blob);
    return digest;
  }

  forget(blob: string): void {
    const tracker = this.trackers.get(blob);
    if (tracker) tracker.failed = true;
    this.trackers.delete(blob);
    this.done.delete(blob);
  }

  private async advance(tracker: Tracker): Promise<void> {
    for (;;) {
      const number = tracker.next;
      const block = number === undefined ? undefined : tracker.waiting.get(number);
      if (number === undefined || !block || tracker.failed) return;
      tracker.waiting.delete(number);
      try {
        const found = await this.blobs.scan(block.key, (bytes) => tracker.hash.update(bytes));
        if (!found) throw new Error("the block is gone");
      } catch {
        tracker.failed = true;
        return;
      }
      tracker.hashed.push(block.id);
      tracker.next = number + 1n;
    }
  }
}

/** A block id that ends in a decimal counter: its prefix, the counter's width and value. */
export function counterOf(blockId: string): { prefix: Buffer; width: number; number: bigint } | undefined {
  const bytes = Buffer.from(blockId, "base64");
  let start = bytes.length;
  while (start > 0 && (bytes[start - 1] ?? 0) >= 0x30 && (bytes[start - 1] ?? 0) <= 0x39) start--;
  const width = bytes.length - start;
  if (width === 0) return undefined;
  return {
    prefix: bytes.subarray(0, start),
    width,
    number: BigInt(bytes.subarray(start).toString("latin1")),
  };
}
