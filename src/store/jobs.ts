/**
 * Jobs: the queue runners take from (claims and leases live here, never only in a process's
 * memory), their event streams (log chunks) and their steps.
 */
import { promisify } from "node:util";
import { createInterface } from "node:readline";
import { createGunzip, gunzipSync, gzip, gzipSync } from "node:zlib";
import type { Kysely, Selectable } from "kysely";
import type { BlobStore } from "./blobs.js";
import type { RunEvent } from "../engine/events.js";
import type { Database } from "./schema.js";
import { nextValue, timestamp } from "./counters.js";
import { indexNotes } from "./job-notes.js";
import type { Conclusion } from "./runs.js";

/** `waiting`: held back by its environment's protection rules or its concurrency group; not yet for runners. */
export type JobStatus = "waiting" | "queued" | "in_progress" | "completed";

export interface JobRecord {
  readonly id: number;
  readonly runId: number;
  readonly attempt: number;
  readonly key: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly conclusion: Conclusion | "skipped" | null;
  readonly labels: readonly string[];
  /** JSON: what the runner needs beyond the run's definition. */
  readonly assignment: string;
  readonly runnerId: number | null;
  readonly leaseExpiresAt: string | null;
  readonly cancelRequested: boolean;
  readonly acknowledgedSeq: number;
  readonly outputs: Readonly<Record<string, string>> | null;
  readonly reason: string | null;
  readonly kept: boolean;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface StepRecord {
  readonly number: number;
  readonly name: string;
  readonly status: "in_progress" | "completed";
  readonly conclusion: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface NewJob {
  readonly runId: number;
  readonly attempt: number;
  readonly key: string;
  readonly name: string;
  readonly labels: readonly string[];
  readonly assignment: string;
  /** Held back (status `waiting`) until released: runners do not see it. */
  readonly waiting?: boolean;
}

/** A numbered event of a job's stream. */
export interface EventRow {
  readonly seq: number;
  readonly event: RunEvent;
  /** The event as JSON (text, or its UTF-8 bytes), when the request already held it: stored as it is. */
  readonly json?: string | Buffer;
}

/**
 * A row to store: an event, or a log line's JSON bytes alone. Log lines read from a runner's
 * request are checked without being parsed (src/server/http/event-rows.ts): nothing the store
 * does with a row looks inside a log line.
 */
export type EventRowInput =
  EventRow | { readonly seq: number; readonly event?: undefined; readonly json: Buffer };

/** A lease to extend while storing rows: the job's, if `runnerId` still holds it. */
export interface LeaseExtension {
  readonly runnerId: number;
  readonly seconds: number;
}

export type AppendResult =
  | { readonly kind: "acknowledged"; readonly acknowledged: number; readonly cancel: boolean }
  | { readonly kind: "gap"; readonly acknowledged: number }
  | { readonly kind: "not-running" };

export type CompleteResult =
  | { readonly kind: "completed"; readonly job: JobRecord }
  | { readonly kind: "already-completed"; readonly job: JobRecord }
  | { readonly kind: "rows-missing"; readonly acknowledged: number };

export interface JobEnd {
  readonly conclusion: Conclusion | "skipped";
  readonly outputs?: Readonly<Record<string, string>>;
  readonly reason?: string;
}

/** A claim looks at most this many of the oldest queued jobs for ones the runner can take... */
const CLAIM_SCAN_LIMIT = 500;
/** ...reading them this many at a time. */
const CLAIM_PAGE = 32;

const gzipAsync = promisify(gzip);

/**
 * How a chunk of rows is stored: their JSON one a line, each line ending in a newline, as one gzip
 * member at zlib's fastest level. Compressing a megabyte costs a few milliseconds; storing it
 * uncompressed cost SQLite several times that. Members one after the other are one gzip file, so
 * a finished log's archive can be its chunks as they are.
 */
function packLogChunk(lines: readonly (string | Buffer)[]): { body: string; body_gzip: Buffer } {
  // Pieces of bytes, not one joined string: a request's rows arrive as bytes, and joining them as
  // text then encoding it back to UTF-8 cost as much as compressing it.
  const pieces: Buffer[] = [];
  for (const line of lines) pieces.push(typeof line === "string" ? Buffer.from(line, "utf8") : line, NEWLINE);
  return { body: "", body_gzip: gzipSync(Buffer.concat(pieces), { level: 1 }) };
}

const NEWLINE = Buffer.from("\n");

/** A stored chunk's rows, one JSON text each (chunks from before migration 0009 are plain text). */
function logChunkLines(chunk: { body: string; body_gzip: Buffer | null }): string[] {
  if (chunk.body_gzip === null) return chunk.body.split("\n");
  const text = gunzipSync(chunk.body_gzip).toString("utf8");
  return text.slice(0, -1).split("\n");
}

/** Below this many compressed bytes a chunk on average, a log is compressed again as a whole. */
const SMALL_CHUNK_BYTES = 4096;

/**
 * A finished log's archive (gzip, line n being row n) from its chunks in order: their gzip members
 * one after the other. A log of many small chunks (a job printing a line now and then) compresses
 * poorly piece by piece, so it is compressed again as a whole, as are chunks stored as plain text.
 */
async function archiveOf(chunks: readonly { body: string; body_gzip: Buffer | null }[]): Promise<Buffer> {
  const packed = chunks.every((c) => c.body_gzip !== null);
  const bytes = chunks.reduce((sum, c) => sum + (c.body_gzip?.length ?? 0), 0);
  if (packed && chunks.length > 0 && bytes >= SMALL_CHUNK_BYTES * chunks.length) {
    return Buffer.concat(chunks.map((c) => c.body_gzip as Buffer));
  }
  const lines = chunks.flatMap((c) => logChunkLines(c));
  return gzipAsync(Buffer.from(lines.map((line) => line + "\n").join(""), "utf8"));
}

export class JobStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly blobs: BlobStore,
  ) {}

