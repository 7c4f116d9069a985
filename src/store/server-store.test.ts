import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import Sqlite from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events.js";
import { MAX_ANNOTATIONS_PER_JOB } from "./job-notes.js";
import { openServerStore } from "./server-store.js";
import type { ServerStore } from "./server-store.js";

let dir: string;
let store: ServerStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "conveyor-store-"));
  store = await openServerStore(dir);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const newRun = (repositoryId: number, workflowPath = ".github/workflows/ci.yml") => ({
  repositoryId,
  workflowPath,
  workflowName: "CI",
  event: "push",
  ref: "refs/heads/main",
  sha: "a".repeat(40),
  actor: "alice",
  title: "first",
  definition: "{}",
});

const log = (text: string): RunEvent => ({
  type: "log",
  jobId: "build#0",
  step: 1,
  text,
  kind: "output",
  stream: "stdout",
  at: "2026-01-01T00:00:00.000Z",
});

async function queuedJob(key = "build#0", labels: string[] = ["linux"]) {
  const run = await store.runs.create(newRun(1));
  return store.jobs.ensureQueued({ runId: run.id, attempt: 1, key, name: key, labels, assignment: "{}" });
}

describe("ServerStore", () => {
  it("migrates an empty database and opens it again", async () => {
    await store.close();
    store = await openServerStore(dir);
    expect(await store.accounts.countUsers()).toBe(0);
  });

  it("numbers runs per workflow, and ids across the server", async () => {
    const a1 = await store.runs.create(newRun(1));
    const a2 = await store.runs.create(newRun(1));
    const b1 = await store.runs.create(newRun(1, ".github/workflows/other.yml"));
    const c1 = await store.runs.create(newRun(2));
    expect([a1.runNumber, a2.runNumber, b1.runNumber, c1.runNumber]).toEqual([1, 2, 1, 1]);
    expect(new Set([a1.id, a2.id, b1.id, c1.id]).size).toBe(4);
    expect((await store.runs.list({ repositoryId: 1 })).map((r) => r.id)).toEqual([b1.id, a2.id, a1.id]);
    expect((await store.runs.list({ workflow: "CI", limit: 2 })).length).toBe(2);
    expect((await store.runs.list({ before: a2.id })).map((r) => r.id)).toEqual([a1.id]);
  });

  it("stores tokens hashed and finds their user; revoked tokens stop working", async () => {
    const user = await store.accounts.createUser("alice", "correct horse", false);
    if (!user) throw new Error("alice was not created");
    expect(await store.accounts.createUser("ALICE", "another one", false)).toBeUndefined();
    const { token, info } = await store.accounts.createToken(user.id, "laptop");
    expect(token).toMatch(/^cvt_/);
    expect((await store.accounts.userForToken(token))?.login).toBe("alice");
    expect(await store.accounts.userForToken(token + "x")).toBeUndefined();
    expect(JSON.stringify(await store.accounts.listTokens(user.id))).not.toContain(token);
    expect(await store.accounts.revokeToken(user.id, info.id)).toBe(true);
    expect(await store.accounts.userForToken(token)).toBeUndefined();
    expect(await store.accounts.checkPassword("alice", "correct horse")).toMatchObject({ login: "alice" });
    expect(await store.accounts.checkPassword("alice", "wrong")).toBeUndefined();
  });

  it("leases a queued job once, only to a runner with all its labels", async () => {
    const job = await queuedJob("build#0", ["linux", "gpu"]);
    expect(await store.jobs.claim(7, ["linux"], 5, 60)).toEqual([]);
    const [claimed] = await store.jobs.claim(7, ["LINUX", "gpu", "x64"], 5, 60);
    expect(claimed).toMatchObject({ id: job.id, status: "in_progress", runnerId: 7 });
    expect(await store.jobs.claim(8, ["linux", "gpu"], 5, 60)).toEqual([]);
  });

  it("queues a job once however often the engine says so", async () => {
    const first = await queuedJob();
    const again = await store.jobs.ensureQueued({
      runId: first.runId,
      attempt: 1,
      key: first.key,
      name: "x",
      labels: [],
      assignment: "{}",
    });
    expect(again.id).toBe(first.id);
    expect(await store.jobs.forRun(first.runId)).toHaveLength(1);
  });

  it("acknowledges event rows in order: resends are ignored, gaps refused", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    const rows = [1, 2, 3].map((seq) => ({ seq, event: log(`line ${seq}`) }));
    expect(await store.jobs.appendEvents(job.id, rows.slice(0, 2))).toMatchObject({
      kind: "acknowledged",
      acknowledged: 2,
    });
    // A resend of 1-3 after a lost answer: 1 and 2 are ignored, 3 is new.
    expect(await store.jobs.appendEvents(job.id, rows)).toMatchObject({
      kind: "acknowledged",
      acknowledged: 3,
    });
    expect(await store.jobs.appendEvents(job.id, [{ seq: 5, event: log("line 5") }])).toEqual({
      kind: "gap",
      acknowledged: 3,
    });
    const stored = await store.jobs.events(job.id);
    expect(stored.map((r) => [r.seq, r.event.type === "log" ? r.event.text : ""])).toEqual([
      [1, "line 1"],
      [2, "line 2"],
      [3, "line 3"],
    ]);
    expect((await store.jobs.events(job.id, 2, 1)).map((r) => r.seq)).toEqual([2]);
  });

  it("refuses to complete a job before its rows are acknowledged, and accepts a repeated completion", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    await store.jobs.appendEvents(job.id, [{ seq: 1, event: log("a") }]);
    expect(await store.jobs.complete(job.id, 2, { conclusion: "success" })).toEqual({
      kind: "rows-missing",
      acknowledged: 1,
    });
    expect((await store.jobs.complete(job.id, 1, { conclusion: "success", outputs: { v: "1" } }))?.kind).toBe(
      "completed",
    );
    expect((await store.jobs.complete(job.id, 1, { conclusion: "success" }))?.kind).toBe("already-completed");
    expect((await store.jobs.byId(job.id))?.outputs).toEqual({ v: "1" });
  });

  it("moves steps only forward", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    const at = "2026-01-01T00:00:00.000Z";
    await store.jobs.appendEvents(job.id, [
      { seq: 1, event: { type: "step-started", jobId: "b", step: 1, name: "Build", at } },
      {
        seq: 2,
        event: {
          type: "step-finished",
          jobId: "b",
          step: 1,
          name: "Build",
          outcome: "success",
          conclusion: "success",
          durationMs: 5,
          at,
        },
      },
      // A late duplicate start must not reopen the step.
      { seq: 3, event: { type: "step-started", jobId: "b", step: 1, name: "Build", at } },
    ]);
    expect(await store.jobs.steps(job.id)).toMatchObject([
      { number: 1, status: "completed", conclusion: "success" },
    ]);
  });

  it("finds expired leases and requeues only jobs that never sent a row", async () => {
    const fresh = await queuedJob("a#0");
    const started = await queuedJob("b#0");
    await store.jobs.claim(1, ["linux"], 2, 1);
    await store.jobs.appendEvents(started.id, [{ seq: 1, event: log("x") }]);
    const expired = await store.jobs.expiredLeases(Date.now() + 5_000);
    expect(expired.map((j) => j.id).sort()).toEqual([fresh.id, started.id].sort());
    expect(await store.jobs.requeue(fresh.id)).toBe(true);
    expect(await store.jobs.requeue(started.id)).toBe(false);
    expect((await store.jobs.byId(fresh.id))?.status).toBe("queued");
  });

  it("records a webhook delivery once", async () => {
    expect(await store.repositories.recordDelivery("github:abc", 1, "push")).toBe(true);
    expect(await store.repositories.recordDelivery("github:abc", 1, "push")).toBe(false);
  });

  it("refuses a second repository of the same name, whatever its case", async () => {
    expect(await store.repositories.create({ owner: "alice", name: "app" })).toMatchObject({
      fullName: "alice/app",
    });
    expect(await store.repositories.create({ owner: "Alice", name: "App" })).toBeUndefined();
    expect((await store.repositories.byName("ALICE", "APP"))?.name).toBe("app");
  });

  it("registers runners with hashed credentials", async () => {
    const registration = await store.accounts.createRegistrationToken();
    expect(await store.accounts.isRegistrationToken(registration)).toBe(true);
    expect(await store.accounts.isRegistrationToken("cvg_nope")).toBe(false);
    const { runner, credential } = await store.accounts.registerRunner({
      name: "r1",
      labels: ["linux"],
      capacity: 2,
      os: "linux",
      arch: "x64",
    });
    expect((await store.accounts.runnerForCredential(credential))?.id).toBe(runner.id);
    expect(await store.accounts.runnerForCredential(credential.slice(0, -1))).toBeUndefined();
  });
});

