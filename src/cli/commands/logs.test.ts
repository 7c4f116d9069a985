import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../engine/events.js";
import { FileRunRecordStore } from "../../local/run-record-store.js";
import type { RunRecordSummary } from "../../store/run-records.js";
import type { Style } from "../style.js";
import { formatRunList, runLogs, selectJobs, selectRun, type LogsIO, type LogsOptions } from "./logs.js";

const at = "2025-06-14T10:00:00.000Z";
const PLAIN_STYLE: Style = {
  bold: String,
  dim: String,
  red: String,
  green: String,
  yellow: String,
  cyan: String,
};

function capture(): { io: LogsIO; out: () => string; err: () => string } {
  let out = "";
  let err = "";
  const stream = (append: (s: string) => void): NodeJS.WritableStream =>
    ({
      isTTY: false,
      write: (chunk: string): boolean => {
        append(chunk);
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  return {
    io: { stdout: stream((s) => (out += s)), stderr: stream((s) => (err += s)), env: {} },
    out: () => out,
    err: () => err,
  };
}

/** A run of two jobs, the second a matrix leg named `test (3.10)`. */
function eventsOf(runId: string, runNumber: number, conclusion: "success" | "failure"): RunEvent[] {
  return [
    {
      type: "run-started",
      runId,
      runNumber,
      workflow: "CI",
      workflowPath: ".github/workflows/ci.yml",
      event: "push",
      ref: "refs/heads/main",
      sha: "abc",
      at,
    },
    { type: "job-started", jobId: "lint", name: "lint", at },
    { type: "job-started", jobId: "test-1", name: "test (3.10)", at },
    { type: "log", jobId: "lint", step: null, text: "linting", kind: "output", stream: "stdout", at },
    { type: "log", jobId: "test-1", step: null, text: "testing", kind: "output", stream: "stdout", at },
    {
      type: "job-finished",
      jobId: "lint",
      name: "lint",
      result: "success",
      ran: true,
      durationMs: 500,
      outputs: {},
      at,
    },
    {
      type: "job-finished",
      jobId: "test-1",
      name: "test (3.10)",
      result: conclusion,
      ran: true,
      durationMs: 900,
      outputs: {},
      at,
    },
    { type: "run-finished", conclusion, durationMs: 1000, at },
  ];
}

/** A repository with three recorded runs: CI #1 (failure), CI #2 (success), Nightly #1 (unfinished). */
async function repository(): Promise<{ directory: string; ids: string[] }> {
  const directory = mkdtempSync(join(tmpdir(), "conveyor-logs-"));
  let clock = Date.parse(at);
  const store = new FileRunRecordStore(join(directory, ".conveyor"), () => new Date((clock += 60_000)));
  const ids: string[] = [];
  for (const conclusion of ["failure", "success"] as const) {
    const run = await store.startRun({
      workflow: "CI",
      workflowPath: ".github/workflows/ci.yml",
      event: "push",
    });
    for (const e of eventsOf(run.runId, run.runNumber, conclusion)) run.recorder.record(e);
    await run.recorder.close();
    ids.push(run.runId);
  }
  const nightly = await store.startRun({
    workflow: "Nightly",
    workflowPath: ".github/workflows/nightly.yml",
    event: "schedule",
  });
  await nightly.recorder.close();
  ids.push(nightly.runId);
  return { directory, ids };
}

const options = (directory: string, more: Partial<LogsOptions> = {}): LogsOptions => ({
  directory,
  json: false,
  color: false,
  expand: false,
  ...more,
});

describe("conveyor logs", () => {
  it("explains that nothing was recorded when there is no .conveyor folder", async () => {
    const c = capture();
    const code = await runLogs(options(mkdtempSync(join(tmpdir(), "conveyor-empty-"))), c.io);
    expect(code).toBe(1);
    expect(c.err()).toBe("error: no runs recorded here yet: run `conveyor run` first\n");
    expect(c.out()).toBe("");
  });

  it("says so when the folder holds no run yet", async () => {
    const directory = mkdtempSync(join(tmpdir(), "conveyor-empty-"));
    mkdirSync(join(directory, ".conveyor"));
    const c = capture();
    expect(await runLogs(options(directory), c.io)).toBe(0);
    expect(c.out()).toBe("no runs recorded here yet: run `conveyor run` first\n");
  });

  it("lists the recorded runs, newest first", async () => {
    const { directory, ids } = await repository();
    const c = capture();
    expect(await runLogs(options(directory), c.io)).toBe(0);
    const rows = c.out().trimEnd().split("\n");
    expect(rows[0]).toMatch(/^Run +Workflow +Event +Result +Started +Duration +Id$/);
    expect(rows.slice(1).map((r) => r.split(/ {2,}/))).toEqual([
      ["#1", "Nightly", "schedule", "? unfinished", expect.stringMatching(/^2025-06-14 \d\d:03:00$/), ids[2]],
      ["#2", "CI", "push", "✓ success", expect.stringMatching(/^2025-06-14 \d\d:02:00$/), "1.0s", ids[1]],
      ["#1", "CI", "push", "✗ failure", expect.stringMatching(/^2025-06-14 \d\d:01:00$/), "1.0s", ids[0]],
    ]);
  });

  it("lists the runs as JSON", async () => {
    const { directory, ids } = await repository();
    const c = capture();
    await runLogs(options(directory, { json: true }), c.io);
    const parsed = JSON.parse(c.out()) as { runs: RunRecordSummary[] };
    expect(parsed.runs.map((r) => r.runId)).toEqual([...ids].reverse());
  });

  it("replays the newest run through the renderer", async () => {
    const { directory } = await repository();
    const c = capture();
    // `last` is the Nightly run, which never finished: the replay says so.
    expect(await runLogs(options(directory, { run: "last" }), c.io)).toBe(0);
    expect(c.out()).toBe(
      "\n? Run did not finish (the record stops here: the process ended mid-run, or the run is still going)\n",
    );
  });

  it("replays a run by number, and only the jobs named", async () => {
    const { directory, ids } = await repository();
    const c = capture();
    expect(await runLogs(options(directory, { run: "#1", job: "test" }), c.io)).toBe(1);
    // #1 is the newest run numbered 1: Nightly. Ask CI's by id instead.
    const d = capture();
    expect(await runLogs(options(directory, { run: ids[0] as string, job: "test" }), d.io)).toBe(0);
    expect(d.out().split("\n")).toEqual([
      "CI #1 · push · .github/workflows/ci.yml",
      "[test (3.10)] testing",
      "[test (3.10)] ✗ Job failed (0.9s)",
      "",
      "Jobs",
      "  ✗ test (3.10)  failure  0.9s",
      "",
      "✗ Run failed after 1.0s",
      "",
    ]);
    expect(c.err()).toContain("no job 'test' in this run: it recorded no jobs");
  });

  it("prints a run's events as JSON, one a line", async () => {
    const { directory, ids } = await repository();
    const c = capture();
    await runLogs(options(directory, { run: "2", json: true, job: "lint" }), c.io);
    const events = c
      .out()
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as RunEvent);
    expect(events).toEqual(
      eventsOf(ids[1] as string, 2, "success").filter((e) => !("jobId" in e) || e.jobId === "lint"),
    );
  });

  it("names the recent runs when the one asked for is unknown", async () => {
    const { directory } = await repository();
    const c = capture();
    expect(await runLogs(options(directory, { run: "9" }), c.io)).toBe(1);
    const lines = c.err().trimEnd().split("\n");
    expect(lines[0]).toBe("error: no run #9 recorded here");
    expect(lines[1]).toBe("recent runs:");
    expect(lines).toHaveLength(6);
  });

  it("names the run's jobs when the job asked for is unknown", async () => {
    const { directory } = await repository();
    const c = capture();
    expect(await runLogs(options(directory, { run: "2", job: "deploy" }), c.io)).toBe(1);
    expect(c.err()).toBe("error: no job 'deploy' in this run; its jobs: lint, test (3.10) (test-1)\n");
  });
});

describe("selectRun", () => {
  const summary = (runId: string, runNumber: number): RunRecordSummary => ({
    runId,
    runNumber,
    workflow: "CI",
    workflowPath: "ci.yml",
    event: "push",
    startedAt: at,
  });
  const runs = [
    summary("20250614T100300000Z-cccccc", 1),
    summary("20250614T100200000Z-bbbbbb", 2),
    summary("20250614T100100000Z-aaaaaa", 1),
  ];
  const id = (selector: string): string => {
    const r = selectRun(runs, selector);
    return r.ok ? r.value.runId : r.message;
  };

  it("takes last, N, #N (the newest with that number), an id, or a unique start of one", () => {
    expect(id("last")).toBe("20250614T100300000Z-cccccc");
    expect(id("1")).toBe("20250614T100300000Z-cccccc");
    expect(id("#2")).toBe("20250614T100200000Z-bbbbbb");
    expect(id("20250614T100100000Z-aaaaaa")).toBe("20250614T100100000Z-aaaaaa");
    expect(id("20250614T1001")).toBe("20250614T100100000Z-aaaaaa");
  });

  it("says what is wrong otherwise", () => {
    // All digits is a run number, never the start of an id.
    expect(id("2025")).toBe("no run #2025 recorded here");
    expect(id("20250614T")).toBe("'20250614T' starts 3 run ids: give more of the id");
    expect(id("nope")).toBe("no run 'nope' recorded here");
    expect(selectRun([], "last")).toEqual({ ok: false, message: "no runs recorded here yet" });
  });
});

describe("selectJobs", () => {
  const jobs = [
    { id: "build", name: "build" },
    { id: "test-1", name: "test (3.10)" },
    { id: "test-2", name: "test (3.11)" },
    { id: "test", name: "Unit tests" },
  ];
  const ids = (selector: string): string[] | string => {
    const r = selectJobs(jobs, selector);
    return r.ok ? [...r.value] : r.message;
  };

  it("prefers an exact id or name, else every job whose name starts so (ignoring case)", () => {
    expect(ids("test")).toEqual(["test"]);
    expect(ids("test (3.11)")).toEqual(["test-2"]);
    expect(ids("TEST (")).toEqual(["test-1", "test-2"]);
    expect(ids("unit")).toEqual(["test"]);
  });
});

describe("formatRunList", () => {
  it("shows a run still going (or killed) as unfinished, without a duration", () => {
    const text = formatRunList(
      [{ runId: "r", runNumber: 3, workflow: "W", workflowPath: "w.yml", event: "push", startedAt: at }],
      PLAIN_STYLE,
      () => "then",
    );
    expect(text.split("\n")[1]).toBe("#3   W         push   ? unfinished  then               r");
  });
});
