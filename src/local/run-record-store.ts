/**
 * Runs recorded as plain files for `conveyor run`, under a root folder (`<repo>/.conveyor`):
 *
 *   runs/<runId>/run.json                 the summary: written at start, rewritten at close
 *   runs/<runId>/events.ndjson            the run's events, one JSON object a line (the whole truth)
 *   run-numbers/<workflow path>/<N>       one empty-ish file per number handed out, holding the run id
 *
 * Run ids are `<UTC time to the millisecond>-<6 random hex digits>` (`20250614T101502123Z-3fa9c1`):
 * unique across processes without coordination, and sorting them sorts runs by start time.
 *
 * Run numbers count per workflow file, as GitHub's do. A number is taken by creating its file with
 * O_EXCL: of two processes that try the same number, exactly one succeeds and the other tries the
 * next. No lock is held, so a process killed at any moment leaves nothing stale behind.
 *
 * Per-step log files are not written: `conveyor logs <run> <job>` derives them from the events at
 * read time. Writing them too would double the disk traffic of a step that prints a gigabyte, and
 * two copies could disagree.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, writeSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { RunConclusion, RunEvent } from "../engine/events.js";
import type { NewRun, RunRecorder, RunRecordStore, RunRecordSummary } from "../store/run-records.js";

/** Events are written in batches of this many bytes (or sooner, see FLUSH_AFTER_MS). */
const BATCH_BYTES = 64 * 1024;
/** A partial batch is written this soon, so `conveyor logs` of a running run sees recent lines. */
const FLUSH_AFTER_MS = 200;
/** Longest file name used for a workflow path; file systems stop at 255 bytes. */
const MAX_KEY_LENGTH = 150;

export class FileRunRecordStore implements RunRecordStore {
  constructor(
    private readonly root: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async startRun(run: NewRun): Promise<{ runId: string; runNumber: number; recorder: RunRecorder }> {
    const runs = join(this.root, "runs");
    await mkdir(runs, { recursive: true });
    const started = this.now();
    const numbers = join(this.root, "run-numbers", workflowKey(run.workflowPath));
    // Made at once, as none needs another: the run's folder, the numbers' folder, and the ignore
    // file (records are local state, never something to commit).
    const [runId] = await Promise.all([
      createRunDirectory(runs, started),
      mkdir(numbers, { recursive: true }),
      writeFile(join(this.root, ".gitignore"), "*\n", { flag: "wx" }).catch(() => undefined),
    ]);
    const runNumber = await allocateRunNumber(numbers, runId);
    const summary: RunRecordSummary = {
      runId,
      runNumber,
      workflow: run.workflow,
      workflowPath: run.workflowPath,
      event: run.event,
      startedAt: started.toISOString(),
    };
    const directory = join(runs, runId);
    await writeSummary(directory, summary);
    const recorder = new FileRunRecorder(directory, summary);
    return { runId, runNumber, recorder };
  }

  async listRuns(): Promise<RunRecordSummary[]> {
    const runs = join(this.root, "runs");
    const ids = await readdir(runs).catch(() => [] as string[]);
    const summaries = await Promise.all(ids.filter(isRunId).map((id) => readSummary(join(runs, id))));
    return summaries
      .filter((s): s is RunRecordSummary => s !== undefined)
      .sort((a, b) => compareDesc(a.startedAt, b.startedAt) || compareDesc(a.runId, b.runId));
  }

  readEvents(runId: string): AsyncIterable<RunEvent> | undefined {
    if (!isRunId(runId)) return undefined;
    const file = join(this.root, "runs", runId, "events.ndjson");
    if (!existsSync(file)) return undefined;
    return readEventFile(file);
  }
}

/** True for a name `startRun` could have made: also keeps `..` and slashes out of paths. */
export function isRunId(name: string): boolean {
  return /^\d{8}T\d{9}Z-[0-9a-f]{6}$/.test(name);
}

function newRunId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:.]/g, "");
  // Not a secret and not needed unique: mkdir sees a clash and another id is drawn. (Math.random
  // spares a short `conveyor run` loading node:crypto.)
  const suffix = Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, "0");
  return `${stamp}-${suffix}`;
}

async function createRunDirectory(runs: string, at: Date): Promise<string> {
  for (;;) {
    const runId = newRunId(at);
    try {
      // Not recursive: mkdir fails when the folder exists, so a clash is seen, never shared.
      await mkdir(join(runs, runId));
      return runId;
    } catch (e) {
      if (errorCode(e) !== "EEXIST") throw e;
    }
  }
}

/**
 * Next free number for one workflow (its folder exists): the highest taken plus one, retried
 * upwards on a clash.
 */