describe("archived logs", () => {
  it("moves a finished job's log into a compressed blob and reads it back the same", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    const rows = Array.from({ length: 1000 }, (_, i) => ({ seq: i + 1, event: log(`line ${i + 1}`) }));
    await store.jobs.appendEvents(job.id, rows.slice(0, 600));
    await store.jobs.appendEvents(job.id, rows.slice(600));
    const before = await store.jobs.events(job.id, 1, 5000);
    expect(await store.jobs.archiveLog(job.id)).toBe(false); // still running
    await store.jobs.complete(job.id, 1000, { conclusion: "success" });
    expect(await store.jobs.archiveLog(job.id)).toBe(true);
    expect(await store.jobs.events(job.id, 1, 5000)).toEqual(before);
    expect((await store.jobs.events(job.id, 998, 10)).map((r) => r.seq)).toEqual([998, 999, 1000]);
    expect(await store.jobs.archiveLog(job.id)).toBe(true); // again: harmless
    expect((await store.jobs.events(job.id, 500, 2)).map((r) => r.seq)).toEqual([500, 501]);
  });

  it("stores chunks compressed, and archives them as they are when they are large enough", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    // Text that compresses poorly, so each chunk's gzip member is several kilobytes.
    const noise = (seq: number) => randomBytes(48).toString("base64") + ` ${seq}`;
    const rows = Array.from({ length: 600 }, (_, i) => ({ seq: i + 1, event: log(noise(i + 1)) }));
    for (let from = 0; from < rows.length; from += 200)
      await store.jobs.appendEvents(job.id, rows.slice(from, from + 200));
    const sqlite = new Sqlite(join(dir, "conveyor.db"), { readonly: true });
    const stored = sqlite.prepare("SELECT body, body_gzip FROM log_chunks ORDER BY first_seq").all() as {
      body: string;
      body_gzip: Buffer;
    }[];
    sqlite.close();
    expect(stored).toHaveLength(3);
    expect(stored.every((c) => c.body === "" && c.body_gzip.length > 4096)).toBe(true);
    expect(await store.jobs.events(job.id, 1, 5000)).toEqual(rows);

    await store.jobs.complete(job.id, 600, { conclusion: "success" });
    expect(await store.jobs.archiveLog(job.id)).toBe(true);
    const archive = (await store.blobs.get(`logs/${job.id}.ndjson.gz`)) as Buffer;
    expect(archive).toEqual(Buffer.concat(stored.map((c) => c.body_gzip))); // the members, as stored
    expect(gunzipSync(archive).toString("utf8")).toBe(
      rows.map((r) => JSON.stringify(r.event) + "\n").join(""),
    );
    expect(await store.jobs.events(job.id, 1, 5000)).toEqual(rows);
    const streamed: string[] = [];
    for await (const row of store.jobs.eventTexts(job.id)) streamed.push(row.json);
    expect(streamed).toEqual(rows.map((r) => JSON.stringify(r.event)));
  });

  it("reads and archives chunks stored as plain text before they were compressed", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    const rows = Array.from({ length: 30 }, (_, i) => ({ seq: i + 1, event: log(`line ${i + 1}`) }));
    await store.jobs.appendEvents(job.id, rows.slice(0, 10));
    // What an older server stored: the rows' JSON in `body`, one a line, no newline at the end.
    const sqlite = new Sqlite(join(dir, "conveyor.db"));
    sqlite.prepare("INSERT INTO log_chunks (job_id, first_seq, last_seq, body) VALUES (?, 11, 20, ?)").run(
      job.id,
      rows
        .slice(10, 20)
        .map((r) => JSON.stringify(r.event))
        .join("\n"),
    );
    sqlite.prepare("UPDATE jobs SET acknowledged_seq = 20 WHERE id = ?").run(job.id);
    sqlite.close();
    await store.jobs.appendEvents(job.id, rows.slice(20));
    expect(await store.jobs.events(job.id, 1, 100)).toEqual(rows);
    await store.jobs.complete(job.id, 30, { conclusion: "success" });
    expect(await store.jobs.archiveLog(job.id)).toBe(true);
    expect(await store.jobs.events(job.id, 1, 100)).toEqual(rows);
    expect((await store.jobs.events(job.id, 29, 100)).map((r) => r.seq)).toEqual([29, 30]);
  });

  it("reads pages of an archived log as far as they go, leaving nothing open", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    // Lines that do not compress: the archive is larger than one read of its file (1 MiB).
    const noise = () => randomBytes(75).toString("base64");
    const rows = Array.from({ length: 15_000 }, (_, i) => ({
      seq: i + 1,
      event: log(`${i + 1} ${noise()}`),
    }));
    for (let from = 0; from < rows.length; from += 5000)
      await store.jobs.appendEvents(job.id, rows.slice(from, from + 5000));
    await store.jobs.complete(job.id, 15_000, { conclusion: "success" });
    expect(await store.jobs.archiveLog(job.id)).toBe(true);
    const openFiles = () => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    for (let page = 0; page < 30; page++) {
      const from = 1 + page * 100;
      expect((await store.jobs.events(job.id, from, 3)).map((r) => r.seq)).toEqual([
        from,
        from + 1,
        from + 2,
      ]);
    }
    expect(await store.jobs.events(job.id, 14_999, 10)).toEqual(rows.slice(14_998));
    expect(await store.jobs.events(job.id, 15_001, 10)).toEqual([]);
    expect(openFiles()).toBeLessThanOrEqual(before);
  });

  it("streams a whole log that is archived while it is read", async () => {
    const job = await queuedJob();
    await store.jobs.claim(1, ["linux"], 1, 60);
    // One chunk a row: the reader takes 64 chunks at a time, so archiving deletes rows it has not read.
    for (let seq = 1; seq <= 200; seq++)
      await store.jobs.appendEvents(job.id, [{ seq, event: log(`line ${seq}`) }]);
    const reader = store.jobs.eventTexts(job.id);
    const seqs = [((await reader.next()).value as { seq: number }).seq];
    await store.jobs.finish(job.id, { conclusion: "success" });
    expect(await store.jobs.archiveLog(job.id)).toBe(true);
    for await (const row of reader) seqs.push(row.seq);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});

