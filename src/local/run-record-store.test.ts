import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events.js";
import { FileRunRecordStore, isRunId, readEventFile, workflowKey } from "./run-record-store.js";

const CI = { workflow: "CI", workflowPath: ".github/workflows/ci.yml", event: "push" };
const at = "2025-06-14T10:00:00.000Z";

function tempRoot(): string {
  return join(mkdtempSync(join(tmpdir(), "conveyor-records-")), ".conveyor");
}

async function collect(events: AsyncIterable<RunEvent> | undefined): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  if (events) for await (const e of events) out.push(e);
  return out;
}

const line = (text: string): RunEvent => ({
  type: "log",
  jobId: "a",
  step: 1,
  text,
  kind: "output",
  stream: "stdout",
  at,
});

describe("FileRunRecordStore", () => {
  it("records a run's events and its summary, at start and at close", async () => {
    const root = tempRoot();
    const store = new FileRunRecordStore(root, () => new Date(at));
    const { runId, runNumber, recorder } = await store.startRun(CI);
    expect(runNumber).toBe(1);
    expect(isRunId(runId)).toBe(true);
    expect(runId.startsWith("20250614T100000000Z-")).toBe(true);

    const summaryFile = join(root, "runs", runId, "run.json");
    expect(JSON.parse(readFileSync(summaryFile, "utf8"))).toEqual({
      runId,
      runNumber: 1,
      ...CI,
      startedAt: at,
    });

    const events: RunEvent[] = [
      line("hello"),
      { type: "run-finished", conclusion: "failure", durationMs: 1234, at },
    ];
    for (const e of events) recorder.record(e);
    await recorder.close();
    expect(JSON.parse(readFileSync(summaryFile, "utf8"))).toMatchObject({
      conclusion: "failure",
      durationMs: 1234,
    });
    expect(await collect(store.readEvents(runId))).toEqual(events);
    // Records stay out of the user's commits.
    expect(readFileSync(join(root, ".gitignore"), "utf8")).toBe("*\n");
    // Logs are derived from the events: nothing else is written.
    expect(readdirSync(join(root, "runs", runId)).sort()).toEqual(["events.ndjson", "run.json"]);
  });

  it("numbers runs per workflow file", async () => {
    const store = new FileRunRecordStore(tempRoot());
    const numbers: number[] = [];
    for (const path of ["a.yml", "a.yml", "b.yml", "a.yml"]) {
      const run = await store.startRun({ ...CI, workflowPath: path });
      await run.recorder.close();
      numbers.push(run.runNumber);
    }
    expect(numbers).toEqual([1, 2, 1, 3]);
  });

  it("never hands out a number twice when runs start at once", async () => {
    const root = tempRoot();
    const runs = await Promise.all(
      Array.from({ length: 25 }, () => new FileRunRecordStore(root).startRun(CI)),
    );
    await Promise.all(runs.map((r) => r.recorder.close()));
    expect(runs.map((r) => r.runNumber).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    expect(new Set(runs.map((r) => r.runId)).size).toBe(25);
  });

  it("never hands out a number twice to two processes", async () => {
    const root = tempRoot();
    const here = dirname(fileURLToPath(import.meta.url));
    const bundle = join(mkdtempSync(join(tmpdir(), "conveyor-store-bundle-")), "store.mjs");
    buildSync({
      entryPoints: [resolve(here, "run-record-store.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: bundle,
      logLevel: "error",
    });
    const script = `
      const { FileRunRecordStore } = await import(${JSON.stringify(bundle)});
      const store = new FileRunRecordStore(${JSON.stringify(root)});
      // Both processes start their runs at once, so their allocations overlap in time.
      const runs = await Promise.all(Array.from({ length: 20 }, () =>
        store.startRun({ workflow: "CI", workflowPath: ".github/workflows/ci.yml", event: "push" })));
      await Promise.all(runs.map((run) => run.recorder.close()));
      process.stdout.write(JSON.stringify(runs.map((run) => run.runNumber)));
    `;
    const child = (): Promise<number[]> =>
      new Promise((done, fail) => {
        const p = spawn(process.execPath, ["--input-type=module", "-e", script], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        p.stdout.on("data", (c: Buffer) => (out += c.toString()));
        p.stderr.on("data", (c: Buffer) => (err += c.toString()));
        p.on("close", (code) => (code === 0 ? done(JSON.parse(out) as number[]) : fail(new Error(err))));
      });
    const [first, second] = await Promise.all([child(), child()]);
    const all = [...(first ?? []), ...(second ?? [])].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("lists runs newest first, skipping folders that hold no run", async () => {
    const root = tempRoot();
    let clock = Date.parse(at);
    const store = new FileRunRecordStore(root, () => new Date((clock += 1000)));
    const ids: string[] = [];
    for (const path of ["a.yml", "b.yml", "a.yml"]) {
      const run = await store.startRun({ ...CI, workflowPath: path });
      await run.recorder.close();
      ids.push(run.runId);
    }
    // An artifact-only folder, or a run killed between mkdir and its summary.
    writeFileSync(join(root, "runs", "README"), "not a run");
    const listed = await store.listRuns();
    expect(listed.map((r) => r.runId)).toEqual([...ids].reverse());
    expect(listed.map((r) => [r.workflowPath, r.runNumber])).toEqual([
      ["a.yml", 2],
      ["b.yml", 1],
      ["a.yml", 1],
    ]);
  });

  it("lists nothing, and reads nothing, where nothing was recorded", async () => {
    const store = new FileRunRecordStore(tempRoot());
    expect(await store.listRuns()).toEqual([]);
    expect(store.readEvents("20250614T100000000Z-abcdef")).toBeUndefined();
  });

  it("refuses run ids that are not its own, so no path leaves the root", () => {
    const store = new FileRunRecordStore(tempRoot());
    for (const id of ["../x", "..", "", "a/b", "20250614T100000000Z-abcdef/../../etc"])
      expect(store.readEvents(id)).toBeUndefined();
  });

  it("skips a torn last line from a killed process instead of failing", async () => {
    const root = tempRoot();
    const store = new FileRunRecordStore(root);
    const { runId, recorder } = await store.startRun(CI);
    recorder.record(line("one"));
    recorder.record(line("two"));
    await recorder.close();
    const file = join(root, "runs", runId, "events.ndjson");
    appendFileSync(file, '{"type":"log","jobId":"a","st');
    expect((await collect(store.readEvents(runId))).map((e) => (e.type === "log" ? e.text : e.type))).toEqual(
      ["one", "two"],
    );
    // The summary of a run that never closed has no conclusion.
    expect((await store.listRuns())[0]?.conclusion).toBeUndefined();
  });

  it("skips a corrupted complete line and keeps reading", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "conveyor-events-")), "events.ndjson");
    writeFileSync(file, `${JSON.stringify(line("a"))}\nnot json\n42\n${JSON.stringify(line("b"))}\n`);
    expect((await collect(readEventFile(file))).map((e) => (e.type === "log" ? e.text : ""))).toEqual([
      "a",
      "b",
    ]);
  });

  it("reads lines split across read chunks and multi-byte characters at chunk edges", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "conveyor-events-")), "events.ndjson");
    const texts = Array.from({ length: 3000 }, (_, i) => `${i} ${"é✓".repeat(i % 50)}`);
    writeFileSync(file, texts.map((t) => JSON.stringify(line(t)) + "\n").join(""));
    const read = await collect(readEventFile(file));
    expect(read.map((e) => (e.type === "log" ? e.text : ""))).toEqual(texts);
  });

  it("writes to disk as events come, keeping only one small batch in memory", async () => {
    const root = tempRoot();
    const store = new FileRunRecordStore(root);
    const { runId, recorder } = await store.startRun(CI);
    const file = join(root, "runs", runId, "events.ndjson");
    const text = "z".repeat(1000);
    for (let i = 0; i < 20_000; i++) recorder.record(line(text));
    // About 22 MB recorded: all but the last partial batch (under 64 KiB) is on disk before close.
    const total = 20_000 * (JSON.stringify(line(text)).length + 1);
    expect(statSync(file).size).toBeGreaterThan(total - 64 * 1024);
    await recorder.close();
    expect(statSync(file).size).toBe(total);
  });

  it("writes a partial batch soon, so a running run can be followed", async () => {
    const root = tempRoot();
    const { runId, recorder } = await new FileRunRecordStore(root).startRun(CI);
    recorder.record(line("early"));
    const file = join(root, "runs", runId, "events.ndjson");
    expect(statSync(file).size).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(statSync(file).size).toBeGreaterThan(0);
    await recorder.close();
  });

  it("can be closed twice and ignores events after close", async () => {
    const root = tempRoot();
    const store = new FileRunRecordStore(root);
    const { runId, recorder } = await store.startRun(CI);
    recorder.record(line("kept"));
    await recorder.close();
    recorder.record(line("late"));
    await recorder.close();
    expect(await collect(store.readEvents(runId))).toHaveLength(1);
  });
});

describe("workflowKey", () => {
  it("is one file name, never . or .., and a digest when the path is long", () => {
    expect(workflowKey(".github/workflows/ci.yml")).toBe("%2Egithub%2Fworkflows%2Fci.yml");
    expect(workflowKey("..")).toBe("%2E.");
    expect(workflowKey("w/".repeat(100) + "x.yml")).toMatch(/^[0-9a-f]{64}$/);
  });
});
