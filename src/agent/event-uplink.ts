/**
 * Carries one job's event stream to the server: numbers each event from seq 1, gathers them into
 * batches, keeps every row until the server acknowledges it, and sends again from the first row
 * not acknowledged after a partial acknowledgement or a 409.
 *
 * When a batch goes: once 256 rows or 64 KiB have gathered, or the oldest has waited 20 ms; at
 * once for the job's first rows and for a step start (the server measures time to first step),
 * and while someone awaits `flush()`. One request is in flight per job; the next batch gathers
 * meanwhile, and a request carries everything gathered up to `requestBytes`, so throughput does
 * not hang on the round trip time.
 *
 * Memory: rows not yet acknowledged beyond `memoryBytes` go to a spool file (row-spool.ts) and come
 * back in order as acknowledgements free room. Back-pressure on the job is not possible here: the
 * job runner's sink is a synchronous callback fed by the step's output.
 */
import type { RunEvent, RunEventSink } from "../engine/events.js";
import { encodeEventRow, encodeEventRows } from "./protocol-client.js";
import type { EncodedEventRows, EventsAnswer } from "./protocol-client.js";
import { RowBytes } from "./row-bytes.js";
import { RowSpool } from "./row-spool.js";

export interface UplinkLimits {
  /** A batch is ready at this many rows... */
  readonly batchRows: number;
  /** ...or this many bytes... */
  readonly batchBytes: number;
  /** ...or when its oldest row has waited this long. */
  readonly lingerMs: number;
  /**
   * The most one request carries (a single larger row still goes, alone). The server's body limit
   * must allow this plus one row: log lines are cut at 1 MiB (src/runner/line-splitter.ts).
   */
  readonly requestBytes: number;
  /** Unacknowledged rows kept in memory; past this they wait in the spool file. */
  readonly memoryBytes: number;
}

export const DEFAULT_UPLINK_LIMITS: UplinkLimits = {
  batchRows: 256,
  batchBytes: 64 * 1024,
  lingerMs: 20,
  requestBytes: 4 * 1024 * 1024,
  memoryBytes: 16 * 1024 * 1024,
};

const UPLINK_CLOSED = new Error("the runner stopped before the job's events were delivered");

export interface EventUplinkOptions {
  /** Sends one batch; retrying a server that cannot be reached is its business (protocol-client.ts). */
  readonly send: (rows: EncodedEventRows, signal: AbortSignal) => Promise<EventsAnswer>;
  /** Where rows wait when they do not fit in memory (created only then). */
  readonly spoolPath: string;
  /** The server said the job is cancelled (told once). */
  readonly onCancel?: () => void;
  /** The server refused the rows for good (an unknown job, a lost lease): nothing more will be sent. */
  readonly onFailure?: (error: Error) => void;
  readonly limits?: Partial<UplinkLimits>;
}