const warning = (message: string): RunEvent => ({
  type: "annotation",
  jobId: "build#0",
  step: 1,
  level: "warning",
  message,
  file: "src/a.ts",
  line: 3,
  at: "2026-01-01T00:00:00.000Z",
});
const summary: RunEvent = {
  type: "step-summary",
  jobId: "build#0",
  step: 1,
  markdown: "# done",
  at: "2026-01-01T00:00:00.000Z",
};

async function runningJob(key = "build#0") {
  await queuedJob(key);
  const [job] = await store.jobs.claim(1, ["linux"], 1, 60);
  if (!job) throw new Error("nothing to claim");
  return job;
}

describe("the notes index", () => {
  it("keeps a job's annotations and summaries as its rows are stored, once each, in log order", async () => {
    const job = await runningJob();
    const rows = [log("a"), warning("first"), log("b"), summary, warning("second")].map((event, i) => ({
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
    const run = await store.runs.create(newRun(1));
    const job = await store.jobs.ensureQueued({
      runId: run.id,
      attempt: 1,
      key: "deploy#0",
      name: "deploy",
      labels: [],
      assignment: "{}",
      waiting: true,
    });
    await store.jobs.noteWithoutRunner(job.id, [log("rejected"), warning("the deployment was rejected")]);
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
