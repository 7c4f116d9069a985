/**
 * Environments, deployments and rollback on a real server with a real (in-process) runner: the seed
 * example's deploy pattern end to end (build -> workflow_run -> approval -> deploy script -> history
 * -> rollback), rejection with a comment, a branch policy refusing a branch, prevent self-review,
 * a wait timer (its minute shortened to a second by a server setting), and the `deploy`, `approve`
 * and `reject` commands against the same server.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "./helpers.js";
import type { InProcessServer } from "./helpers.js";

interface RunSummary {
  id: number;
  event: string;
  status: string;
  conclusion: string | null;
  sha: string;
  attempt: number;
  workflow: { path: string; name: string };
}
interface JobView {
  id: number;
  key: string;
  status: string;
  conclusion: string | null;
  reason: string | null;
  startedAt: string | null;
}
interface AuditEvent {
  actor: string | null;
  action: string;
  target: string;
  details: Record<string, unknown>;
}
interface DeploymentView {
  id: number;
  environment: string;
  runId: number;
  attempt: number;
  jobId: number | null;
  sha: string;
  creator: string;
  approver: string | null;
  comment: string | null;
  status: string;
  url: string | null;
  rollbackOf: number | null;
  reason: string | null;
  createdAt: string;
}

let started: InProcessServer | undefined;
let server: ConveyorServer;
let admin: { url: string; token: string };
let bob: { url: string; token: string };
let project: string;
const deployDir = mkdtempSync(join(tmpdir(), "conveyor-deploy-target-"));

const BUILD = `name: Build and Push Docker
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: cat app/version.txt
`;

// The seed example's deploy.yml, with the cluster replaced by a script in the repository.
const DEPLOY = `name: Deploy to Production
on:
  workflow_run:
    workflows: ["Build and Push Docker"]
    types: [completed]
    branches: [main]
jobs:
  package:
    if: \${{ github.event.workflow_run.conclusion == 'success' }}
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: mkdir -p out && cp app/version.txt out/version.txt && echo "\${{ github.sha }}" > out/sha.txt
      - run: echo "prod-only-present=\${{ secrets.PROD_ONLY != '' }}"
      - uses: actions/upload-artifact@v4
        with:
          name: release
          path: out/
  deploy:
    needs: package
    runs-on: ubuntu-latest
    environment:
      name: production
      url: https://app.example.test/\${{ github.sha }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/download-artifact@v4
        with:
          name: release
          path: release
      - name: Deploy
        run: ./scripts/deploy.sh release
      - run: echo "prod-only-present=\${{ secrets.PROD_ONLY != '' }} value=\${{ secrets.PROD_ONLY }}"
`;

const MANUAL = `name: Manual deploy
on:
  workflow_dispatch:
    inputs:
      target: { type: string, required: true }
jobs:
  ship:
    runs-on: ubuntu-latest
    environment:
      name: \${{ inputs.target }}
      # GitHub evaluates the url after the steps: it may use their outputs.
      url: \${{ steps.ship.outputs.url }}
    steps:
      - id: ship
        run: |
          echo "shipped to \${{ inputs.target }}"
          echo "url=https://\${{ inputs.target }}.example.test/\${{ github.run_id }}" >> "$GITHUB_OUTPUT"
`;

const DEPLOY_SCRIPT = `#!/bin/sh
set -e
cp "$1/version.txt" "$CONVEYOR_TEST_DEPLOY_DIR/live.txt"
echo "deployed $(cat "$1/version.txt") at $(cat "$1/sha.txt")"
`;

beforeAll(async () => {
  process.env.CONVEYOR_TEST_DEPLOY_DIR = deployDir;
  started = await startInProcess({ prefix: "conveyor-environments-", waitTimerMinuteMs: 1000 });
  ({ server, admin } = started);
  expect((await api(admin, "/users", { body: { login: "bob", password: "bob password" } })).status).toBe(201);
  const bobToken = await fetch(`${server.url}/api/v1/user/tokens`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from("bob:bob password").toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ name: "tests" }),
  });
  bob = { url: server.url, token: ((await bobToken.json()) as { token: string }).token };
  await api(admin, "/repos", { body: { name: "app" } });
  // Continuous delivery: a person approves production.
  const production = await api(admin, "/repos/admin/app/environments/production", {
    method: "PUT",
    body: { reviewers: ["admin"], deploymentPolicy: { branches: ["main"], tags: [] } },
  });
  expect(production.status).toBe(201);
  // A secret of production only: released to the deploy job once its rules pass, never to others.
  const prodOnly = await api(admin, "/repos/admin/app/environments/production/secrets/PROD_ONLY", {
    method: "PUT",
    body: { value: "prod-only-secret-value" },
  });
  expect(prodOnly.status).toBe(201);
  project = gitRepositoryWith({
    ".github/workflows/build.yml": BUILD,
    ".github/workflows/deploy.yml": DEPLOY,
    ".github/workflows/manual.yml": MANUAL,
    "scripts/deploy.sh": DEPLOY_SCRIPT,
    "app/version.txt": "v1\n",
  });
  chmodSync(join(project, "scripts/deploy.sh"), 0o755);
  await git(project, ["commit", "-q", "-am", "executable deploy script"]);
  expect((await git(project, ["push", remote(), "main"])).status).toBe(0);
}, 60_000);

afterAll(async () => {
  await started?.stop();
});

function remote(): string {
  return pushUrl(admin, "admin", admin.token, "admin/app");
}

const runsOf = async () =>
  (await api<{ runs: RunSummary[] }>(admin, "/repos/admin/app/runs?limit=100")).body.runs;
const jobsOf = async (runId: number) =>
  (await api<{ status: string; attempt: number; jobs: JobView[] }>(admin, `/runs/${runId}`)).body;
const history = async (environment: string) =>
  (
    await api<{ live: DeploymentView | null; deployments: DeploymentView[] }>(
      admin,
      `/repos/admin/app/environments/${environment}/deployments`,
    )
  ).body;
const logOf = async (jobId: number) =>
  (
    await fetch(`${server.url}/api/v1/jobs/${jobId}/logs?format=text`, {
      headers: { authorization: `Bearer ${admin.token}` },
    })
  ).text();

/** The deploy run started by the build of `sha`, once its deployment waits for review. */
async function waitingDeployRun(sha: string): Promise<RunSummary> {
  const runs = await eventually(runsOf, (r) =>
    r.some((run) => run.event === "workflow_run" && run.sha === sha),
  );
  const run = runs.find((r) => r.event === "workflow_run" && r.sha === sha) as RunSummary;
  await eventually(
    () => api<{ pending: DeploymentView[] }>(admin, `/runs/${run.id}/pending-deployments`),
    (r) => r.body.pending.length === 1,
    30_000,
  );
  return run;
}

