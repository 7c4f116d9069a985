/**
 * Where runs come from besides a push, on a real server with a real (in-process) runner:
 * workflow_dispatch with typed inputs, schedule on the default branch (once per firing), and
 * workflow_run when a run finishes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runner } from "../../src/agent/runner.js";
import type { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "./helpers.js";

interface RunSummary {
  id: number;
  event: string;
  status: string;
  conclusion: string | null;
  workflow: { path: string; name: string };
}

let server: ConveyorServer;
let runner: Runner;
let admin: { url: string; token: string };

const FILES = {
  ".github/workflows/ci.yml":
    "name: CI\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: 'echo ci' }]\n",
  ".github/workflows/after.yml":
    "name: After CI\non:\n  workflow_run:\n    workflows: [CI]\n    types: [completed]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: 'echo CI ended ${{ github.event.workflow_run.conclusion }}' }]\n",
  ".github/workflows/nightly.yml":
    "name: Nightly\non:\n  schedule:\n    - cron: '*/5 * * * *'\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: 'echo nightly' }]\n",
  ".github/workflows/manual.yml":
    "name: Manual\non:\n  workflow_dispatch:\n    inputs:\n      count: { type: number, required: true }\n      mode: { type: choice, options: [fast, slow], default: fast }\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: 'echo count=${{ inputs.count }} mode=${{ inputs.mode }}' }]\n",
};

beforeAll(async () => {
  ({ server, runner, admin } = await startInProcess({ prefix: "conveyor-triggers-", capacity: 2 }));
  await api(admin, "/repos", { body: { name: "app" } });
  const project = gitRepositoryWith(FILES);
  expect(
    (await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/app"), "main"])).status,
  ).toBe(0);
}, 30_000);

afterAll(async () => {
  await runner?.stop({ cancelJobs: true });
  await server?.close();
});

const runsOf = async () => (await api<{ runs: RunSummary[] }>(admin, "/repos/admin/app/runs")).body.runs;

describe("triggers on the server", () => {
  it("starts workflow_run workflows when a run finishes", async () => {
    const runs = await eventually(runsOf, (r) =>
      r.some((run) => run.event === "workflow_run" && run.status === "completed"),
    );
    const ci = runs.find((r) => r.workflow.name === "CI");
    const after = runs.find((r) => r.event === "workflow_run");
    expect(ci).toMatchObject({ event: "push", conclusion: "success" });
    expect(after).toMatchObject({ workflow: { name: "After CI" }, conclusion: "success" });
    const detail = await api<{ jobs: { id: number }[] }>(admin, `/runs/${after?.id}`);
    const log = await fetch(`${server.url}/api/v1/jobs/${detail.body.jobs[0]?.id}/logs?format=text`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(await log.text()).toContain("CI ended success");
  });

  it("fires a schedule once per matching minute, on the default branch", async () => {
    expect(await server.scheduler.tick(new Date("2026-11-28T10:05:00Z"))).toHaveLength(1);
    expect(await server.scheduler.tick(new Date("2026-11-28T10:05:00Z"))).toHaveLength(0);
    expect(await server.scheduler.tick(new Date("2026-11-28T10:06:00Z"))).toHaveLength(0);
    const runs = await runsOf();
    expect(runs.filter((r) => r.event === "schedule").map((r) => r.workflow.name)).toEqual(["Nightly"]);
  });

  it("dispatches with typed inputs, and refuses bad ones with the reason", async () => {
    const ok = await api<{ runs: RunSummary[] }>(admin, "/repos/admin/app/dispatches", {
      body: { workflow: "manual.yml", inputs: { count: "3", mode: "slow" } },
    });
    expect(ok.status).toBe(201);
    const run = ok.body.runs[0] as RunSummary;
    const detail = await eventually(
      () => api<{ status: string; jobs: { id: number }[] }>(admin, `/runs/${run.id}`),
      (r) => r.body.status === "completed",
    );
    const log = await fetch(`${server.url}/api/v1/jobs/${detail.body.jobs[0]?.id}/logs?format=text`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(await log.text()).toContain("count=3 mode=slow");

    const bad = await api<{ error: string }>(admin, "/repos/admin/app/dispatches", {
      body: { workflow: "manual.yml", inputs: { count: "many", mode: "medium" } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatch(/count/);
    expect(bad.body.error).toMatch(/mode/);
    const missing = await api<{ error: string }>(admin, "/repos/admin/app/dispatches", {
      body: { workflow: "nope.yml" },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatch(/no workflow 'nope.yml'/);
  });
});