  /** Queues a job once: a second call with the same run, attempt and key changes nothing. */
  async ensureQueued(job: NewJob): Promise<JobRecord> {
    const existing = await this.byKey(job.runId, job.attempt, job.key);
    if (existing) return existing;
    const id = await nextValue(this.db, "jobs");
    await this.db
      .insertInto("jobs")
      .values({ ...this.newRow(id, job), status: job.waiting === true ? "waiting" : "queued" })
      .onConflict((oc) => oc.columns(["run_id", "attempt", "job_key"]).doNothing())
      .execute();
    return (await this.byKey(job.runId, job.attempt, job.key)) as JobRecord;
  }

  /**
   * Records a job that ended without running (skipped, cancelled while queued, or failed before it
   * could start), or ends a queued one that way. A job already completed keeps its result.
   */
  async settle(job: Omit<NewJob, "assignment" | "labels">, end: JobEnd): Promise<JobRecord> {
    const existing = await this.byKey(job.runId, job.attempt, job.key);
    const at = timestamp();
    if (!existing) {
      const id = await nextValue(this.db, "jobs");
      await this.db
        .insertInto("jobs")
        .values({
          ...this.newRow(id, { ...job, labels: [], assignment: "{}" }),
          status: "completed",
          conclusion: end.conclusion,
          outputs: JSON.stringify(end.outputs ?? {}),
          reason: end.reason ?? null,
          finished_at: at,
        })
        .onConflict((oc) => oc.columns(["run_id", "attempt", "job_key"]).doNothing())
        .execute();
    } else if (existing.status !== "completed") {
      await this.finish(existing.id, end);
    }
    return (await this.byKey(job.runId, job.attempt, job.key)) as JobRecord;
  }

  /** Copies an earlier attempt's finished job into a new attempt ("re-run failed jobs" keeps it). */
  async keep(from: JobRecord, attempt: number): Promise<JobRecord> {
    const existing = await this.byKey(from.runId, attempt, from.key);
    if (existing) return existing;
    const id = await nextValue(this.db, "jobs");
    await this.db
      .insertInto("jobs")
      .values({
        ...this.newRow(id, { ...from, attempt }),
        status: "completed",
        conclusion: from.conclusion,
        outputs: JSON.stringify(from.outputs ?? {}),
        kept: 1,
        started_at: from.startedAt,
        finished_at: from.finishedAt,
      })
      .onConflict((oc) => oc.columns(["run_id", "attempt", "job_key"]).doNothing())
      .execute();
    return (await this.byKey(from.runId, attempt, from.key)) as JobRecord;
  }

