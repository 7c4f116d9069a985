import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events.js";
import { MAX_ANNOTATIONS_PER_JOB } from "./job-notes.js";
import { openServerStore } from "./server-store.js";
import type { ServerStore } from "./server-store.js";

let dir: string;
let store: ServerStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "conveyor-notes-"));
  store = await openServerStore(dir);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const at = "2026-01-01T00:00:00.000Z";
const line = (text: string): RunEvent => ({
  type: "log",
  jobId: "build#0",
  step: 1,
  text,
  kind: "output",
  stream: "stdout",
  at,
});
const warning = (message: string): RunEvent => ({
  type: "annotation",
  jobId: "build#0",
  step: 1,
  level: "warning",
  message,
  file: "src/a.ts",
  line: 3,
  at,
});
const summary: RunEvent = { type: "step-summary", jobId: "build#0", step: 1, markdown: "# done", at };

const newRun = () =>
  store.runs.create({
    repositoryId: 1,
    workflowPath: ".github/workflows/ci.yml",
    workflowName: "CI",
    event: "push",
    ref: "refs/heads/main",
    sha: "a".repeat(40),
    actor: "alice",
    title: "first",
    definition: "{}",
  });

async function runningJob(key = "build#0") {
  const run = await newRun();
  await store.jobs.ensureQueued({ runId: run.id, attempt: 1, key, name: key, labels: [], assignment: "{}" });
  const [job] = await store.jobs.claim(1, [], 1, 60);
  if (!job) throw new Error("nothing to claim");
  return job;
}

describe("the notes index", () => {
  it("keeps a job's annotations and summaries as its rows are stored, once each, in log order", async () => {
    const job = await runningJob();
    const rows = [line("a"), warning("first"), line("b"), summary, warning("second")].map((event, i) => ({
      seq: i + 1,
      event,
    }));
    await store.jobs.appendEvents(job.id, rows.slice(0, 3));
    // A resend overlapping what was acknowledged indexes nothing twice.
    await store.jobs.appendEvents(job.id, rows);
    const notes = (await store.jobNotes.forJobs([job.id])).get(job.id);
    expect(notes?.annotations.map((a) => [a.seq, a.event.message])).toEqual([
      [2, "first"],
      [5, "second"],
    ]);
    expect(notes?.annotations[0]?.event).toMatchObject({ level: "warning", file: "src/a.ts", line: 3 });
    expect(notes?.summaries).toEqual([{ seq: 4, event: summary }]);
    expect(notes?.annotationsOmitted).toBe(0);
    // Archiving the log leaves the index as it was.
    await store.jobs.finish(job.id, { conclusion: "success" });
    await store.jobs.archiveLog(job.id);
    expect((await store.jobNotes.forJobs([job.id])).get(job.id)).toEqual(notes);
  });

  it(`keeps at most ${MAX_ANNOTATIONS_PER_JOB} annotations a job and counts the rest`, async () => {
    const job = await runningJob();
    const rows = Array.from({ length: MAX_ANNOTATIONS_PER_JOB + 7 }, (_, i) => ({
      seq: i + 1,
      event: warning(`w${i + 1}`),
    }));
    for (let i = 0; i < rows.length; i += 300) await store.jobs.appendEvents(job.id, rows.slice(i, i + 300));
    await store.jobs.appendEvents(job.id, [{ seq: rows.length + 1, event: summary }]);
    const notes = (await store.jobNotes.forJobs([job.id])).get(job.id);
    expect(notes?.annotations).toHaveLength(MAX_ANNOTATIONS_PER_JOB);
    expect(notes?.annotations.at(-1)?.event.message).toBe(`w${MAX_ANNOTATIONS_PER_JOB}`);
    expect(notes?.annotationsOmitted).toBe(7);
    expect(notes?.summaries).toHaveLength(1);
  });

  it("indexes what the server writes for a job no runner took", async () => {
    const run = await newRun();
    const job = await store.jobs.ensureQueued({
      runId: run.id,
      attempt: 1,
      key: "deploy#0",
      name: "deploy",
      labels: [],
      assignment: "{}",
      waiting: true,
    });
    await store.jobs.noteWithoutRunner(job.id, [line("rejected"), warning("the deployment was rejected")]);
    const notes = (await store.jobNotes.forJobs([job.id])).get(job.id);
    expect(notes?.annotations).toEqual([{ seq: 2, event: warning("the deployment was rejected") }]);
  });

  it("leaves out jobs older than the index, whose logs must be read instead", async () => {
    const older = await runningJob("older#0");
    await store.jobs.appendEvents(older.id, [{ seq: 1, event: warning("old") }]);
    await store.close();
    // As a database migrated when this job already existed would say.
    const db = new Sqlite(join(dir, "conveyor.db"));
    db.prepare("UPDATE counters SET value = ? WHERE name = 'first_job_with_notes'").run(older.id + 1);
    db.close();
    store = await openServerStore(dir);
    const newer = await runningJob("newer#0");
    const notes = await store.jobNotes.forJobs([older.id, newer.id]);
    expect([...notes.keys()]).toEqual([newer.id]);
    expect(notes.get(newer.id)?.annotations).toEqual([]);
  });
});
