import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openServerStore } from "../../store/server-store.js";
import type { ServerStore } from "../../store/server-store.js";
import type { JobRecord } from "../../store/jobs.js";
import { Notifier } from "../notifier.js";
import { RunCoordinator } from "./run-coordinator.js";
import type { RunDefinition } from "./run-definition.js";
import { DEFAULT_LABEL_MAP } from "./runner-labels.js";

let dir: string;
let store: ServerStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "conveyor-coordinator-"));
  store = await openServerStore(dir);
});

afterEach(async () => {
  await Promise.all(coordinators.splice(0).map((c) => c.idle()));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const coordinators: RunCoordinator[] = [];
const coordinatorOn = (s: ServerStore): RunCoordinator => {
  const coordinator = new RunCoordinator(s, { labelMap: DEFAULT_LABEL_MAP, notifier: new Notifier() });
  coordinators.push(coordinator);
  return coordinator;
};

function definitionOf(workflow: string): RunDefinition {
  return {
    workflowPath: ".github/workflows/ci.yml",
    workflowFiles: { ".github/workflows/ci.yml": workflow },
    eventName: "push",
    payload: { ref: "refs/heads/main" },
    facts: {
      owner: "alice",
      name: "app",
      ref: "refs/heads/main",
      headSha: "a".repeat(40),
      defaultBranch: "main",
      root: "",
      user: { login: "alice", name: "alice", email: "" },
    },
    workflowName: "CI",
    actor: "alice",
    serverUrl: "http://127.0.0.1:1",
    vars: {},
    inputs: {},
    cloneUrl: "http://127.0.0.1:1/alice/app.git",
  };
}

async function start(coordinator: RunCoordinator, workflow: string) {
  return coordinator.startRun(
    {
      repositoryId: 1,
      workflowPath: ".github/workflows/ci.yml",
      workflowName: "CI",
      event: "push",
      ref: "refs/heads/main",
      sha: "a".repeat(40),
      actor: "alice",
      title: "t",
    },
    definitionOf(workflow),
  );
}

/** Runs a queued job to its end as a runner would: claim, complete in the store, tell the coordinator. */
async function runJob(
  coordinator: RunCoordinator,
  job: JobRecord,
  conclusion: "success" | "failure",
  outputs: Record<string, string> = {},
) {
  const [claimed] = await store.jobs.claim(1, job.labels, 1, 60);
  expect(claimed?.id).toBe(job.id);
  await store.jobs.complete(job.id, 0, { conclusion, outputs });
  await coordinator.jobCompleted(job, { conclusion, outputs });
}

async function jobsOf(runId: number, attempt = 1) {
  return Object.fromEntries((await store.jobs.forRun(runId, attempt)).map((j) => [j.key, j]));
}

const WORKFLOW = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    outputs: { v: "\${{ steps.s.outputs.v }}" }
    steps: [{ id: s, run: "echo v=1 >> $GITHUB_OUTPUT" }]
  test:
    needs: build
    runs-on: [self-hosted, linux]
    strategy: { matrix: { n: [1, 2] } }
    steps: [{ run: "echo \${{ needs.build.outputs.v }}" }]
  report:
    needs: test
    if: always()
    runs-on: linux
    steps: [{ run: "true" }]
`;

describe("RunCoordinator", () => {
  it("queues jobs as their needs finish, with labels mapped from runs-on, and finishes the run", async () => {
    const coordinator = coordinatorOn(store);
    const run = await start(coordinator, WORKFLOW);
    let jobs = await jobsOf(run.id);
    expect(Object.keys(jobs)).toEqual(["build#0"]);
    expect(jobs["build#0"]?.labels).toEqual(["linux"]);
    await runJob(coordinator, jobs["build#0"] as JobRecord, "success", { v: "1" });
    jobs = await jobsOf(run.id);
    expect(Object.keys(jobs).sort()).toEqual(["build#0", "test#0", "test#1"]);
    expect(jobs["test#1"]?.labels).toEqual(["self-hosted", "linux"]);
    // The needs context reached the queued job's stored contexts.
    expect(JSON.parse(jobs["test#0"]?.assignment ?? "{}").contexts.needs).toEqual({
      build: { result: "success", outputs: { v: "1" } },
    });
    await runJob(coordinator, jobs["test#0"] as JobRecord, "success");
    await runJob(coordinator, jobs["test#1"] as JobRecord, "failure");
    jobs = await jobsOf(run.id);
    await runJob(coordinator, jobs["report#0"] as JobRecord, "success");
    expect(await store.runs.byId(run.id)).toMatchObject({ status: "completed", conclusion: "failure" });
  });

  it("carries on after a restart from what the store holds", async () => {
    let coordinator = coordinatorOn(store);
    const run = await start(coordinator, WORKFLOW);
    await runJob(coordinator, (await jobsOf(run.id))["build#0"] as JobRecord, "success", { v: "1" });
    // A new process: reopened store, new coordinator, no memory of the run.
    await store.close();
    store = await openServerStore(dir);
    coordinator = coordinatorOn(store);
    await coordinator.recover();
    const jobs = await jobsOf(run.id);
    expect(Object.keys(jobs).sort()).toEqual(["build#0", "test#0", "test#1"]);
    await runJob(coordinator, jobs["test#0"] as JobRecord, "success");
    await runJob(coordinator, jobs["test#1"] as JobRecord, "success");
    await runJob(coordinator, (await jobsOf(run.id))["report#0"] as JobRecord, "success");
    expect(await store.runs.byId(run.id)).toMatchObject({ status: "completed", conclusion: "success" });
  });

  it("tells the engine about a job completed just before a crash", async () => {
    const coordinator = coordinatorOn(store);
    const run = await start(coordinator, WORKFLOW);
    const build = (await jobsOf(run.id))["build#0"] as JobRecord;
    await store.jobs.claim(1, build.labels, 1, 60);
    // Completed in the store, but the process died before the engine heard of it.
    await store.jobs.complete(build.id, 0, { conclusion: "success", outputs: { v: "1" } });
    await coordinatorOn(store).recover();
    expect(Object.keys(await jobsOf(run.id)).sort()).toEqual(["build#0", "test#0", "test#1"]);
  });

  it("cancels: queued jobs end cancelled, running ones are asked to stop, always() jobs still run", async () => {
    const coordinator = coordinatorOn(store);
    const run = await start(coordinator, WORKFLOW);
    await runJob(coordinator, (await jobsOf(run.id))["build#0"] as JobRecord, "success");
    const jobs = await jobsOf(run.id);
    await store.jobs.claim(1, ["self-hosted", "linux"], 1, 60); // test#0 runs, test#1 stays queued
    await coordinator.cancelRun(run.id);
    const after = await jobsOf(run.id);
    expect(after["test#0"]).toMatchObject({ status: "in_progress", cancelRequested: true });
    expect(after["test#1"]).toMatchObject({ status: "completed", conclusion: "cancelled" });
    await store.jobs.complete(jobs["test#0"]?.id as number, 0, { conclusion: "cancelled" });
    await coordinator.jobCompleted(jobs["test#0"] as JobRecord, { conclusion: "cancelled", outputs: {} });
    const report = (await jobsOf(run.id))["report#0"];
    expect(report?.status).toBe("queued");
    await runJob(coordinator, report as JobRecord, "success");
    expect(await store.runs.byId(run.id)).toMatchObject({ status: "completed", conclusion: "cancelled" });
  });

  it("re-runs only failed jobs in a new attempt, keeping the others' results", async () => {
    const coordinator = coordinatorOn(store);
    const run = await start(coordinator, WORKFLOW);
    await runJob(coordinator, (await jobsOf(run.id))["build#0"] as JobRecord, "success", { v: "7" });
    let jobs = await jobsOf(run.id);
    await runJob(coordinator, jobs["test#0"] as JobRecord, "success");
    await runJob(coordinator, jobs["test#1"] as JobRecord, "failure");
    await runJob(coordinator, (await jobsOf(run.id))["report#0"] as JobRecord, "success");
    expect(await coordinator.rerun(run.id, true)).toBe(2);
    jobs = await jobsOf(run.id, 2);
    expect(jobs["build#0"]).toMatchObject({ kept: true, status: "completed" });
    expect(jobs["test#1"]).toMatchObject({ kept: false, status: "queued" });
    expect(JSON.parse(jobs["test#1"]?.assignment ?? "{}").contexts.needs.build.outputs).toEqual({ v: "7" });
    // The first attempt's jobs are still there.
    expect(Object.keys(await jobsOf(run.id, 1)).length).toBe(4);
  });

  it("fails a job whose runs-on cannot be evaluated, with the reason", async () => {
    const coordinator = coordinatorOn(store);
    const run = await start(
      coordinator,
      `on: push
jobs:
  a: { runs-on: "\${{ fromJSON('{') }}", steps: [{ run: "true" }] }
`,
    );
    const job = (await jobsOf(run.id))["a#0"];
    expect(job).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(job?.reason).toMatch(/fromJSON|JSON/i);
    expect(await store.runs.byId(run.id)).toMatchObject({ status: "completed", conclusion: "failure" });
  });
});
