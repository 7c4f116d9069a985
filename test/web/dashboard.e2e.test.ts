/**
 * The dashboard in headless Chromium against a real server with a real runner: sign in, push a
 * sample repository and watch its run appear and its log stream live, open a failed step's line
 * from its annotation, search the log, cancel a run, re-run failed jobs and one job, dispatch a
 * workflow with typed inputs. HTML in a log line, a job name, a step summary and a branch name must
 * show as text and never run. Screenshots of each view go to test-results/screenshots/.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runner } from "../../src/agent/runner.js";
import type { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "../server/helpers.js";
import { WEB_ROOT, ensureDashboardBuilt, launchBrowser, screenshot, signIn } from "./browser.js";

const PASSWORD = "admin password";
const EVIL_BRANCH = "<svg/onload=window.__pwned=5>";

const CI = `name: CI
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: Compile
        run: |
          printf '\\033[32mgreen text\\033[0m plain\\n'
          echo "::group::Install dependencies"
          for i in 1 2 3; do echo "installing package $i"; done
          echo "::endgroup::"
          echo '<script>window.__pwned = 1</script>'
          echo "needle one"
          for i in $(seq 1 40); do echo "tick $i"; sleep 0.1; done
          echo "needle two"
          echo "needle three"
      - name: Summary
        run: |
          echo '## Build report' >> "$GITHUB_STEP_SUMMARY"
          echo '' >> "$GITHUB_STEP_SUMMARY"
          echo '| file | size |' >> "$GITHUB_STEP_SUMMARY"
          echo '| --- | --- |' >> "$GITHUB_STEP_SUMMARY"
          echo '| app.js | 12 kB |' >> "$GITHUB_STEP_SUMMARY"
          echo '' >> "$GITHUB_STEP_SUMMARY"
          echo '<img src=x onerror="window.__pwned=2"><script>window.__pwned=3</script>injected' >> "$GITHUB_STEP_SUMMARY"
  test:
    needs: build
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        part: [a, b]
    steps:
      - name: Run tests
        run: |
          echo "testing part \${{ matrix.part }}"
          if [ "\${{ matrix.part }}" = b ]; then
            echo "about to fail"
            echo "::error file=src/app.js,line=3,title=Test failed::boom in part b"
            exit 1
          fi
  evil:
    name: "<img src=x onerror=window.__pwned=4>"
    runs-on: ubuntu-latest
    steps:
      - run: echo fine
`;

const SLOW = `name: Slow
on:
  push:
    branches: [main]
jobs:
  wait:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 120
`;

const HELLO = `name: Hello
on:
  push:
    branches-ignore: [main]
jobs:
  hello:
    runs-on: ubuntu-latest
    steps:
      - run: echo hello
`;

const DEPLOY = `name: Deploy
on:
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        options: [staging, production]
        default: staging
      dry-run:
        type: boolean
        default: false
      count:
        type: number
        default: 1
      note:
        type: string
        required: false
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo "env=\${{ inputs.environment }} dry=\${{ inputs.dry-run }} count=\${{ inputs.count }} note=\${{ inputs.note }}"
`;

let server: ConveyorServer;
let runner: Runner;
let browser: Browser;
let page: Page;
let admin: { url: string; token: string };
let project: string;
const dialogs: string[] = [];

interface RunView {
  id: number;
  status: string;
  conclusion: string | null;
  workflow: { name: string };
  branch: string | null;
}

async function runsOf(workflow: string): Promise<RunView[]> {
  const answer = await api<{ runs: RunView[] }>(admin, `/runs?workflow=${encodeURIComponent(workflow)}`);
  return answer.body.runs;
}

async function notPwned(): Promise<void> {
  expect(await page.evaluate("window.__pwned")).toBeUndefined();
  expect(dialogs).toEqual([]);
}

beforeAll(async () => {
  await ensureDashboardBuilt();
  ({ server, runner, admin } = await startInProcess({
    prefix: "conveyor-web-e2e-",
    capacity: 4,
    adminPassword: PASSWORD,
    webRoot: WEB_ROOT,
  }));
  await api(admin, "/repos", { body: { name: "app" } });
  project = gitRepositoryWith({
    ".github/workflows/ci.yml": CI,
    ".github/workflows/slow.yml": SLOW,
    ".github/workflows/hello.yml": HELLO,
    ".github/workflows/deploy.yml": DEPLOY,
    "src/app.js": "const a = 1;\nconst b = 2;\nthrow new Error('boom');\n",
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await runner?.stop({ cancelJobs: true });
  await server?.close();
});

describe("the dashboard", () => {
  it("signs in, shows a pushed run appear, and streams its log live", async () => {
    await signIn(page, server.url, "admin", PASSWORD);
    await page.getByRole("link", { name: "admin/app" }).waitFor();
    await screenshot(page, "home-empty");

    const pushed = await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/app"), "main"]);
    expect(pushed.status, pushed.stderr).toBe(0);
    // The home page polls: the run appears without a reload.
    const row = page.locator(".run-row", { hasText: "CI #1" });
    await row.waitFor({ timeout: 15_000 });
    await screenshot(page, "home");

    await row.getByRole("link").first().click();
    await page.getByTestId("job-graph").waitFor();
    await page.locator('.graph-node[data-job="build"] a').waitFor();
    await page.locator('.graph-node[data-job="build"] a').click();
    const view = page.getByTestId("log-view");
    await page.locator('[data-testid="log-view"][data-ready="true"]').waitFor();
    // Live: lines arrive while the job runs, and follow mode keeps the newest in view.
    await expect
      .poll(() => page.getByTestId("line-count").textContent(), { timeout: 15_000 })
      .toMatch(/live/);
    await view.getByText("tick 10", { exact: true }).waitFor({ timeout: 15_000 });
    await view.getByText("tick 30", { exact: true }).waitFor({ timeout: 15_000 });
    await screenshot(page, "job-log-live");
    await view.getByText("needle three", { exact: true }).waitFor({ timeout: 20_000 });
    await expect
      .poll(() => page.getByTestId("line-count").textContent(), { timeout: 15_000 })
      .not.toMatch(/live/);

    // Colours are classes, the group is folded, and a log line's HTML is text. Follow mode keeps
    // the last lines in view: Home goes back to the first ones.
    await view.focus();
    await page.keyboard.press("Home");
    expect(await view.locator(".ansi-green-fg").first().textContent()).toBe("green text");
    expect(await view.getByText("installing package 1").count()).toBe(0);
    await view.getByRole("button", { name: /Install dependencies/ }).click();
    await view.getByText("installing package 1").waitFor();
    await view.getByText("<script>window.__pwned = 1</script>", { exact: true }).waitFor();
    await notPwned();
  }, 90_000);

  it("searches the log with next and previous", async () => {
    const search = page.getByRole("searchbox", { name: "Search the log" });
    await search.fill("needle");
    // Three in the step's script (folded in its group) and three in its output.
    await expect.poll(() => page.getByTestId("match-count").textContent()).toBe("0/6");
    await search.press("Enter");
    await expect.poll(() => page.getByTestId("match-count").textContent()).toBe("1/6");
    expect(await page.locator(".current-match").textContent()).toContain('echo "needle one"');
    for (let i = 0; i < 3; i++) await search.press("Enter");
    await expect.poll(() => page.getByTestId("match-count").textContent()).toBe("4/6");
    expect(await page.locator(".current-match .log-text").textContent()).toBe("needle one");
    await page.getByRole("button", { name: "Previous match" }).click();
    await expect.poll(() => page.locator(".current-match").textContent()).toContain('echo "needle three"');
    await screenshot(page, "job-log-search");
    await search.fill("");
  });

  it("opens a failed step's line from its annotation, renders summaries sanitised, shows names as text", async () => {
    const [ci] = await eventually(
      () => runsOf("CI"),
      (runs) => runs[0]?.status === "completed",
      30_000,
    );
    await page.goto(`${server.url}/runs/${ci?.id}`);
    await page.locator('.graph-node[data-job="test"][data-state="failure"]').waitFor();
    // The matrix job is one node that opens to its instances.
    await page.locator('.graph-node[data-job="test"] button').click();
    await page.locator('.graph-node[data-job="test"] .graph-node-row', { hasText: "test (b)" }).waitFor();
    // The job named with HTML shows it as text.
    await page.locator(".graph-node-name", { hasText: "<img src=x onerror=window.__pwned=4>" }).waitFor();
    const summary = page.getByTestId("step-summary");
    await summary.locator("table").waitFor();
    expect(await summary.locator("img[onerror], script").count()).toBe(0);
    expect(await summary.textContent()).toContain("injected");
    await screenshot(page, "run");
    await notPwned();

    const annotation = page.getByTestId("annotations").getByRole("link", { name: /boom in part b/ });
    expect(await page.getByTestId("annotations").textContent()).toContain("src/app.js:3");
    await annotation.click();
    await page.locator(".log-line.selected").waitFor();
    expect(await page.locator(".log-line.selected").textContent()).toContain("boom in part b");
    expect(page.url()).toMatch(/#seq-\d+$/);
    await screenshot(page, "job-log-annotation");
  }, 60_000);

  it("re-runs the failed jobs and one job as new attempts, keeping the earlier attempt viewable", async () => {
    const [ci] = await runsOf("CI");
    await page.goto(`${server.url}/runs/${ci?.id}`);
    await page.getByRole("button", { name: "Re-run failed jobs" }).click();
    await page.getByRole("option", { name: "#2 (latest)" }).waitFor({ state: "attached" });
    await page.locator(".jobs-table", { hasText: "kept from the earlier attempt" }).waitFor();
    await eventually(
      () => api<{ status: string; attempt: number }>(admin, `/runs/${ci?.id}`),
      (r) => r.body.attempt === 2 && r.body.status === "completed",
      30_000,
    );
    // One job again: `evil` has no dependents, so only it runs.
    await page.getByRole("button", { name: "Re-run <img src=x onerror=window.__pwned=4>" }).click();
    await page.getByRole("option", { name: "#3 (latest)" }).waitFor({ state: "attached" });
    const third = await api<{ jobs: { name: string; kept: boolean }[] }>(admin, `/runs/${ci?.id}`);
    expect(third.body.jobs.filter((j) => !j.kept).map((j) => j.name)).toEqual([
      "<img src=x onerror=window.__pwned=4>",
    ]);
    await page.getByLabel("Attempt").selectOption("1");
    await page.waitForURL(/attempt=1$/);
    await page.locator(".jobs-table", { hasText: "test (b)" }).waitFor();
    await screenshot(page, "run-attempt-1");
    await notPwned();
  }, 60_000);

  it("cancels a running run", async () => {
    const [slow] = await eventually(
      () => runsOf("Slow"),
      (runs) => runs[0]?.status === "in_progress",
    );
    await page.goto(`${server.url}/runs/${slow?.id}`);
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator('.graph-node[data-job="wait"][data-state="cancelled"]').waitFor({ timeout: 20_000 });
    await screenshot(page, "run-cancelled");
  }, 30_000);

  it("dispatches a workflow with typed inputs", async () => {
    await page.goto(`${server.url}/repos/admin/app`);
    const form = page.getByRole("form", { name: "Run workflow" });
    await form.getByLabel("environment").selectOption("production");
    await form.getByLabel("dry-run").check();
    await form.getByLabel("count").fill("3");
    await form.getByLabel("note").fill("from the browser");
    await screenshot(page, "repository");
    await form.getByRole("button", { name: "Run workflow" }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    await page.locator('.graph-node[data-job="deploy"][data-state="success"]').waitFor({ timeout: 30_000 });
    await page.locator('.graph-node[data-job="deploy"] a').click();
    await page
      .getByTestId("log-view")
      .getByText("env=production dry=true count=3 note=from the browser", { exact: true })
      .waitFor();
  }, 60_000);

  it("shows a branch named with HTML as text", async () => {
    const pushed = await git(project, [
      "push",
      pushUrl(admin, "admin", admin.token, "admin/app"),
      `main:${EVIL_BRANCH}`,
    ]);
    expect(pushed.status, pushed.stderr).toBe(0);
    await eventually(
      () => runsOf("Hello"),
      (runs) => runs.length === 1,
    );
    await page.goto(`${server.url}/repos/admin/app?branch=${encodeURIComponent(EVIL_BRANCH)}`);
    await page.locator(".run-row", { hasText: EVIL_BRANCH }).waitFor();
    await page.goto(`${server.url}/`);
    await page.locator(".run-row", { hasText: EVIL_BRANCH }).first().waitFor();
    await notPwned();
  });

  it("lists runners and tokens, creates a token shown once, and works at phone width in the dark theme", async () => {
    await page.goto(`${server.url}/runners`);
    await page.getByTestId("runners").getByText("online").waitFor();
    await page.getByRole("button", { name: "Create registration token" }).click();
    await page
      .getByTestId("runner-command")
      .getByText(/conveyor runner --server/)
      .waitFor();
    await screenshot(page, "runners");

    await page.goto(`${server.url}/tokens`);
    await page.getByLabel("Name").fill("laptop");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const shown = await page.getByTestId("new-token").locator("code").textContent();
    expect(shown).toMatch(/^\S{20,}$/);
    await screenshot(page, "tokens");
    await page.reload();
    await page.getByTestId("token-list").getByText("laptop").waitFor();
    expect(await page.content()).not.toContain(shown);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: /^Theme:/ }).click();
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    const [ci] = await runsOf("CI");
    await page.goto(`${server.url}/runs/${ci?.id}`);
    await page.getByTestId("job-graph").waitFor();
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(1);
    await screenshot(page, "run-phone-dark");
    await notPwned();
  }, 30_000);
});
