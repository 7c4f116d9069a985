/**
 * Issue 7's acceptance on `conveyor up` itself (the built CLI, its built-in runner, git, HTTP on
 * loopback): the seed example's deploy pattern. A build finishes, `workflow_run` starts the deploy,
 * it waits for production's reviewer, who approves with `conveyor approve`; a script in the
 * repository deploys; `conveyor deploy history` shows it; `conveyor deploy rollback` redeploys the
 * previous version through the rules again; the audit log says who did what. The environment's
 * secret is set with `conveyor secret set` from stdin and reaches only the approved job, masked.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../cli/helpers.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startServer } from "./helpers.js";
import type { StartedServer } from "./helpers.js";

interface RunSummary {
  id: number;
  event: string;
  status: string;
  sha: string;
}
interface JobView {
  id: number;
  key: string;
  status: string;
  conclusion: string | null;
}
interface DeploymentView {
  id: number;
  runId: number;
  attempt: number;
  sha: string;
  creator: string;
  approver: string | null;
  status: string;
  rollbackOf: number | null;
}
interface AuditEvent {
  actor: string | null;
  action: string;
  details: Record<string, unknown>;
}

const KUBE_CONFIG = "apiVersion: v1\nclusters: [kube-secret-91]";

const BUILD = `name: Build and Push Docker
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "building $(cat app/version.txt)"
`;

// The seed example's deploy.yml (examples/seed-workflows/deploy.yml), the cluster replaced by a
// script in the repository and the image by an artifact.
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
      - run: mkdir -p out && cp app/version.txt out/version.txt
      - run: echo "kube-present=\${{ secrets.KUBE_CONFIG != '' }}"
      - uses: actions/upload-artifact@v4
        with:
          name: release
          path: out/
  deploy:
    needs: package
    runs-on: ubuntu-latest
    environment: production
    steps:
      - uses: actions/checkout@v4
      - uses: actions/download-artifact@v4
        with:
          name: release
          path: release
      - name: Deploy to cluster
        env:
          KUBE_CONFIG: \${{ secrets.KUBE_CONFIG }}
        run: |
          printf '%s\\n' "$KUBE_CONFIG"
          ./scripts/deploy.sh release
`;

const DEPLOY_SCRIPT = `#!/bin/sh
set -e
cp "$1/version.txt" "$CONVEYOR_TEST_DEPLOY_DIR/live.txt"
echo "deployed $(cat "$1/version.txt")"
`;

const deployDir = mkdtempSync(join(tmpdir(), "conveyor-up-deploy-target-"));
let server: StartedServer;
let project: string;

beforeAll(async () => {
  // `conveyor up` passes its environment on to the jobs of its built-in runner.
  process.env.CONVEYOR_TEST_DEPLOY_DIR = deployDir;
  server = await startServer();
  project = gitRepositoryWith({
    ".github/workflows/build.yml": BUILD,
    ".github/workflows/deploy.yml": DEPLOY,
    "scripts/deploy.sh": DEPLOY_SCRIPT,
    "app/version.txt": "v1\n",
  });
  chmodSync(join(project, "scripts/deploy.sh"), 0o755);
  await git(project, ["commit", "-q", "-am", "executable deploy script"]);
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

/** The built CLI as an async child process (the server must keep answering meanwhile). */
function conveyor(
  args: readonly string[],
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args, "--server", server.url, "--token", server.token], {
    env: { ...process.env, NO_COLOR: "1", XDG_CONFIG_HOME: server.configHome },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin ?? "");
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

const runsOf = async () =>
  (await api<{ runs: RunSummary[] }>(server, "/repos/admin/app/runs?limit=100")).body.runs;
const runOf = async (runId: number) =>
  (await api<{ status: string; attempt: number; jobs: JobView[] }>(server, `/runs/${runId}`)).body;
const logOf = async (jobId: number) =>
  (
    await fetch(`${server.url}/api/v1/jobs/${jobId}/logs?format=text`, {
      headers: { authorization: `Bearer ${server.token}` },
    })
  ).text();
const liveOf = async () =>
  (
    await api<{ live: DeploymentView | null; deployments: DeploymentView[] }>(
      server,
      "/repos/admin/app/environments/production/deployments",
    )
  ).body;

async function pendingIn(runId: number): Promise<void> {
  await eventually(
    () => api<{ pending: DeploymentView[] }>(server, `/runs/${runId}/pending-deployments`),
    (r) => r.body.pending.length === 1,
    60_000,
  );
}

/** Pushes `main`, then waits for the deploy run the build starts to wait for review. */
async function pushAndAwaitReview(): Promise<{ sha: string; runId: number }> {
  const pushed = await git(project, ["push", pushUrl(server, "admin", server.token, "admin/app"), "main"]);
  expect(pushed.status, pushed.stderr).toBe(0);
  const sha = (await git(project, ["rev-parse", "HEAD"])).stdout.trim();
  const runs = await eventually(
    runsOf,
    (r) => r.some((run) => run.event === "workflow_run" && run.sha === sha),
    60_000,
  );
  const runId = (runs.find((r) => r.event === "workflow_run" && r.sha === sha) as RunSummary).id;
  await pendingIn(runId);
  return { sha, runId };
}

