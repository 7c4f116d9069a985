import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events.js";
import type { JobLease } from "../protocol/runner.js";
import { HostActionSteps } from "../runner/action-steps.js";
import { runJob } from "../runner/job-runner.js";
import { FileArtifactStore } from "../local/artifact-store.js";
import { FileCacheStore } from "../local/cache-store.js";
import { serveSmartHttp } from "../server/git/smart-http.js";
import { parseGitPath } from "../server/git/repository-names.js";
import { CallTreeCache } from "../workflow/call-tree-cache.js";
import { CheckoutOnDemand, JobWorkspace, RepositoryCache } from "./job-workspace.js";

const TOKEN = "job-token-5e1f0c2a9b";
const WORKFLOW = `
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: cat README && git rev-parse HEAD
`;

let dir: string;
let server: Server;
let base: string;
let work: string;
/** The git server's requests, with the bytes of each answer: a fetch starts with `info/refs`. */
const requests: { endpoint: string; bytes: number }[] = [];
let initialSha: string;

function fetchesSince(mark: number): number {
  return requests.slice(mark).filter((r) => r.endpoint === "info/refs").length;
}

/** Bytes the server sent for the last fetch (its packs, mostly). */
function lastFetchBytes(): number {
  const start = requests.map((r) => r.endpoint).lastIndexOf("info/refs");
  return requests.slice(start).reduce((sum, r) => sum + r.bytes, 0);
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@e",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@e",
    },
  }).trim();
}

async function commit(files: Record<string, string | Buffer>, message: string): Promise<string> {
  for (const [name, content] of Object.entries(files)) await writeFile(join(work, name), content);
  git(work, "add", ".");
  git(work, "commit", "--quiet", "-m", message);
  git(work, "push", "--quiet", join(dir, "served", "acme", "app.git"), "HEAD:refs/heads/main");
  return git(work, "rev-parse", "HEAD");
}