async function dispatch(target: string, ref = "main"): Promise<number> {
  const started = await api<{ runs: RunSummary[] }>(admin, "/repos/admin/app/dispatches", {
    body: { workflow: "manual.yml", ref, inputs: { target } },
  });
  expect(started.status).toBe(201);
  return (started.body.runs[0] as RunSummary).id;
}

async function headSha(): Promise<string> {
  return (await git(project, ["rev-parse", "HEAD"])).stdout.trim();
}

describe("continuous delivery on the server", () => {
  it("waits for approval without a runner, deploys, keeps history, and rolls back", async () => {
    const v1 = await headSha();
    const run1 = await waitingDeployRun(v1);
    // Waiting: the job holds no runner, and the deployment records who started it.
    const waitingJobs = await jobsOf(run1.id);
    const deployJob = waitingJobs.jobs.find((j) => j.key.startsWith("deploy")) as JobView;
    expect(deployJob.status).toBe("waiting");
    expect(deployJob.startedAt).toBeNull();
    const approvals = await api<{ pending: (DeploymentView & { canApprove: boolean })[] }>(
      admin,
      "/approvals",
    );
    expect(approvals.body.pending.map((p) => [p.runId, p.canApprove])).toContainEqual([run1.id, true]);
    // bob is not a reviewer of production.
    const refused = await api<{ error: string }>(bob, `/runs/${run1.id}/approve`, { body: {} });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/bob is not a required reviewer of production/);

    const approved = await api<{ deployments: DeploymentView[] }>(admin, `/runs/${run1.id}/approve`, {
      body: { comment: "ship it" },
    });
    expect(approved.status).toBe(200);
    await eventually(
      () => jobsOf(run1.id),
      (r) => r.status === "completed",
      60_000,
    );
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v1\n");
    // production's secret reached the deploy job only, after approval, and masked.
    const jobs1 = (await jobsOf(run1.id)).jobs;
    const packageLog = await logOf((jobs1.find((j) => j.key.startsWith("package")) as JobView).id);
    const deployLog = await logOf((jobs1.find((j) => j.key.startsWith("deploy")) as JobView).id);
    expect(packageLog).toContain("prod-only-present=false");
    expect(deployLog).toContain("prod-only-present=true value=***");
    expect(packageLog + deployLog).not.toContain("prod-only-secret-value");
    const first = await history("production");
    expect(first.live).toMatchObject({
      runId: run1.id,
      sha: v1,
      status: "success",
      creator: "admin",
      approver: "admin",
      comment: "ship it",
      url: `https://app.example.test/${v1}`,
      rollbackOf: null,
    });
    const d1 = first.live as DeploymentView;

    // A second version goes out the same way; the first becomes inactive.
    writeFileSync(join(project, "app/version.txt"), "v2\n");
    await git(project, ["commit", "-q", "-am", "version 2"]);
    expect((await git(project, ["push", remote(), "main"])).status).toBe(0);
    const v2 = await headSha();
    const run2 = await waitingDeployRun(v2);
    await api(admin, `/runs/${run2.id}/approve`, { body: {} });
    const done2 = await eventually(
      () => jobsOf(run2.id),
      (r) => r.status === "completed",
      60_000,
    );
    expect(done2.jobs.map((j) => j.conclusion)).toEqual(["success", "success"]);
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v2\n");
    const second = await history("production");
    expect(second.live).toMatchObject({ runId: run2.id, sha: v2, status: "success" });
    expect(second.deployments.find((d) => d.id === d1.id)?.status).toBe("inactive");

    // Rollback to v1: the old run's deploy job again, through the rules, with the old artifacts.
    const bad = await api<{ error: string }>(admin, "/repos/admin/app/environments/production/rollback", {
      body: { to: 999_999 },
    });
    expect(bad.status).toBe(404);
    const rollback = await api<{ runId: number; attempt: number; sha: string }>(
      admin,
      "/repos/admin/app/environments/production/rollback",
      { body: { to: d1.id } },
    );
    expect(rollback.status).toBe(201);
    expect(rollback.body).toMatchObject({ runId: run1.id, attempt: 2, sha: v1 });
    await eventually(
      () => api<{ pending: DeploymentView[] }>(admin, `/runs/${run1.id}/pending-deployments`),
      (r) => r.body.pending.length === 1,
      30_000,
    );
    await api(admin, `/runs/${run1.id}/approve`, { body: { comment: "roll back" } });
    const rerun = await eventually(
      () => jobsOf(run1.id),
      (r) => r.status === "completed",
      60_000,
    );
    expect(rerun.attempt).toBe(2);
    const redeploy = rerun.jobs.find((j) => j.key.startsWith("deploy")) as JobView;
    expect(redeploy.conclusion).toBe("success");
    expect(await logOf(redeploy.id)).toContain(`deployed v1 at ${v1}`);
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v1\n");
    const third = await history("production");
    expect(third.live).toMatchObject({
      runId: run1.id,
      attempt: 2,
      sha: v1,
      rollbackOf: d1.id,
      status: "success",
    });
    expect(third.deployments.filter((d) => d.status === "success")).toHaveLength(1);
    expect(third.deployments.map((d) => d.status)).toEqual(["success", "inactive", "inactive"]);

    // The audit log says who did what, oldest first here.
    const audit = await api<{ events: AuditEvent[] }>(
      admin,
      `/audit?target=${encodeURIComponent("repo:admin/app/env:production")}&limit=100`,
    );
    const trail = audit.body.events
      .filter((e) => e.action.startsWith("deployment."))
      .reverse()
      .map((e) => `${e.actor} ${e.action} ${String(e.details.deploymentId ?? e.details.rollbackOf)}`);
    const d2 = second.live as DeploymentView;
    const d3 = third.live as DeploymentView;
    expect(trail).toEqual([
      `admin deployment.create ${d1.id}`,
      `admin deployment.approve ${d1.id}`,
      `admin deployment.create ${d2.id}`,
      `admin deployment.approve ${d2.id}`,
      // The rollback's deployment is made while the rollback starts, before the request is recorded.
      `admin deployment.create ${d3.id}`,
      `admin deployment.rollback ${d1.id}`,
      `admin deployment.approve ${d3.id}`,
    ]);
    const rolledBack = audit.body.events.find((e) => e.action === "deployment.rollback") as AuditEvent;
    expect(rolledBack.details).toMatchObject({ environment: "production", sha: v1, newRunId: run1.id });
    const created = audit.body.events.find((e) => e.action === "deployment.create") as AuditEvent;
    expect(created.details).toMatchObject({ rollbackOf: d1.id, sha: v1, environment: "production" });
  }, 180_000);

  it("fails a rejected deployment's job with the reviewer's comment", async () => {
    await api(admin, "/repos/admin/app/environments/qa", {
      method: "PUT",
      body: { reviewers: ["admin", "bob"] },
    });
    const runId = await dispatch("qa");
    await eventually(
      () => api<{ pending: DeploymentView[] }>(admin, `/runs/${runId}/pending-deployments`),
      (r) => r.body.pending.length === 1,
    );
    const rejected = await api(bob, `/runs/${runId}/reject`, { body: { comment: "QA is frozen today" } });
    expect(rejected.status).toBe(200);
    const run = await eventually(
      () => jobsOf(runId),
      (r) => r.status === "completed",
    );
    const job = run.jobs[0] as JobView;
    expect(job).toMatchObject({ conclusion: "failure", startedAt: null });
    expect(job.reason).toContain("rejected by bob: QA is frozen today");
    expect(await logOf(job.id)).toContain("QA is frozen today");
    const qa = await history("qa");
    expect(qa.deployments[0]).toMatchObject({
      status: "failure",
      approver: "bob",
      comment: "QA is frozen today",
    });
    expect(qa.live).toBeNull();
    const audit = await api<{ events: AuditEvent[] }>(admin, "/audit?action=deployment.reject");
    expect(audit.body.events[0]).toMatchObject({
      actor: "bob",
      action: "deployment.reject",
      target: "repo:admin/app/env:qa",
      details: { runId, comment: "QA is frozen today" },
    });
    const configured = await api<{ events: AuditEvent[] }>(admin, "/audit?action=environment.*");
    expect(configured.body.events.map((e) => `${e.actor} ${e.action} ${e.target}`)).toContain(
      "admin environment.create repo:admin/app/env:qa",
    );
  }, 60_000);

  it("refuses a branch the deployment policy does not list", async () => {
    await git(project, ["checkout", "-q", "-b", "feature"]);
    expect((await git(project, ["push", remote(), "feature"])).status).toBe(0);
    await git(project, ["checkout", "-q", "main"]);
    const runId = await dispatch("production", "feature");
    const run = await eventually(
      () => jobsOf(runId),
      (r) => r.status === "completed",
    );
    const job = run.jobs[0] as JobView;
    expect(job.conclusion).toBe("failure");
    expect(job.reason).toMatch(
      /Branch "feature" is not allowed to deploy to production due to environment protection rules/,
    );
    expect(await logOf(job.id)).toMatch(/Branch "feature" is not allowed/);
    const production = await history("production");
    expect(production.deployments[0]).toMatchObject({ runId, status: "failure" });
  }, 60_000);

  it("prevents self-review when asked, and lets another reviewer approve", async () => {
    await api(admin, "/repos/admin/app/environments/staging", {
      method: "PUT",
      body: { reviewers: ["admin", "bob"], preventSelfReview: true },
    });
    const runId = await dispatch("staging");
    await eventually(
      () => api<{ pending: DeploymentView[] }>(admin, `/runs/${runId}/pending-deployments`),
      (r) => r.body.pending.length === 1,
    );
    const self = await api<{ error: string }>(admin, `/runs/${runId}/approve`, { body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error).toMatch(/prevents self-review/);
    expect((await api(bob, `/runs/${runId}/approve`, { body: {} })).status).toBe(200);
    const run = await eventually(
      () => jobsOf(runId),
      (r) => r.status === "completed",
    );
    expect(run.jobs[0]?.conclusion).toBe("success");
    expect((await history("staging")).live).toMatchObject({ approver: "bob", creator: "admin" });
  }, 60_000);

  it("holds a job for the wait timer, then runs it without a review", async () => {
    await api(admin, "/repos/admin/app/environments/canary", { method: "PUT", body: { waitTimer: 2 } });
    const runId = await dispatch("canary");
    const waiting = await eventually(
      () => jobsOf(runId),
      (r) => r.jobs[0]?.status === "waiting",
    );
    expect(waiting.jobs[0]?.startedAt).toBeNull();
    const run = await eventually(
      () => jobsOf(runId),
      (r) => r.status === "completed",
      30_000,
    );
    expect(run.jobs[0]?.conclusion).toBe("success");
    const deployment = (await history("canary")).live as DeploymentView;
    const started = Date.parse(run.jobs[0]?.startedAt ?? "");
    expect(started - Date.parse(deployment.createdAt)).toBeGreaterThanOrEqual(1_900);
  }, 60_000);

  it("creates an environment on first use, without rules (continuous deployment)", async () => {
    const runId = await dispatch("preview");
    const run = await eventually(
      () => jobsOf(runId),
      (r) => r.status === "completed",
    );
    expect(run.jobs[0]?.conclusion).toBe("success");
    const preview = await api<{ reviewers: string[]; waitTimer: number; live: DeploymentView }>(
      admin,
      "/repos/admin/app/environments/preview",
    );
    expect(preview.body).toMatchObject({
      reviewers: [],
      waitTimer: 0,
      live: { runId, status: "success", url: `https://preview.example.test/${runId}` },
    });
    const bad = await api<{ error: string }>(admin, "/repos/admin/app/environments/preview", {
      method: "PUT",
      body: { waitTimer: -1, reviewers: "admin" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/reviewers/);
    const notOwner = await api<{ error: string }>(bob, "/repos/admin/app/environments/preview", {
      method: "PUT",
      body: {},
    });
    expect(notOwner.status).toBe(403);
  }, 60_000);
});

const CLI = join(process.cwd(), "bin", "conveyor.cjs");

/** The built `conveyor` command as `user`, as a separate process (the server must keep answering). */
function conveyor(
  user: { url: string; token: string },
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args, "--server", user.url, "--token", user.token], {
    env: { ...process.env, NO_COLOR: "1", XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "conveyor-cli-")) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

describe("conveyor deploy, approve and reject", () => {
  it("lists environments and history, and says clearly what is wrong", async () => {
    const list = await conveyor(admin, ["deploy", "list", "--repo", "admin/app"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/production\s+#\d+ .*reviewers: admin; refs: main/);
    expect(list.stdout).toContain("none (continuous deployment)");
    const history = await conveyor(admin, ["deploy", "history", "production", "--repo", "admin/app"]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/success/);
    expect(history.stdout).toMatch(/inactive/);

    // What the server refuses ends with 1; a malformed command line with 2 (a usage error).
    for (const [args, message, code] of [
      [["deploy", "history", "staging-nope", "--repo", "admin/app"], "no environment 'staging-nope'", 1],
      [
        ["deploy", "rollback", "production", "--to", "999999", "--repo", "admin/app"],
        "production has no deployment 999999",
        1,
      ],
      [
        ["deploy", "rollback", "production", "--to", "abc", "--repo", "admin/app"],
        "--to must be a whole number such as 42 (got 'abc'): `conveyor deploy history <environment>`",
        2,
      ],
      [["deploy", "list"], "--repo owner/name is required", 2],
      [["approve", "999999"], "999999", 1],
    ] as const) {
      const failed = await conveyor(admin, args);
      expect(failed.code, `${args.join(" ")}: ${failed.stderr}`).toBe(code);
      expect(failed.stderr).toContain(message);
      expect(failed.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    }
  }, 60_000);

  it("approves and rejects from the command line, and refuses who may not review", async () => {
    const rejectedRun = await dispatch("qa");
    await eventually(
      () => api<{ pending: DeploymentView[] }>(admin, `/runs/${rejectedRun}/pending-deployments`),
      (r) => r.body.pending.length === 1,
    );
    const rejected = await conveyor(bob, ["reject", String(rejectedRun), "--comment", "not today"]);
    expect(rejected.stderr).toBe("");
    expect(rejected.stdout).toMatch(/^Rejected deployment \d+ of ship to qa: the job fails\.$/m);
    expect(rejected.code).toBe(0);
    const failedJob = await eventually(
      () => jobsOf(rejectedRun),
      (r) => r.status === "completed",
    );
    expect(failedJob.jobs[0]?.reason).toContain("rejected by bob: not today");

    // production's only reviewer is admin: bob is told so, and the deployment still waits.
    const production = (await history("production")).live as DeploymentView;
    const rollback = await conveyor(admin, [
      "deploy",
      "rollback",
      "production",
      "--to",
      String(production.id),
      "--repo",
      "admin/app",
    ]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain(
      `Rolling production back to deployment #${production.id} (${production.sha.slice(0, 7)})`,
    );
    const runId = Number(/run (\d+), attempt/.exec(rollback.stdout)?.[1]);
    await eventually(
      () => api<{ pending: DeploymentView[] }>(admin, `/runs/${runId}/pending-deployments`),
      (r) => r.body.pending.length === 1,
      30_000,
    );
    const refused = await conveyor(bob, ["approve", String(runId)]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain("bob");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const approved = await conveyor(admin, [
      "approve",
      String(runId),
      "--env",
      "production",
      "--comment",
      "again",
    ]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^Approved deployment \d+ of deploy to production\.$/m);
    const done = await eventually(
      () => jobsOf(runId),
      (r) => r.status === "completed",
      60_000,
    );
    expect(done.jobs.find((j) => j.key.startsWith("deploy"))?.conclusion).toBe("success");
    expect((await history("production")).live).toMatchObject({
      rollbackOf: production.id,
      approver: "admin",
      sha: production.sha,
    });
  }, 120_000);
});
