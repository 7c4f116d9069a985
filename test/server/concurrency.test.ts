/**
 * `concurrency` on a real server with a real (in-process) runner, with GitHub's rules: one running
 * and at most one pending per group, a newer pending one displaces the older (cancelled), and
 * cancel-in-progress cancels the running one. Workflow level (a race of ten pushes, and dispatches)
 * and job level (matrix jobs, the group an expression over `matrix`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runner } from "../../src/agent/runner.js";
import type { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "./helpers.js";

interface RunSummary {
  id: number;
  event: string;
  ref: string;
  status: string;
  conclusion: string | null;
  workflow: { path: string; name: string };
}
interface JobView {
  key: string;
  name: string;
  status: string;
  conclusion: string | null;
  reason: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

let server: ConveyorServer;
let runner: Runner;
let admin: { url: string; token: string };
let project: string;

const FILES = {
  // Every branch's pushes share one group: the repository's deployment slot.
  ".github/workflows/release.yml": `name: Release
on:
  push:
    branches: ["b*"]
concurrency:
  group: release-\${{ github.repository }}
jobs:
  ship:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 3 && echo "shipped \${{ github.ref_name }}"
`,
  ".github/workflows/latest.yml": `name: Latest wins
on:
  workflow_dispatch:
    inputs:
      label: { type: string, required: true }
concurrency:
  group: latest
  cancel-in-progress: true
jobs:
  work:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 5 && echo "done \${{ inputs.label }}"
`,
  ".github/workflows/matrix.yml": `name: Matrix deploys
on: workflow_dispatch
jobs:
  deploy:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2, 3]
    concurrency: deploy-\${{ matrix.n > 0 && 'slot' || 'never' }}
    steps:
      - run: sleep 1 && echo "deployed \${{ matrix.n }}"
`,
};

beforeAll(async () => {
  ({ server, runner, admin } = await startInProcess({ prefix: "conveyor-concurrency-", capacity: 4 }));
  await api(admin, "/repos", { body: { name: "app" } });
  project = gitRepositoryWith(FILES);
  expect((await git(project, ["push", remote(), "main"])).status).toBe(0);
}, 30_000);

afterAll(async () => {
  await runner?.stop({ cancelJobs: true });
  await server?.close();
});

const remote = (): string => pushUrl(admin, "admin", admin.token, "admin/app");
const runsOf = async (workflow: string) =>
  (await api<{ runs: RunSummary[] }>(admin, `/repos/admin/app/runs?limit=100&workflow=${workflow}`)).body
    .runs;
const detail = async (runId: number) =>
  (await api<{ status: string; conclusion: string | null; jobs: JobView[] }>(admin, `/runs/${runId}`)).body;

/** Whether any two [start, end] intervals overlap. */
function overlapping(jobs: readonly JobView[]): boolean {
  const spans = jobs
    .filter((j) => j.startedAt !== null)
    .map(
      (j) =>
        [Date.parse(j.startedAt as string), Date.parse(j.finishedAt ?? new Date().toISOString())] as const,
    )
    .sort((a, b) => a[0] - b[0]);
  return spans.some((span, i) => i > 0 && span[0] < (spans[i - 1] as readonly [number, number])[1]);
}

describe("concurrency groups on the server", () => {
  it("runs one at a time through a race of ten pushes: the first and the last to arrive run, the rest are replaced", async () => {
    const branches = Array.from({ length: 10 }, (_, i) => `b${i}`);
    for (const branch of branches) await git(project, ["branch", branch]);
    const pushed = await Promise.all(branches.map((b) => git(project, ["push", remote(), b])));
    expect(pushed.map((p) => p.status)).toEqual(branches.map(() => 0));
    const runs = await eventually(
      () => runsOf("Release"),
      (r) => r.length === 10 && r.every((run) => run.status === "completed"),
      60_000,
    );
    const succeeded = runs.filter((r) => r.conclusion === "success");
    const cancelled = runs.filter((r) => r.conclusion === "cancelled");
    expect(succeeded).toHaveLength(2);
    expect(cancelled).toHaveLength(8);
    const jobs: JobView[] = [];
    for (const run of runs) jobs.push(...(await detail(run.id)).jobs);
    // Exactly one run at a time: no two jobs that ran overlap, and only the two winners ran a job.
    expect(jobs.filter((j) => j.startedAt !== null)).toHaveLength(2);
    expect(overlapping(jobs)).toBe(false);
    for (const run of cancelled) {
      const [job] = (await detail(run.id)).jobs;
      expect(job?.reason).toMatch(
        /Canceling since a higher priority waiting request for 'release-admin\/app' exists/,
      );
    }
  }, 90_000);

  it("cancels the run in progress with cancel-in-progress, so the latest one wins", async () => {
    const started: number[] = [];
    for (const label of ["one", "two", "three"]) {
      const answer = await api<{ runs: RunSummary[] }>(admin, "/repos/admin/app/dispatches", {
        body: { workflow: "latest.yml", inputs: { label } },
      });
      expect(answer.status).toBe(201);
      const id = (answer.body.runs[0] as RunSummary).id;
      started.push(id);
      // Each one runs before the next arrives, so the next one cancels a running run.
      await eventually(
        () => detail(id),
        (r) => r.jobs.some((j) => j.status === "in_progress"),
        30_000,
      );
    }
    const ends = [];
    for (const id of started)
      ends.push(
        await eventually(
          () => detail(id),
          (r) => r.status === "completed",
          60_000,
        ),
      );
    expect(ends.map((r) => r.conclusion)).toEqual(["cancelled", "cancelled", "success"]);
    const all = ends.flatMap((r) => r.jobs);
    expect(overlapping(all)).toBe(false);
  }, 120_000);

  it("holds matrix jobs in a job-level group: one runs, a newer pending one replaces the older", async () => {
    const answer = await api<{ runs: RunSummary[] }>(admin, "/repos/admin/app/dispatches", {
      body: { workflow: "matrix.yml" },
    });
    expect(answer.status).toBe(201);
    const id = (answer.body.runs[0] as RunSummary).id;
    const run = await eventually(
      () => detail(id),
      (r) => r.status === "completed",
      60_000,
    );
    const byName = Object.fromEntries(run.jobs.map((j) => [j.name, j]));
    expect(byName["deploy (1)"]?.conclusion).toBe("success");
    expect(byName["deploy (2)"]).toMatchObject({ conclusion: "cancelled", startedAt: null });
    expect(byName["deploy (2)"]?.reason).toMatch(/higher priority waiting request for 'deploy-slot'/);
    expect(byName["deploy (3)"]?.conclusion).toBe("success");
    expect(overlapping(run.jobs)).toBe(false);
    expect(run.conclusion).toBe("cancelled");
  }, 60_000);
});