/** Counts what `res` sends, to tell a full pack from an incremental one. */
function countingWrites(response: ServerResponse, count: (bytes: number) => void): void {
  const write = response.write.bind(response) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  response.write = ((chunk: Buffer, ...rest: unknown[]) => {
    count(chunk.length);
    return write(chunk, ...rest);
  }) as typeof response.write;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "conveyor-job-workspace-"));
  await mkdir(join(dir, "served", "acme"), { recursive: true });
  git(dir, "init", "--quiet", "--bare", join(dir, "served", "acme", "app.git"));
  work = join(dir, "work-tree");
  git(dir, "init", "--quiet", "-b", "main", work);
  // A git server as Conveyor's serves it (src/server/git), behind the job token as HTTP basic auth.
  const expected = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`;
  server = createServer((request, response) => {
    const path = parseGitPath(request.url ?? "");
    if (!path || request.headers.authorization !== expected) {
      request.resume();
      response.writeHead(401, { "www-authenticate": 'Basic realm="test"' }).end();
      return;
    }
    const entry = { endpoint: path.gitPath, bytes: 0 };
    requests.push(entry);
    countingWrites(response, (bytes) => (entry.bytes += bytes));
    void serveSmartHttp(request, response, {
      repositoryPath: join(dir, "served", path.owner, `${path.name}.git`),
      gitPath: path.gitPath,
      query: path.query,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  initialSha = await commit({ README: "hello from acme/app\n", "big.bin": randomBytes(300_000) }, "first");
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function lease(jobId: string, sha: string, overrides: Partial<JobLease> = {}): JobLease {
  return {
    jobId,
    runId: "run-1",
    runNumber: 1,
    runAttempt: 1,
    key: "build#0",
    displayName: "build",
    workflowFiles: { ".github/workflows/ci.yml": WORKFLOW },
    workflowPath: ".github/workflows/ci.yml",
    instance: {
      name: "build",
      matrix: null,
      strategy: { "fail-fast": true, "job-index": 0, "job-total": 1, "max-parallel": 1 },
    },
    contexts: {
      github: {
        repository: "acme/app",
        sha,
        ref: "refs/heads/main",
        event_name: "push",
        event_path: "/server/event.json",
      },
      secrets: {},
      vars: {},
      inputs: {},
      needs: {},
    },
    event: { ref: "refs/heads/main", after: sha },
    repository: { fullName: "acme/app", cloneUrl: `${base}/acme/app.git` },
    sha,
    ref: "refs/heads/main",
    token: TOKEN,
    serverUrl: base,
    runtime: { token: "runtime-token", resultsUrl: "http://127.0.0.1:1/", cacheUrl: "http://127.0.0.1:1/" },
    ...overrides,
  };
}

async function prepare(
  data: string,
  jobLease: JobLease,
  repositories = new RepositoryCache(join(data, "repos")),
): Promise<JobWorkspace> {
  const prepared = await JobWorkspace.prepare(jobLease, {
    dataDir: data,
    workflows: new CallTreeCache(),
    repositories,
    signal: new AbortController().signal,
  });
  if (!prepared.ok) throw new Error(prepared.errors.map((e) => e.message).join("; "));
  return prepared.value;
}

/** Runs the prepared job as the runner does, and returns its conclusion and log lines. */
async function run(
  workspace: JobWorkspace,
  data: string,
): Promise<{ conclusion: string; lines: string[]; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const outcome = await runJob(workspace.assignment, {
    run: { runId: "run-1", runNumber: 1, runAttempt: 1, repositoryRoot: workspace.paths.repository },
    workspace: workspace.paths.workspace,
    workspaceHoldsRepository: false,
    runnerTemp: workspace.paths.temp,
    toolCache: join(data, "tool-cache"),
    eventPath: workspace.paths.eventPath,
    hostEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: data },
    actions: new CheckoutOnDemand(
      new HostActionSteps({
        actionCache: join(data, "actions"),
        artifacts: new FileArtifactStore(join(data, "artifacts"), "run-1"),
        caches: new FileCacheStore(join(data, "caches")),
      }),
      workspace,
    ),
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
  });
  const lines = events.flatMap((e) =>
    e.type === "log" ? [e.text] : e.type === "annotation" ? [e.message] : [],
  );
  return { conclusion: outcome.conclusion, lines, events };
}

describe("JobWorkspace", () => {
  it("prepares the job's folders and event file with an empty workspace, and checks the commit out over HTTP on demand", async () => {
    const data = await mkdtemp(join(dir, "runner-"));
    const sha = initialSha;
    const workspace = await prepare(data, lease("job-1", sha));

    expect(workspace.paths.root).toBe(join(data, "work", "job-1"));
    expect(readdirSync(workspace.paths.workspace)).toEqual([]);
    expect(existsSync(workspace.paths.temp)).toBe(true);
    expect(JSON.parse(await readFile(workspace.paths.eventPath, "utf8"))).toEqual({
      ref: "refs/heads/main",
      after: sha,
    });
    expect(workspace.assignment.contexts.github).toMatchObject({ event_path: workspace.paths.eventPath });
    expect(existsSync(workspace.paths.repository)).toBe(false); // nothing fetched before a step needs it

    const mark = requests.length;
    const result = await run(workspace, data);
    expect(result.conclusion).toBe("success");
    expect(result.lines).toContain("hello from acme/app");
    expect(result.lines).toContain(sha);
    expect(fetchesSince(mark)).toBe(1);
    expect(lastFetchBytes()).toBeGreaterThan(300_000);
    // The token went as a header: it is nowhere in the cache's configuration.
    const [cache] = readdirSync(join(data, "repos"));
    expect(cache).toMatch(/^acme_app-[0-9a-f]{12}\.git$/);
    expect(await readFile(join(data, "repos", cache as string, "config"), "utf8")).not.toContain(TOKEN);

    await workspace.dispose();
    expect(existsSync(workspace.paths.root)).toBe(false);

    // A later job fetches only what is new into the same cache.
    const second = await commit({ README: "hello again\n" }, "second");
    const next = await prepare(data, lease("job-2", second));
    const again = await run(next, data);
    expect(again.conclusion).toBe("success");
    expect(again.lines).toContain("hello again");
    expect(lastFetchBytes()).toBeLessThan(50_000);
    expect(readdirSync(join(data, "repos"))).toEqual([cache]);
    await next.dispose();
  });

  it("runs a job with no checkout without fetching anything", async () => {
    const data = await mkdtemp(join(dir, "runner-"));
    const sha = initialSha;
    const files = {
      ".github/workflows/ci.yml": WORKFLOW.replace("      - uses: actions/checkout@v4\n", "").replace(
        "cat README && git rev-parse HEAD",
        "ls -A",
      ),
    };
    const mark = requests.length;
    const workspace = await prepare(data, lease("job-3", sha, { workflowFiles: files }));
    const result = await run(workspace, data);
    expect(result.conclusion).toBe("success");
    expect(requests.length).toBe(mark);
    expect(existsSync(join(data, "repos"))).toBe(false);
  });

  it("serves jobs of one repository leased together with one fetch", async () => {
    const data = await mkdtemp(join(dir, "runner-"));
    const sha = await commit({ "third.txt": "3\n" }, "third");
    const repositories = new RepositoryCache(join(data, "repos"));
    const mark = requests.length;
    const workspaces = await Promise.all(
      ["a", "b", "c"].map((id) => prepare(data, lease(id, sha), repositories)),
    );
    const sources = await Promise.all(workspaces.map((w) => w.checkoutSource(new AbortController().signal)));
    for (const source of sources) expect(source.ok).toBe(true);
    expect(fetchesSince(mark)).toBe(1);
    for (const w of workspaces) expect(git(w.paths.repository, "rev-parse", "HEAD")).toBe(sha);
  });

  it("fetches a commit that no branch or tag holds by its id", async () => {
    const data = await mkdtemp(join(dir, "runner-"));
    git(work, "checkout", "--quiet", "-b", "pull-1");
    await writeFile(join(work, "pr.txt"), "from a pull request\n");
    git(work, "add", ".");
    git(work, "commit", "--quiet", "-m", "pull request");
    const sha = git(work, "rev-parse", "HEAD");
    git(work, "push", "--quiet", join(dir, "served", "acme", "app.git"), "HEAD:refs/pull/1/head");
    git(work, "checkout", "--quiet", "main");
    const workspace = await prepare(data, lease("job-pr", sha));
    const source = await workspace.checkoutSource(new AbortController().signal);
    expect(source.ok).toBe(true);
    expect(await readFile(join(workspace.paths.repository, "pr.txt"), "utf8")).toBe("from a pull request\n");
  });

  it("fails the checkout step with a clear message, without the token, when the server refuses it", async () => {
    const data = await mkdtemp(join(dir, "runner-"));
    const sha = initialSha;
    const wrong = "wrong-token-77aa";
    const workspace = await prepare(data, lease("job-denied", sha, { token: wrong }));
    const result = await run(workspace, data);
    expect(result.conclusion).toBe("failure");
    const message = result.lines.find((line) => line.includes("cannot fetch acme/app"));
    expect(message).toContain(`${base}/acme/app.git`);
    expect(message).toContain("the server refused the job's token (HTTP 401)");
    for (const line of result.lines) {
      expect(line).not.toContain(wrong);
      expect(line).not.toContain(Buffer.from(`x-access-token:${wrong}`).toString("base64"));
    }
  });

  it("refuses a lease whose workflow does not name the job, saying which", async () => {
    const data = await mkdtemp(join(dir, "runner-"));
    const prepared = await JobWorkspace.prepare(lease("job-x", "0".repeat(40), { key: "deploy#0" }), {
      dataDir: data,
      workflows: new CallTreeCache(),
      repositories: new RepositoryCache(join(data, "repos")),
      signal: new AbortController().signal,
    });
    expect(prepared.ok).toBe(false);
    if (!prepared.ok) expect(prepared.errors[0]?.message).toContain("has no job 'deploy'");
  });
});