async function allocateRunNumber(directory: string, runId: string): Promise<number> {
  const taken = await readdir(directory);
  let number = taken.reduce((max, name) => (/^\d+$/.test(name) ? Math.max(max, Number(name)) : max), 0) + 1;
  for (;;) {
    try {
      await writeFile(join(directory, String(number)), runId + "\n", { flag: "wx" });
      return number;
    } catch (e) {
      if (errorCode(e) !== "EEXIST") throw e;
      number++;
    }
  }
}

/** A workflow path as one file name: readable when short, a digest when too long. */
export function workflowKey(workflowPath: string): string {
  // A leading dot escaped too: a path of `.` or `..` must not name a folder above.
  const encoded = encodeURIComponent(workflowPath).replace(/^\./, "%2E");
  return encoded.length <= MAX_KEY_LENGTH ? encoded : createHash("sha256").update(workflowPath).digest("hex");
}

async function writeSummary(directory: string, summary: RunRecordSummary): Promise<void> {
  // Written aside and renamed, so a reader never sees half a summary.
  const temporary = join(directory, `run.json.${process.pid}.tmp`);
  await writeFile(temporary, JSON.stringify(summary, null, 2) + "\n");
  await rename(temporary, join(directory, "run.json"));
}

async function readSummary(directory: string): Promise<RunRecordSummary | undefined> {
  const text = await readFile(join(directory, "run.json"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isSummary(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isSummary(value: unknown): value is RunRecordSummary {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.runId === "string" &&
    typeof v.runNumber === "number" &&
    typeof v.workflow === "string" &&
    typeof v.workflowPath === "string" &&
    typeof v.event === "string" &&
    typeof v.startedAt === "string"
  );
}

/**
 * Appends events to `events.ndjson`. `record()` is synchronous (the engine's sink cannot wait), so
 * a write stream could only absorb a fast producer by growing without bound. Instead events gather
 * in one batch of at most BATCH_BYTES that is written with a synchronous write when full (or after
 * FLUSH_AFTER_MS): memory stays at one batch however much a step prints, order is kept, and a
 * local file write of 64 KiB costs microseconds.
 */
export class FileRunRecorder implements RunRecorder {
  private fd: number | undefined;
  private batch: string[] = [];
  private batchBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private conclusion: RunConclusion | undefined;
  private durationMs: number | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly directory: string,
    private readonly summary: RunRecordSummary,
  ) {
    this.fd = openSync(join(directory, "events.ndjson"), "a");
  }

  record(event: RunEvent): void {
    if (this.fd === undefined || this.failure) return;
    if (event.type === "run-finished") {
      this.conclusion = event.conclusion;
      this.durationMs = event.durationMs;
    }
    const line = JSON.stringify(event) + "\n";
    this.batch.push(line);
    this.batchBytes += line.length;
    if (this.batchBytes >= BATCH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_AFTER_MS);
      this.timer.unref();
    }
  }

  /** Flushes, closes the file and rewrites run.json; a failure to write any of it rejects. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    this.flush();
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      try {
        fsyncSync(fd);
      } catch {
        // fsync is a courtesy (some file systems refuse it); the data was written.
      }
      closeSync(fd);
    }
    await writeSummary(this.directory, {
      ...this.summary,
      ...(this.conclusion !== undefined ? { conclusion: this.conclusion } : {}),
      ...(this.durationMs !== undefined ? { durationMs: this.durationMs } : {}),
    });
    if (this.failure) throw new Error(`could not record the run's events: ${this.failure.message}`);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch.length === 0 || this.fd === undefined) return;
    const data = Buffer.from(this.batch.join(""));
    this.batch = [];
    this.batchBytes = 0;
    try {
      let written = 0;
      while (written < data.length) written += writeSync(this.fd, data, written);
    } catch (e) {
      // A full disk must not stop the run: stop recording and say so at close.
      this.failure = e instanceof Error ? e : new Error(String(e));
    }
  }
}

/**
 * Events of a file, read line by line in chunks. Only lines that end in a newline count: the tail
 * of a file whose writer was killed (or is still writing) is skipped, not an error. A complete line
 * that is not an event (a corrupted record) is skipped too, so a replay shows everything readable.
 */
export async function* readEventFile(file: string): AsyncGenerator<RunEvent> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) {
    pending += decoder.write(chunk as Buffer);
    let start = 0;
    for (let end = pending.indexOf("\n"); end !== -1; end = pending.indexOf("\n", start)) {
      const event = parseEvent(pending.slice(start, end));
      start = end + 1;
      if (event) yield event;
    }
    pending = pending.slice(start);
  }
}

function parseEvent(line: string): RunEvent | undefined {
  if (line.trim() === "") return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" &&
      value !== null &&
      typeof (value as { type?: unknown }).type === "string"
      ? (value as RunEvent)
      : undefined;
  } catch {
    return undefined;
  }
}

function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

function errorCode(cause: unknown): string | undefined {
  return cause instanceof Error && "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
}
