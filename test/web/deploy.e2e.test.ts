/**
 * Continuous delivery in the dashboard, in headless Chromium against a real server and runner: the
 * seed example's deploy pattern (a build, then `workflow_run` starts the deploy, which waits for
 * approval of `production`), approved by a reviewer clicking in the Approvals page; the deploy
 * script runs; the environment page shows the history; a click on Rollback redeploys the previous
 * version (approved again in the page); the audit page shows who approved and who rolled back.
 * Secrets set in the page never come back to the browser, and HTML in a review comment or an
 * environment name shows as text.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "../server/helpers.js";
import type { InProcessServer } from "../server/helpers.js";
import { WEB_ROOT, ensureDashboardBuilt, launchBrowser, screenshot, signIn } from "./browser.js";

const PASSWORD = "admin password";
const SECRET = "s3cr3t-value-that-must-never-reach-the-browser";
const EVIL = "<img src=x onerror=window.__pwned=1>";

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

const DEPLOY = `name: Deploy to Production
on:
  workflow_run:
    workflows: ["Build and Push Docker"]
    types: [completed]
    branches: [main]
jobs:
  deploy:
    if: \${{ github.event.workflow_run.conclusion == 'success' }}
    runs-on: ubuntu-latest
    environment:
      name: production
      url: https://app.example.test/\${{ github.sha }}
    steps:
      - uses: actions/checkout@v4
      - name: Deploy
        run: ./scripts/deploy.sh "\${{ secrets.DEPLOY_KEY }}"
`;

const DEPLOY_SCRIPT = `#!/bin/sh
set -e
test -n "$1"
cp app/version.txt "$CONVEYOR_TEST_DEPLOY_DIR/live.txt"
echo "deployed $(cat app/version.txt)"
`;

let started: InProcessServer | undefined;
let server: ConveyorServer;
let browser: Browser;
let page: Page;
let admin: { url: string; token: string };
let project: string;
const deployDir = mkdtempSync(join(tmpdir(), "conveyor-web-deploy-target-"));
/** Every response body the browser received, to look for the secret in. */
const bodies: string[] = [];

interface RunView {
  id: number;
  event: string;
  sha: string;
  status: string;
  attempt: number;
}

async function headSha(): Promise<string> {
  return (await git(project, ["rev-parse", "HEAD"])).stdout.trim();
}

async function deployRunOf(sha: string): Promise<RunView> {
  const runs = await eventually(
    async () => (await api<{ runs: RunView[] }>(admin, "/repos/admin/app/runs?limit=50")).body.runs,
    (r) => r.some((run) => run.event === "workflow_run" && run.sha === sha),
    60_000,
  );
  return runs.find((run) => run.event === "workflow_run" && run.sha === sha) as RunView;
}

async function completed(
  runId: number,
): Promise<{ status: string; conclusion: string | null; attempt: number }> {
  return eventually(
    async () =>
      (await api<{ status: string; conclusion: string | null; attempt: number }>(admin, `/runs/${runId}`))
        .body,
    (r) => r.status === "completed",
    60_000,
  );
}

/** Approves in the Approvals page what waits for `runId`. */
async function approveInPage(runId: number, comment: string): Promise<void> {
  await page.getByRole("link", { name: /^Approvals/ }).click();
  const box = page.locator(".review-box", { hasText: `run ${runId}` });
  await box.waitFor({ timeout: 30_000 });
  await box.getByLabel("Comment (optional)").fill(comment);
  await screenshot(page, `approvals-${runId}`);
  await box.getByRole("button", { name: "Approve and deploy" }).click();
  await box.waitFor({ state: "detached", timeout: 15_000 });
}

