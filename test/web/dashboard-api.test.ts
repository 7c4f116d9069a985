/**
 * The API routes the dashboard adds (src/server/http/dashboard-routes.ts): a run's job graph before
 * its jobs exist, the dispatchable workflows with typed inputs, repository settings, and clear
 * refusals naming what is wrong.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import type { RunEvent } from "../../src/engine/events.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ANNOTATIONS_PER_JOB } from "../../src/store/job-notes.js";
import { ConveyorServer } from "../../src/server/server.js";
import { isBranchName, topLevelJobId, withDependents } from "../../src/server/http/dashboard-routes.js";
import { api, eventually, git, gitRepositoryWith, pushUrl } from "../server/helpers.js";
import { repositoryIn, runningJob } from "../server/running-job.js";

let server: ConveyorServer;
let dataDir: string;
let admin: { url: string; token: string };

const WORKFLOW = `name: Pipeline
on:
  push:
  workflow_dispatch:
    inputs:
      target:
        type: choice
        options: [staging, production]
        description: where to
      dry:
        type: boolean
        default: true
      count:
        type: number
        default: 2
jobs:
  build:
    runs-on: no-such-runner
    steps: [{ run: "true" }]
  test:
    needs: build
    name: Tests
    runs-on: no-such-runner
    strategy: { matrix: { n: [1, 2] } }
    steps: [{ run: "true" }]
  deploy:
    needs: [test]
    runs-on: no-such-runner
    steps: [{ run: "true" }]
`;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "conveyor-dash-api-"));
  server = await ConveyorServer.start({
    dataDir,
    port: 0,
  });
  admin = { url: server.url, token: (await server.bootstrapAdmin("admin password"))?.token ?? "" };
  await api(admin, "/repos", { body: { name: "app" } });
  const project = gitRepositoryWith({
    ".github/workflows/pipeline.yml": WORKFLOW,
    ".github/workflows/broken.yml": "on: push\njobs: {",
  });
  expect(
    (await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/app"), "main"])).status,
  ).toBe(0);
}, 30_000);

afterAll(async () => {
  await server?.close();
});

describe("the dashboard's API", () => {
  it("gives a run's job graph from needs, including jobs not created yet", async () => {
    const runs = await eventually(
      () => api<{ runs: { id: number }[] }>(admin, "/repos/admin/app/runs"),
      (r) => r.body.runs.length === 1,
    );
    const runId = runs.body.runs[0]?.id as number;
    const graph = await api<{ jobs: unknown[] }>(admin, `/runs/${runId}/graph`);
    expect(graph.body.jobs).toEqual([
      { id: "build", name: "build", needs: [], calls: false },
      { id: "test", name: "Tests", needs: ["build"], calls: false },
      { id: "deploy", name: "deploy", needs: ["test"], calls: false },
    ]);
    const annotations = await api<{ annotations: unknown[]; summaries: unknown[] }>(
      admin,
      `/runs/${runId}/annotations`,
    );
    expect(annotations.body).toEqual({ annotations: [], summaries: [], omitted: [] });
    expect((await api<{ error: string }>(admin, `/runs/${runId}/annotations?attempt=7`)).body.error).toMatch(
      /attempt/,
    );
    expect((await api(admin, "/runs/999999/graph")).status).toBe(404);

    // A job of a run still running cannot be re-run.
    const run = await api<{ jobs: { id: number }[] }>(admin, `/runs/${runId}`);
    const rerun = await api<{ error: string }>(admin, `/jobs/${run.body.jobs[0]?.id}/rerun`, { body: {} });
    expect(rerun.status).toBe(409);
    expect(rerun.body.error).toMatch(/still running/);
  });

  it("lists the workflows with their typed dispatch inputs", async () => {
    const answer = await api<{
      ref: string;
      workflows: { path: string; dispatch: unknown; errors: number }[];
    }>(admin, "/repos/admin/app/workflows");
    expect(answer.body.ref).toBe("main");
    const pipeline = answer.body.workflows.find((w) => w.path.endsWith("pipeline.yml"));
    expect(pipeline?.dispatch).toEqual({
      inputs: [
        {
          name: "target",
          type: "choice",
          description: "where to",
          required: false,
          default: null,
          options: ["staging", "production"],
        },
        { name: "dry", type: "boolean", description: null, required: false, default: true, options: [] },
        { name: "count", type: "number", description: null, required: false, default: 2, options: [] },
      ],
    });
    expect(answer.body.workflows.find((w) => w.path.endsWith("broken.yml"))).toMatchObject({
      dispatch: null,
    });
    const none = await api<{ workflows: unknown[]; sha: null }>(admin, "/repos/admin/app/workflows?ref=nope");
    expect(none.body).toMatchObject({ sha: null, workflows: [] });
  });

  it("changes the default branch, refusing names git would not take", async () => {
    const changed = await api<{ defaultBranch: string }>(admin, "/repos/admin/app", {
      method: "PATCH",
      body: { defaultBranch: "release/1.x" },
    });
    expect(changed.body.defaultBranch).toBe("release/1.x");
    const bad = await api<{ error: string }>(admin, "/repos/admin/app", {
      method: "PATCH",
      body: { defaultBranch: "../x" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/defaultBranch/);
    const wrongType = await api<{ error: string }>(admin, "/repos/admin/app", {
      method: "PATCH",
      body: { defaultBranch: 3 },
    });
    expect(wrongType.body.error).toMatch(/'defaultBranch'/);
  });

  it("streams a whole log as NDJSON, from the database while the job runs and from its archive after", async () => {
    const job = await runningJob(server, await repositoryIn(server, "admin", "logs"), "refs/heads/main");
    const at = new Date().toISOString();
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      seq: i + 1,
      event: {
        type: "log" as const,
        jobId: "j",
        step: null,
        text: `line ${i + 1} "quoted" <b>`,
        kind: "output" as const,
        stream: "stdout" as const,
        at,
      },
    }));
    for (let i = 0; i < rows.length; i += 500)
      await server.store.jobs.appendEvents(job.id, rows.slice(i, i + 500));
    const read = async (query = "") => {
      const response = await fetch(`${server.url}/api/v1/jobs/${job.id}/logs/lines${query}`, {
        headers: { authorization: `Bearer ${admin.token}` },
      });
      expect(response.headers.get("content-type")).toMatch(/application\/x-ndjson/);
      const text = await response.text();
      return {
        status: response.headers.get("x-job-status"),
        rows: text
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { seq: number; event: { text: string } }),
      };
    };
    const live = await read();
    expect(live.status).toBe("in_progress");
    expect(live.rows.map((r) => r.seq)).toEqual(rows.map((r) => r.seq));
    expect(live.rows[2999]?.event.text).toBe('line 3000 "quoted" <b>');
    expect((await read("?from=2990")).rows.map((r) => r.seq)).toEqual([
      2990, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999, 3000,
    ]);
    await job.end();
    expect(await server.store.jobs.archiveLog(job.id)).toBe(true);
    const archived = await read();
    expect(archived.status).toBe("completed");
    expect(archived.rows).toEqual(live.rows);
    expect((await read("?from=3000")).rows.map((r) => r.seq)).toEqual([3000]);
    expect((await api(admin, "/jobs/999999/logs/lines")).status).toBe(404);
  });

  it("lists a run's annotations from the notes index, says how many it left out, and reads older jobs' logs", async () => {
    const repositoryId = await repositoryIn(server, "admin", "notes");
    const at = new Date().toISOString();
    const annotation = (i: number) => ({
      type: "annotation" as const,
      jobId: "build#0",
      step: 1,
      level: "error" as const,
      message: `<img src=x onerror=alert(${i})> failed`,
      file: "src/app.ts",
      line: i,
      at,
    });
    const annotationsOf = async (runId: number) =>
      (
        await api<{
          annotations: { seq: number; message: string; line: number; jobName: string }[];
          summaries: { markdown: string }[];
          omitted: { jobName: string; count: number }[];
        }>(admin, `/runs/${runId}/annotations`)
      ).body;

    const job = await runningJob(server, repositoryId, "refs/heads/main");
    const rows: { seq: number; event: RunEvent }[] = Array.from(
      { length: MAX_ANNOTATIONS_PER_JOB + 2 },
      (_, i) => ({
        seq: i + 1,
        event: annotation(i + 1),
      }),
    );
    rows.push({
      seq: rows.length + 1,
      event: { type: "step-summary", jobId: "build#0", step: 1, markdown: "# ok", at },
    });
    for (let i = 0; i < rows.length; i += 400)
      await server.store.jobs.appendEvents(job.id, rows.slice(i, i + 400));
    await job.end();
    await server.store.jobs.archiveLog(job.id);
    const runId = (await server.store.jobs.byId(job.id))?.runId as number;
    const listed = await annotationsOf(runId);
    expect(listed.annotations).toHaveLength(MAX_ANNOTATIONS_PER_JOB);
    expect(listed.annotations[0]).toMatchObject({
      seq: 1,
      line: 1,
      jobName: "build",
      message: "<img src=x onerror=alert(1)> failed",
    });
    expect(listed.omitted).toEqual([{ jobId: job.id, jobName: "build", count: 2 }]);
    expect(listed.summaries.map((s) => s.markdown)).toEqual(["# ok"]);

    // A job from before the index (a data directory migrated with it) is read from its log, whole.
    const older = await runningJob(server, repositoryId, "refs/heads/main");
    await server.store.jobs.appendEvents(older.id, rows.slice(0, 3));
    await older.end();
    const db = new Sqlite(join(dataDir, "conveyor.db"));
    db.prepare("UPDATE counters SET value = ? WHERE name = 'first_job_with_notes'").run(older.id + 1);
    db.close();
    const olderRun = (await server.store.jobs.byId(older.id))?.runId as number;
    expect((await annotationsOf(olderRun)).annotations.map((a) => a.seq)).toEqual([1, 2, 3]);
  });

  it("names a job's graph node and what a one-job re-run repeats", () => {
    expect(topLevelJobId("test#1")).toBe("test");
    expect(topLevelJobId("call#0/inner#2")).toBe("call");
    expect(topLevelJobId("deploy")).toBe("deploy");
    const jobs = [
      { id: "build", name: "build", needs: [], calls: false },
      { id: "test", name: "test", needs: ["build"], calls: false },
      { id: "lint", name: "lint", needs: [], calls: false },
      { id: "deploy", name: "deploy", needs: ["test", "lint"], calls: false },
    ];
    expect([...withDependents(jobs, "build")].sort()).toEqual(["build", "deploy", "test"]);
    expect([...withDependents(jobs, "lint")].sort()).toEqual(["deploy", "lint"]);
    expect(isBranchName("main")).toBe(true);
    expect(isBranchName("feature/x-1")).toBe(true);
    for (const bad of ["", "-x", "a..b", "a/", "x.lock", "a b", "a//b"])
      expect(isBranchName(bad), bad).toBe(false);
  });
});