export class EventUplink {
  private readonly limits: UplinkLimits;
  /** Rows from `acknowledged + 1` on, in order, in memory; the rest, if any, in the spool. */
  private readonly rows: RowBytes;
  private readonly spool: RowSpool;
  private lastSeqValue = 0;
  private acknowledgedValue = 0;
  /** The highest seq any request has carried, and where that row ends in `rows`. */
  private sentSeq = 0;
  private sentEnd = 0;
  private firstUnsentAt = 0;
  private urgent = false;
  private pumpQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  /** Answers in a row that acknowledged nothing new. */
  private stalls = 0;
  private cancelled = false;
  private failure: Error | undefined;
  private dropped = 0;
  private readonly stopping = new AbortController();
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly options: EventUplinkOptions) {
    this.limits = { ...DEFAULT_UPLINK_LIMITS, ...options.limits };
    this.spool = new RowSpool(options.spoolPath);
    this.rows = new RowBytes(Math.min(1024 * 1024, Math.max(16 * 1024, this.limits.memoryBytes / 8)));
  }

  /** The job runner's sink. */
  readonly emit: RunEventSink = (event: RunEvent): void => {
    if (this.failure) {
      this.dropped++;
      return;
    }
    const seq = ++this.lastSeqValue;
    const json = encodeEventRow(seq, event);
    if (seq - 1 === this.sentSeq) this.firstUnsentAt = performance.now();
    if (this.spool.holdsRows || this.rows.bytes + json.length > this.limits.memoryBytes)
      this.spool.append(json);
    else this.rows.append(json);
    if (seq === 1 || event.type === "step-started") this.urgent = true;
    if (this.inFlight) return; // the answer starts the next request
    if (this.batchReady()) this.queuePump();
    else this.timer ??= setTimeout(() => this.onTimer(), this.limits.lingerMs);
  };

  /** The seq of the last row emitted (what `complete` reports as `lastSeq`). */
  get lastSeq(): number {
    return this.lastSeqValue;
  }

  get acknowledged(): number {
    return this.acknowledgedValue;
  }

  /** Bytes of unacknowledged rows held in memory (the rest are in the spool). */
  get memoryBytes(): number {
    return this.rows.bytes;
  }

  /** Resolves once every row emitted so far is acknowledged; rejects if the server refused them. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.acknowledgedValue === this.lastSeqValue) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.pump();
    });
  }

  /**
   * The server holds rows only up to `acknowledged` (a 409 from `complete`): send again from the
   * row after it. Rows before it were dropped once acknowledged; a server that lost those fails the uplink.
   */
  resendFrom(acknowledged: number): void {
    this.applyConflict(acknowledged);
    this.pump();
  }

  /** Stops sending and drops what is held (the runner is going away); pending flushes reject. */
  close(): void {
    // One error for every uplink: the runner closes one per job, and an error (or the
    // DOMException abort() makes without a reason) captures a stack each time.
    this.stopping.abort(UPLINK_CLOSED);
    this.fail(UPLINK_CLOSED);
  }

  private queuePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    // A microtask, not at once: rows emitted in the same turn (a step's start and its first lines) go together.
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private onTimer(): void {
    this.timer = undefined;
    this.pump();
  }

  private pump(): void {
    if (this.inFlight || this.failure) return;
    if (this.acknowledgedValue === this.lastSeqValue) {
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      return;
    }
    const waited = performance.now() - this.firstUnsentAt;
    const ready =
      this.batchReady() ||
      this.waiters.length > 0 ||
      this.sentSeq > this.acknowledgedValue || // a partial acknowledgement: what is missing goes now
      waited >= this.limits.lingerMs;
    if (!ready) {
      this.timer ??= setTimeout(() => this.onTimer(), Math.max(1, this.limits.lingerMs - waited));
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    void this.send();
  }

  /** Enough has gathered to send without waiting for the linger time. */
  private batchReady(): boolean {
    return (
      this.urgent ||
      this.spool.holdsRows || // far behind already
      this.lastSeqValue - this.sentSeq >= this.limits.batchRows ||
      this.rows.end - this.sentEnd >= this.limits.batchBytes
    );
  }

  private async send(): Promise<void> {
    if (this.rows.count === 0) this.refill();
    const batch = this.rows.first(this.limits.requestBytes);
    if (batch.rows === 0) return;
    const before = this.acknowledgedValue;
    const lastSeq = this.acknowledgedValue + batch.rows;
    if (lastSeq > this.sentSeq) {
      this.sentSeq = lastSeq;
      this.sentEnd = batch.end;
      if (this.lastSeqValue > this.sentSeq) this.firstUnsentAt = performance.now();
    }
    this.urgent = false;
    this.inFlight = true;
    let answer: EventsAnswer;
    try {
      answer = await this.options.send(encodeEventRows(batch.parts), this.stopping.signal);
    } catch (e) {
      this.inFlight = false;
      if (!this.stopping.signal.aborted) this.fail(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    this.inFlight = false;
    if (answer.kind === "conflict") this.applyConflict(answer.acknowledged);
    else {
      this.applyAcknowledged(answer.acknowledged, lastSeq);
      if (answer.cancel && !this.cancelled) {
        this.cancelled = true;
        this.options.onCancel?.();
      }
    }
    if (this.acknowledgedValue > before) this.stalls = 0;
    else if (answer.kind === "acknowledged" && answer.cancel && this.stalls >= 2) {
      // A job the server ended (cancelled, its lease lost) takes no more rows: stop offering them.
      this.fail(new Error("the server takes no more events for this job: it has ended there."));
    } else if (!this.failure) {
      // The server took nothing this time: wait a little before sending the same rows again.
      this.stalls++;
      const wait = Math.min(1000, this.limits.lingerMs * 2 ** Math.min(this.stalls, 10));
      this.timer ??= setTimeout(() => this.onTimer(), wait);
      return;
    }
    this.pump();
  }

  private applyAcknowledged(acknowledged: number, sentUpTo: number): void {
    if (acknowledged < this.acknowledgedValue) {
      this.lost(acknowledged);
      return;
    }
    this.dropThrough(Math.min(acknowledged, sentUpTo));
  }

  private applyConflict(acknowledged: number): void {
    if (this.failure) return;
    if (acknowledged < this.acknowledgedValue) {
      this.lost(acknowledged);
      return;
    }
    this.dropThrough(acknowledged);
    // Everything after what the server holds is sent again.
    this.sentSeq = this.acknowledgedValue;
    this.sentEnd = this.rows.start;
    this.firstUnsentAt = performance.now();
  }

  /** Rows up to `seq` are the server's now: forget them, and take rows back from the spool into the room made. */
  private dropThrough(seq: number): void {
    // Only rows in memory were ever sent: an acknowledgement past them is the server's mistake.
    const count = Math.min(seq - this.acknowledgedValue, this.rows.count);
    if (count <= 0) return;
    this.rows.drop(count);
    this.acknowledgedValue += count;
    this.sentEnd = Math.max(this.sentEnd, this.rows.start);
    this.refill();
  }

  private refill(): void {
    while (this.spool.holdsRows && this.rows.bytes < this.limits.memoryBytes / 2) {
      this.rows.appendLines(this.spool.read(this.limits.memoryBytes / 2));
    }
  }

  private lost(acknowledged: number): void {
    this.fail(
      new Error(
        `the server holds this job's events only up to row ${acknowledged}, but had acknowledged up to row ${this.acknowledgedValue}: rows it had acknowledged are lost.`,
      ),
    );
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.rows.drop(this.rows.count);
    this.spool.close();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    if (!this.stopping.signal.aborted) this.options.onFailure?.(error);
  }

  /** Events emitted after the uplink failed (they could not be sent). */
  get droppedEvents(): number {
    return this.dropped;
  }
}