beforeAll(async () => {
  process.env.CONVEYOR_TEST_DEPLOY_DIR = deployDir;
  await ensureDashboardBuilt();
  started = await startInProcess({
    prefix: "conveyor-web-deploy-",
    webRoot: WEB_ROOT,
    adminPassword: PASSWORD,
  });
  ({ server, admin } = started);
  await api(admin, "/repos", { body: { name: "app" } });
  const rules = await api(admin, "/repos/admin/app/environments/production", {
    method: "PUT",
    body: { reviewers: ["admin"], deploymentPolicy: { branches: ["main"], tags: [] } },
  });
  expect(rules.status).toBe(201);
  project = gitRepositoryWith({
    ".github/workflows/build.yml": BUILD,
    ".github/workflows/deploy.yml": DEPLOY,
    "scripts/deploy.sh": DEPLOY_SCRIPT,
    "app/version.txt": "v1\n",
  });
  chmodSync(join(project, "scripts/deploy.sh"), 0o755);
  await git(project, ["commit", "-q", "-am", "executable deploy script"]);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("dialog", (dialog) => void dialog.dismiss());
  page.on("response", (response) => {
    void response.text().then(
      (text) => bodies.push(text),
      () => undefined,
    );
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await started?.stop();
});

describe("continuous delivery in the dashboard", () => {
  it("sets a secret that never comes back, approves, deploys, rolls back, and audits", async () => {
    await signIn(page, server.url, "admin", PASSWORD);

    // The deploy key, set in the repository's secrets page: write-only.
    await page.goto(`${server.url}/repos/admin/app/secrets`);
    const secretForm = page.getByTestId("secret-form");
    await secretForm.getByLabel("Name").fill("deploy_key");
    await secretForm.getByLabel(/^Value/).fill(SECRET);
    await secretForm.getByRole("button", { name: "Set secret" }).click();
    await page.getByTestId("secrets").getByText("DEPLOY_KEY").waitFor();
    await screenshot(page, "secrets");

    // Version 1: build, then the deploy run waits for a review.
    const remote = pushUrl(admin, "admin", admin.token, "admin/app");
    expect((await git(project, ["push", remote, "main"])).status).toBe(0);
    const v1 = await headSha();
    const run1 = await deployRunOf(v1);
    await expect.poll(() => page.getByTestId("approval-count").textContent(), { timeout: 30_000 }).toBe("1");
    await approveInPage(run1.id, `ship it ${EVIL}`);
    expect((await completed(run1.id)).conclusion).toBe("success");
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v1\n");

    // Version 2 the same way.
    writeFileSync(join(project, "app/version.txt"), "v2\n");
    await git(project, ["commit", "-q", "-am", "version 2"]);
    expect((await git(project, ["push", remote, "main"])).status).toBe(0);
    const run2 = await deployRunOf(await headSha());
    await approveInPage(run2.id, "v2 looks good");
    expect((await completed(run2.id)).conclusion).toBe("success");
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v2\n");

    // The environment's page: v2 live, v1 inactive with a Rollback button.
    await page.goto(`${server.url}/repos/admin/app/environments`);
    await page.getByTestId("environments").getByRole("link", { name: "production" }).click();
    const history = page.getByTestId("deployments");
    await history.locator("tr[data-deployment]").nth(1).waitFor();
    await expect.poll(() => page.getByTestId("live").textContent()).toContain((await headSha()).slice(0, 7));
    await expect.poll(() => history.textContent()).toContain(`ship it ${EVIL}`);
    await screenshot(page, "environment");
    await page.getByRole("button", { name: /^Roll back to #/ }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
    // The rollback is a new attempt of v1's run, held for review like any deployment.
    await page.waitForURL(new RegExp(`/runs/${run1.id}\\?attempt=2`));
    // Approved right there, in the run page's review box.
    const box = page.locator(".review-box", { hasText: "production" });
    await box.waitFor({ timeout: 30_000 });
    await box.getByLabel("Comment (optional)").fill("roll back to v1");
    await screenshot(page, "run-review");
    await box.getByRole("button", { name: "Approve and deploy" }).click();
    await box.waitFor({ state: "detached", timeout: 15_000 });
    const rolledBack = await completed(run1.id);
    expect(rolledBack).toMatchObject({ conclusion: "success", attempt: 2 });
    expect(readFileSync(join(deployDir, "live.txt"), "utf8")).toBe("v1\n");
    await page.goto(`${server.url}/repos/admin/app/environments/production`);
    await expect.poll(() => page.getByTestId("live").textContent()).toContain(v1.slice(0, 7));
    await expect.poll(() => page.getByTestId("deployments").textContent()).toContain("rollback to #");

    // The audit page: who approved and who rolled back.
    await page.getByRole("link", { name: "Audit" }).click();
    const audit = page.getByTestId("audit");
    await audit.waitFor();
    const text = (await audit.textContent()) ?? "";
    expect(text).toContain("deployment.rollback");
    expect(text).toContain("deployment.approve");
    expect(text).toContain("secret.create");
    await page.getByLabel("Action").fill("deployment.approve");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(async () => audit.locator("tbody tr").count()).toBe(3);
    await screenshot(page, "audit");

    // Nothing ran from the comment, and the secret never reached the browser.
    expect(await page.evaluate("window.__pwned")).toBeUndefined();
    for (const path of ["/approvals", "/repos/admin/app/secrets", "/secrets", "/audit"]) {
      await page.goto(`${server.url}${path}`);
      await page.locator("main").waitFor();
      expect(await page.content()).not.toContain(SECRET);
    }
    await page.waitForTimeout(200); // the last responses' bodies are read asynchronously
    expect(bodies.length).toBeGreaterThan(20);
    expect(bodies.join("\n")).not.toContain(SECRET);
  }, 240_000);

  it("shows an environment named with HTML as text", async () => {
    const created = await api(admin, `/repos/admin/app/environments/${encodeURIComponent(EVIL)}`, {
      method: "PUT",
      body: { reviewers: ["admin"] },
    });
    expect(created.status).toBe(201);
    await page.goto(`${server.url}/repos/admin/app/environments`);
    await page.getByTestId("environments").getByText(EVIL).waitFor();
    await page.getByTestId("environments").getByRole("link", { name: EVIL }).click();
    await page.getByRole("heading", { name: EVIL }).waitFor();
    expect(await page.evaluate("window.__pwned")).toBeUndefined();
  }, 60_000);
});