async function approveAndFinish(runId: number, comment: string): Promise<JobView[]> {
  const approved = await conveyor(["approve", String(runId), "--comment", comment]);
  expect(approved.code, approved.stderr).toBe(0);
  expect(approved.stdout).toMatch(/^Approved deployment \d+ of deploy to production\.$/m);
  const done = await eventually(
    () => runOf(runId),
    (r) => r.status === "completed",
    60_000,
  );
  return done.jobs;
}

describe("the seed deploy pattern on conveyor up", () => {
  it("builds, waits for approval, deploys, keeps history, rolls back, and audits who did what", async () => {
    expect((await api(server, "/repos", { body: { name: "app" } })).status).toBe(201);
    const rules = await api(server, "/repos/admin/app/environments/production", {
      method: "PUT",
      body: { reviewers: ["admin"], deploymentPolicy: { branches: ["main"], tags: [] } },
    });
    expect(rules.status).toBe(201);
    const secret = await conveyor(
      ["secret", "set", "KUBE_CONFIG", "--repo", "admin/app", "--env", "production"],
      `${KUBE_CONFIG}\n`,
    );
    expect(secret.code, secret.stderr).toBe(0);
    expect(secret.stdout + secret.stderr).not.toContain("kube-secret-91");

    // v1: the deploy job waits without a runner until the reviewer approves from the CLI.
    const v1 = await pushAndAwaitReview();
    const waiting = (await runOf(v1.runId)).jobs.find((j) => j.key.startsWith("deploy")) as JobView;
    expect(waiting.status).toBe("waiting");
    const jobs1 = await approveAndFinish(v1.runId, "ship v1");
    expect(jobs1.map((j) => j.conclusion)).toEqual(["success", "success"]);
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v1\n");
    const packageLog = await logOf((jobs1.find((j) => j.key.startsWith("package")) as JobView).id);
    const deployLog = await logOf((jobs1.find((j) => j.key.startsWith("deploy")) as JobView).id);
    expect(packageLog).toContain("kube-present=false"); // not an environment job: no production secret
    expect(deployLog).toContain("deployed v1");
    expect(deployLog).toContain("***");
    for (const piece of [KUBE_CONFIG, ...KUBE_CONFIG.split("\n")]) {
      expect(packageLog + deployLog).not.toContain(piece);
    }
    const d1 = (await liveOf()).live as DeploymentView;
    expect(d1).toMatchObject({ runId: v1.runId, sha: v1.sha, creator: "admin", approver: "admin" });

    // v2 goes out the same way.
    await writeFile(join(project, "app/version.txt"), "v2\n");
    await git(project, ["commit", "-q", "-am", "version 2"]);
    const v2 = await pushAndAwaitReview();
    await approveAndFinish(v2.runId, "ship v2");
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v2\n");
    const history = await conveyor(["deploy", "history", "production", "--repo", "admin/app"]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain(v2.sha.slice(0, 7));
    expect(history.stdout).toContain(v1.sha.slice(0, 7));

    // Rollback to v1 from the CLI: the old run's deploy job again, through the rules again.
    const rollback = await conveyor([
      "deploy",
      "rollback",
      "production",
      "--to",
      String(d1.id),
      "--repo",
      "admin/app",
    ]);
    expect(rollback.code, rollback.stderr).toBe(0);
    const rollbackRun = Number(/run (\d+), attempt/.exec(rollback.stdout)?.[1]);
    expect(rollbackRun).toBe(v1.runId);
    await pendingIn(rollbackRun);
    const rerun = await approveAndFinish(rollbackRun, "roll back");
    const redeploy = rerun.find((j) => j.key.startsWith("deploy")) as JobView;
    expect(redeploy.conclusion).toBe("success");
    expect(await logOf(redeploy.id)).toContain("deployed v1");
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v1\n");
    const after = await liveOf();
    expect(after.live).toMatchObject({ runId: v1.runId, attempt: 2, sha: v1.sha, rollbackOf: d1.id });
    expect(after.deployments.map((d) => d.status)).toEqual(["success", "inactive", "inactive"]);

    // The audit log: the secret set, each deployment, approval and the rollback, by whom.
    const audit = await api<{ events: AuditEvent[] }>(server, "/audit?limit=200");
    expect(audit.status).toBe(200);
    const trail = audit.body.events
      .filter((e) => e.action.startsWith("deployment.") || e.action.startsWith("secret."))
      .reverse()
      .map((e) => `${e.actor} ${e.action}`);
    expect(trail).toEqual([
      "admin secret.create",
      "admin deployment.create",
      "admin deployment.approve",
      "admin deployment.create",
      "admin deployment.approve",
      "admin deployment.create",
      "admin deployment.rollback",
      "admin deployment.approve",
    ]);
    const rolledBack = audit.body.events.find((e) => e.action === "deployment.rollback") as AuditEvent;
    expect(rolledBack.details).toMatchObject({ fromDeploymentId: d1.id, newRunId: v1.runId });
    expect(JSON.stringify(audit.body)).not.toContain("kube-secret-91");
  }, 240_000);
});