  async byId(id: number): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toJob(row);
  }

  async byKey(runId: number, attempt: number, key: string): Promise<JobRecord | undefined> {
    const row = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("run_id", "=", runId)
      .where("attempt", "=", attempt)
      .where("job_key", "=", key)
      .executeTakeFirst();
    return row && toJob(row);
  }

  async forRun(runId: number, attempt?: number): Promise<JobRecord[]> {
    let query = this.db.selectFrom("jobs").selectAll().where("run_id", "=", runId);
    if (attempt !== undefined) query = query.where("attempt", "=", attempt);
    const rows = await query.orderBy("attempt").orderBy("id").execute();
    return rows.map(toJob);
  }

  /** Lets a waiting job go to the queue; false when it was not waiting (released already, or ended). */
  async release(id: number): Promise<boolean> {
    const result = await this.db
      .updateTable("jobs")
      .set({ status: "queued" })
      .where("id", "=", id)
      .where("status", "=", "waiting")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Jobs held back by protection rules or concurrency, oldest first. */
  async waiting(limit = 500): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("status", "=", "waiting")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  /**
   * Writes events into the log of a job no runner has taken (why it ended before running), after
   * any rows it has. A job a runner holds writes its own log; this changes nothing then.
   */
  async noteWithoutRunner(jobId: number, events: readonly RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      const job = await trx
        .selectFrom("jobs")
        .select(["status", "acknowledged_seq", "runner_id"])
        .where("id", "=", jobId)
        .executeTakeFirst();
      if (!job || job.runner_id !== null) return;
      const first = job.acknowledged_seq + 1;
      await trx
        .insertInto("log_chunks")
        .values({
          job_id: jobId,
          first_seq: first,
          last_seq: first + events.length - 1,
          ...packLogChunk(events.map((e) => JSON.stringify(e))),
        })
        .execute();
      await indexNotes(
        trx,
        jobId,
        events.map((event, i) => ({ seq: first + i, event })),
      );
      await trx
        .updateTable("jobs")
        .set({ acknowledged_seq: first + events.length - 1 })
        .where("id", "=", jobId)
        .execute();
    });
  }

  /** Queued jobs, oldest first. */
  async queued(limit = 500): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("status", "=", "queued")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  /** The jobs leased to one runner and not finished. */
  async inProgressFor(runnerId: number): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("runner_id", "=", runnerId)
      .where("status", "=", "in_progress")
      .execute();
    return rows.map(toJob);
  }

  /** Jobs runners are running now. */
  async running(): Promise<JobRecord[]> {
    const rows = await this.db.selectFrom("jobs").selectAll().where("status", "=", "in_progress").execute();
    return rows.map(toJob);
  }

  /**
   * Leases up to `max` queued jobs whose labels the runner has, oldest first. Each claim is a
   * conditional update, so two servers (or two polls) never lease the same job.
   */
  async claim(
    runnerId: number,
    runnerLabels: readonly string[],
    max: number,
    leaseSeconds: number,
  ): Promise<JobRecord[]> {
    if (max <= 0) return [];
    const has = new Set(runnerLabels.map((l) => l.toLowerCase()));
    const claimed: JobRecord[] = [];
    // The queue is read a page at a time, and only what choosing needs: a runner polls for every
    // job it takes, and a long queue read whole each time was most of a poll's cost.
    let after = 0;
    for (let scanned = 0; claimed.length < max && scanned < CLAIM_SCAN_LIMIT;) {
      const page = await this.db
        .selectFrom("jobs")
        .select(["id", "labels", "cancel_requested"])
        .where("status", "=", "queued")
        .where("id", ">", after)
        .orderBy("id")
        .limit(Math.min(CLAIM_PAGE, CLAIM_SCAN_LIMIT - scanned))
        .execute();
      if (page.length === 0) break;
      scanned += page.length;
      after = (page[page.length - 1] as { id: number }).id;
      for (const job of page) {
        if (claimed.length >= max) break;
        const labels = JSON.parse(job.labels) as string[];
        if (job.cancel_requested === 1 || !labels.every((l) => has.has(l.toLowerCase()))) continue;
        const leased = await this.lease(job.id, runnerId, leaseSeconds);
        if (leased) claimed.push(leased);
      }
    }
    return claimed;
  }

  /** Leases one queued job to the runner, if it is still queued. */
  private async lease(id: number, runnerId: number, leaseSeconds: number): Promise<JobRecord | undefined> {
    const at = Date.now();
    const result = await this.db
      .updateTable("jobs")
      .set({
        status: "in_progress",
        runner_id: runnerId,
        started_at: timestamp(at),
        lease_expires_at: timestamp(at + leaseSeconds * 1000),
      })
      .where("id", "=", id)
      .where("status", "=", "queued")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1 ? this.byId(id) : undefined;
  }

  /** Extends the leases of the runner's running jobs; returns those it still holds. */
  async extendLeases(
    runnerId: number,
    jobIds: readonly number[],
    leaseSeconds: number,
  ): Promise<JobRecord[]> {
    if (jobIds.length === 0) return [];
    await this.db
      .updateTable("jobs")
      .set({ lease_expires_at: timestamp(Date.now() + leaseSeconds * 1000) })
      .where("id", "in", [...jobIds])
      .where("runner_id", "=", runnerId)
      .where("status", "=", "in_progress")
      .execute();
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("id", "in", [...jobIds])
      .execute();
    return rows.map(toJob);
  }

  /** Running jobs whose lease ran out before `now`. */
  async expiredLeases(now: number = Date.now()): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("status", "=", "in_progress")
      .where("lease_expires_at", "<", timestamp(now))
      .execute();
    return rows.map(toJob);
  }

  /** Puts a leased job that never started back in the queue. */
  async requeue(id: number): Promise<boolean> {
    const result = await this.db
      .updateTable("jobs")
      .set({ status: "queued", runner_id: null, lease_expires_at: null, started_at: null })
      .where("id", "=", id)
      .where("status", "=", "in_progress")
      .where("acknowledged_seq", "=", 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async requestCancel(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable("jobs")
      .set({ cancel_requested: 1 })
      .where("id", "in", [...ids])
      .where("status", "!=", "completed")
      .execute();
  }

  /**
   * Stores a chunk of a job's event stream. Rows at or below the acknowledged seq are ignored (a
   * resend); a first new row beyond the next expected one is a gap, refused; step events update
   * the job's steps, whose states only move forward. Durable when this returns. With `lease`,
   * the job's lease is extended too, in the same transaction.
   */
  async appendEvents(
    jobId: number,
    rows: readonly EventRowInput[],
    lease?: LeaseExtension,
  ): Promise<AppendResult> {
    return this.db.transaction().execute(async (trx) => {
      const job = await trx
        .selectFrom("jobs")
        .select(["status", "acknowledged_seq", "cancel_requested", "runner_id"])
        .where("id", "=", jobId)
        .executeTakeFirst();
      if (!job || job.status !== "in_progress") return { kind: "not-running" } as const;
      // In the same write as the rows: a separate one per request cost as much as storing them.
      const extended =
        lease && job.runner_id === lease.runnerId
          ? { lease_expires_at: timestamp(Date.now() + lease.seconds * 1000) }
          : undefined;
      const fresh = rows.filter((r) => r.seq > job.acknowledged_seq).sort((a, b) => a.seq - b.seq);
      let expected = job.acknowledged_seq + 1;
      const accepted: EventRowInput[] = [];
      for (const row of fresh) {
        if (row.seq < expected) continue; // a duplicate within the request
        if (row.seq > expected) break;
        accepted.push(row);
        expected++;
      }
      if (fresh.length > 0 && accepted.length === 0) {
        return { kind: "gap", acknowledged: job.acknowledged_seq } as const;
      }
      if (accepted.length > 0) {
        const first = accepted[0] as EventRowInput;
        const last = accepted[accepted.length - 1] as EventRowInput;
        await trx
          .insertInto("log_chunks")
          .values({
            job_id: jobId,
            first_seq: first.seq,
            last_seq: last.seq,
            ...packLogChunk(accepted.map((r) => r.json ?? JSON.stringify(r.event))),
          })
          .execute();
        await trx
          .updateTable("jobs")
          .set({ acknowledged_seq: last.seq, ...extended })
          .where("id", "=", jobId)
          .execute();
        const events = accepted.filter((r): r is EventRow => r.event !== undefined);
        await projectSteps(trx, jobId, events);
        await indexNotes(trx, jobId, events);
      } else if (extended) {
        await trx.updateTable("jobs").set(extended).where("id", "=", jobId).execute();
      }
      return {
        kind: "acknowledged",
        acknowledged:
          accepted.length > 0 ? (accepted[accepted.length - 1] as EventRowInput).seq : job.acknowledged_seq,
        cancel: job.cancel_requested === 1,
      } as const;
    });
  }

  /**
   * A job's events from `fromSeq` on, as their stored JSON text, streamed: an archived log is
   * decompressed while it is read, so the first rows come at once however long the log is (the
   * dashboard reads whole logs this way). Nothing is parsed here.
   */
  async *eventTexts(jobId: number, fromSeq = 1): AsyncGenerator<{ seq: number; json: string }> {
    let next = fromSeq;
    for (;;) {
      const archived = await this.db
        .selectFrom("jobs")
        .select("log_blob")
        .where("id", "=", jobId)
        .executeTakeFirst();
      const stream = archived?.log_blob ? await this.blobs.read(archived.log_blob) : undefined;
      if (stream) {
        // The archive holds one event a line, line n being seq n.
        const gunzip = createGunzip();
        try {
          let seq = 0;
          for await (const line of createInterface({ input: stream.pipe(gunzip), crlfDelay: Infinity })) {
            seq++;
            if (seq >= next && line !== "") yield { seq, json: line };
          }
        } finally {
          // A reader that stops early (a page is full, a follower went away) leaves nothing open.
          stream.destroy();
          gunzip.destroy();
        }
        return;
      }
      const read = yield* this.chunkTexts(jobId, next);
      if (read.complete) return;
      // The log was archived while it was read (its rows deleted part-way): the rest is in the blob.
      next = read.next;
    }
  }

  /**
   * Rows from the log's chunks in the database, from `fromSeq` on. Complete unless the chunks ran
   * out before the job's acknowledged rows did, which happens when the log is archived meanwhile.
   */
  private async *chunkTexts(
    jobId: number,
    fromSeq: number,
  ): AsyncGenerator<{ seq: number; json: string }, { complete: boolean; next: number }> {
    for (let next = fromSeq; ;) {
      const chunks = await this.db
        .selectFrom("log_chunks")
        .selectAll()
        .where("job_id", "=", jobId)
        .where("last_seq", ">=", next)
        .orderBy("first_seq")
        .limit(64)
        .execute();
      if (chunks.length === 0 || (chunks[0] as { first_seq: number }).first_seq > next) {
        const job = await this.db
          .selectFrom("jobs")
          .select(["acknowledged_seq", "log_blob"])
          .where("id", "=", jobId)
          .executeTakeFirst();
        const missing = job !== undefined && job.log_blob !== null && job.acknowledged_seq >= next;
        return { complete: !missing, next };
      }
      for (const chunk of chunks) {
        const lines = logChunkLines(chunk);
        for (let i = 0; i < lines.length; i++) {
          const seq = chunk.first_seq + i;
          if (seq >= next) yield { seq, json: lines[i] as string };
        }
        next = chunk.last_seq + 1;
      }
    }
  }

  /**
   * A job's events from `fromSeq` on (at most `limit`), in order. Read as `eventTexts` streams
   * them: an archived log is decompressed only as far as the page goes, never held whole.
   */
  async events(jobId: number, fromSeq = 1, limit = 10_000): Promise<EventRow[]> {
    const rows: EventRow[] = [];
    if (limit <= 0) return rows;
    for await (const { seq, json } of this.eventTexts(jobId, Math.max(1, fromSeq))) {
      rows.push({ seq, event: JSON.parse(json) as RunEvent });
      if (rows.length >= limit) break;
    }
    return rows;
  }

  /**
   * Moves a finished job's log out of the database into one compressed blob (line n is row n),
   * then drops its chunks. Safe to repeat; a crash between the steps leaves both, and reads prefer
   * the blob.
   */
  async archiveLog(jobId: number): Promise<boolean> {
    const job = await this.db
      .selectFrom("jobs")
      .select(["status", "log_blob"])
      .where("id", "=", jobId)
      .executeTakeFirst();
    if (!job || job.status !== "completed") return false;
    if (!job.log_blob) {
      const chunks = await this.db
        .selectFrom("log_chunks")
        .select(["body", "body_gzip"])
        .where("job_id", "=", jobId)
        .orderBy("first_seq")
        .execute();
      const key = `logs/${jobId}.ndjson.gz`;
      await this.blobs.put(key, await archiveOf(chunks));
      await this.db.updateTable("jobs").set({ log_blob: key }).where("id", "=", jobId).execute();
    }
    await this.db.deleteFrom("log_chunks").where("job_id", "=", jobId).execute();
    return true;
  }

  async steps(jobId: number): Promise<StepRecord[]> {
    const rows = await this.db
      .selectFrom("steps")
      .selectAll()
      .where("job_id", "=", jobId)
      .orderBy("number")
      .execute();
    return rows.map((r) => ({
      number: r.number,
      name: r.name,
      status: r.status === "completed" ? "completed" : "in_progress",
      conclusion: r.conclusion,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    }));
  }

  /**
   * Ends a running job with the runner's outcome: refused while rows up to `lastSeq` are not all
   * acknowledged; a second identical completion is accepted and changes nothing.
   */
  async complete(id: number, lastSeq: number, end: JobEnd): Promise<CompleteResult | undefined> {
    const job = await this.byId(id);
    if (!job) return undefined;
    if (job.status === "completed") return { kind: "already-completed", job };
    if (job.acknowledgedSeq < lastSeq) return { kind: "rows-missing", acknowledged: job.acknowledgedSeq };
    await this.finish(id, end);
    return { kind: "completed", job: (await this.byId(id)) as JobRecord };
  }

  /** Ends a job that is not completed yet; false when it already was. */
  async finish(id: number, end: JobEnd): Promise<boolean> {
    const result = await this.db
      .updateTable("jobs")
      .set({
        status: "completed",
        conclusion: end.conclusion,
        outputs: JSON.stringify(end.outputs ?? {}),
        reason: end.reason ?? null,
        finished_at: timestamp(),
        lease_expires_at: null,
      })
      .where("id", "=", id)
      .where("status", "!=", "completed")
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    // Steps the runner never finished end with the job.
    await this.db
      .updateTable("steps")
      .set({ status: "completed", conclusion: "cancelled", finished_at: timestamp() })
      .where("job_id", "=", id)
      .where("status", "!=", "completed")
      .execute();
    return true;
  }

  private newRow(id: number, job: NewJob) {
    return {
      id,
      run_id: job.runId,
      attempt: job.attempt,
      job_key: job.key,
      name: job.name,
      conclusion: null,
      labels: JSON.stringify(job.labels),
      assignment: job.assignment,
      runner_id: null,
      lease_expires_at: null,
      cancel_requested: 0,
      acknowledged_seq: 0,
      outputs: null,
      reason: null,
      kept: 0,
      created_at: timestamp(),
      started_at: null,
      finished_at: null,
    };
  }
}

/** Steps follow `step-started` and `step-finished` events; a step never moves back. */
async function projectSteps(db: Kysely<Database>, jobId: number, rows: readonly EventRow[]): Promise<void> {
  for (const { event } of rows) {
    if (event.type === "step-started") {
      await db
        .insertInto("steps")
        .values({
          job_id: jobId,
          number: event.step,
          name: event.name,
          status: "in_progress",
          conclusion: null,
          started_at: event.at,
          finished_at: null,
        })
        .onConflict((oc) => oc.columns(["job_id", "number"]).doNothing())
        .execute();
    } else if (event.type === "step-finished") {
      await db
        .insertInto("steps")
        .values({
          job_id: jobId,
          number: event.step,
          name: event.name,
          status: "completed",
          conclusion: event.conclusion,
          started_at: null,
          finished_at: event.at,
        })
        .onConflict((oc) =>
          oc.columns(["job_id", "number"]).doUpdateSet({
            status: "completed",
            conclusion: event.conclusion,
            finished_at: event.at,
          }),
        )
        .execute();
    }
  }
}

function toJob(row: Selectable<Database["jobs"]>): JobRecord {
  return {
    id: row.id,
    runId: row.run_id,
    attempt: row.attempt,
    key: row.job_key,
    name: row.name,
    status: row.status as JobStatus,
    conclusion: row.conclusion as JobRecord["conclusion"],
    labels: JSON.parse(row.labels) as string[],
    assignment: row.assignment,
    runnerId: row.runner_id,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequested: row.cancel_requested === 1,
    acknowledgedSeq: row.acknowledged_seq,
    outputs: row.outputs === null ? null : (JSON.parse(row.outputs) as Record<string, string>),
    reason: row.reason,
    kept: row.kept === 1,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
