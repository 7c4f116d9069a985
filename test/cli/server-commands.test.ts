/**
 * The CLI commands that talk to a Conveyor server: login, repo, runs, logs --remote (-f), cancel,
 * rerun, dispatch, token, runner-token. A real ConveyorServer in this process (temp data dir,
 * port 0), the built `conveyor` as a real process, git pushing over HTTP, and the test itself
 * acting as a runner over the runner protocol so it decides when each log row arrives.
 * Needs `npm run build` first.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { createServer, connect as connectSocket, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/engine/events.js";
import {
  RUNNER_API_PREFIX,
  RUNNER_PROTOCOL_VERSION,
  type JobLease,
  type PollResponse,
  type RegisterResponse,
} from "../../src/protocol/runner.js";
import { ConveyorServer } from "../../src/server/server.js";
import { git, gitRepositoryWith, pushUrl, startCli } from "../server/helpers.js";
import { CLI, type CliResult } from "./helpers.js";

const WORKFLOW = `name: CI
on:
  push:
  workflow_dispatch:
    inputs:
      greeting:
        type: string
        default: hello
      count:
        type: number
        default: 1
jobs:
  build:
    runs-on: self-hosted
    steps:
      - run: echo "\${{ inputs.greeting }}"
  test:
    needs: build
    runs-on: self-hosted
    steps:
      - run: exit 1
`;

let server: ConveyorServer;
let adminToken: string;
/** XDG_CONFIG_HOME of the CLI processes: `conveyor login` saves the server and token here. */
let configHome: string;

beforeAll(async () => {
  server = await ConveyorServer.start({
    dataDir: mkdtempSync(join(tmpdir(), "conveyor-cli-server-")),
    port: 0,
  });
  const admin = await server.bootstrapAdmin("");
  if (!admin) throw new Error("a fresh server has no admin");
  adminToken = admin.token;
  configHome = mkdtempSync(join(tmpdir(), "conveyor-cli-config-"));
}, 30_000);

afterAll(async () => {
  await server?.close();
});

/** The built CLI as a real process, awaited without blocking this process (the server lives here). */
function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const inherited = { ...process.env };
    delete inherited.CONVEYOR_SERVER;
    delete inherited.CONVEYOR_TOKEN;
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...inherited, XDG_CONFIG_HOME: configHome, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

/** The command failed with this exit code and said this (exactly, or matching) on stderr, and nothing on stdout. */
function expectRefused(result: CliResult, status: 1 | 2, stderr: string | RegExp): void {
  expect(result.stdout).toBe("");
  if (typeof stderr === "string") expect(result.stderr).toBe(stderr);
  else expect(result.stderr).toMatch(stderr);
  expect(result.status).toBe(status);
}

/** A runner speaking the protocol by hand, so the test decides what each job logs and when. */
class ScriptedRunner {
  private credential = "";
  private readonly sent = new Map<string, number>();

  async register(registrationToken: string): Promise<void> {
    const answer = await this.post<RegisterResponse>("/register", {
      registrationToken,
      name: "scripted",
      labels: [],
      capacity: 1,
      protocolVersion: RUNNER_PROTOCOL_VERSION,
      os: "linux",
      arch: "x64",
    });
    this.credential = answer.credential;
  }

  async take(): Promise<JobLease> {
    const answer = await this.post<PollResponse>("/poll", { free: 1, running: [] });
    const lease = answer.jobs[0];
    if (!lease) throw new Error("the server offered no job");
    return lease;
  }

  async send(lease: JobLease, events: readonly RunEvent[]): Promise<void> {
    const first = (this.sent.get(lease.jobId) ?? 0) + 1;
    const rows = events.map((event, i) => ({ seq: first + i, event }));
    await this.post(`/jobs/${lease.jobId}/events`, { rows });
    this.sent.set(lease.jobId, first + events.length - 1);
  }

  async complete(lease: JobLease, conclusion: "success" | "failure"): Promise<void> {
    const lastSeq = this.sent.get(lease.jobId) ?? 0;
    await this.post(`/jobs/${lease.jobId}/complete`, { lastSeq, conclusion, outputs: {} });
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(`${server.url}${RUNNER_API_PREFIX}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.credential}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }
}

const at = new Date().toISOString();
const stepStarted = (jobId: string, step: number, name: string): RunEvent => ({
  type: "step-started",
  jobId,
  step,
  name,
  at,
});
const logLine = (jobId: string, step: number, text: string): RunEvent => ({
  type: "log",
  jobId,
  step,
  text,
  kind: "output",
  stream: "stdout",
  at,
});

/** A loopback TCP relay in front of the server whose connections the test can cut. */
async function startRelay(target: string): Promise<{ url: string; cut: () => void; close: () => void }> {
  const { port } = new URL(target);
  const sockets = new Set<Socket>();
  const relay: Server = createServer((client) => {
    const upstream = connectSocket(Number(port), "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const address = relay.address();
  const relayPort = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${relayPort}`,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => {
      sockets.forEach((s) => s.destroy());
      relay.close();
    },
  };
}

async function apiJson<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return (await response.json()) as T;
}

interface RunJson {
  id: number;
  attempt: number;
  status: string;
  conclusion: string | null;
  jobs: { id: number; name: string; status: string; conclusion: string | null; kept: boolean }[];
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 0;
}

describe("conveyor's server commands", () => {
  let pushedRun: number;
  let dispatchedRun: number;

  it("login refuses a bad token without saving or printing it, then saves a good one", async () => {
    const bogus = "cvt_not-a-real-token-0123456789";
    const refused = await cli(["login", "--server", server.url, "--token", bogus]);
    expectRefused(
      refused,
      1,
      "conveyor login: this token is not valid (unknown or revoked): create a new one with `conveyor token create`.\n",
    );
    expect(refused.stdout + refused.stderr).not.toContain(bogus);
    expect(() => statSync(join(configHome, "conveyor", "client.json"))).toThrow();

    const loggedIn = await cli(["login", "--server", `${server.url}/`, "--token", adminToken]);
    expect(loggedIn.stderr).toBe("");
    expect(loggedIn.stdout).toBe(
      `Logged in to ${server.url} as admin (administrator).\nSaved in ${join(configHome, "conveyor", "client.json")}.\n`,
    );
    expect(loggedIn.stdout).not.toContain(adminToken);
    const saved = join(configHome, "conveyor", "client.json");
    expect(JSON.parse(readFileSync(saved, "utf8"))).toEqual({ server: server.url, token: adminToken });
    expect(statSync(saved).mode & 0o777).toBe(0o600);
  });

  it("says clearly when there is no server, it cannot be reached, or the URL is wrong", async () => {
    const port = await closedPort();
    const [unreachable, nothingConfigured, notAUrl] = await Promise.all([
      cli(["runs", "--server", `http://127.0.0.1:${port}`]),
      cli(["runs"], { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "conveyor-empty-")) }),
      cli(["runs", "--server", "localhost:8080"]),
    ]);
    expectRefused(
      unreachable,
      1,
      `conveyor runs: cannot reach the server at http://127.0.0.1:${port}: is \`conveyor up\` running?\n`,
    );

    expectRefused(
      nothingConfigured,
      2,
      "conveyor runs: no server given: pass --server URL, set CONVEYOR_SERVER, or run `conveyor login --server URL --token T`.\n",
    );

    expectRefused(
      notAUrl,
      2,
      "conveyor runs: the server URL 'localhost:8080' must start with http:// or https://, e.g. --server http://127.0.0.1:8080.\n",
    );
  });

  it("creates a repository, prints how to push to it, and lists it", async () => {
    const created = await cli(["repo", "create", "demo"]);
    expect(created.stderr).toBe("");
    const cloneUrl = `${server.url}/admin/demo.git`;
    expect(created.stdout).toContain(`Created admin/demo (default branch main).\nClone URL: ${cloneUrl}\n`);
    expect(created.stdout).toContain(`  git remote add conveyor ${cloneUrl}\n  git push conveyor main\n`);
    expect(created.status).toBe(0);

    const [again, badName, listed, listedJson] = await Promise.all([
      cli(["repo", "create", "demo"]),
      cli(["repo", "create", "../escape"]),
      cli(["repo", "list"]),
      cli(["repo", "list", "--json"]),
    ]);
    expectRefused(again, 1, "conveyor repo create: the repository admin/demo exists already.\n");
    expectRefused(badName, 1, /^conveyor repo create: repository name '\.\.\/escape' .*letters, digits/);
    expect(listed.stdout.split("\n")[1]).toMatch(new RegExp(`^admin/demo +main +hosted +${cloneUrl}$`));
    const json = JSON.parse(listedJson.stdout) as { fullName: string }[];
    expect(json.map((r) => r.fullName)).toEqual(["admin/demo"]);
  });

  it("lists the run a push started, with filters, as a table or JSON", async () => {
    const project = gitRepositoryWith({ ".github/workflows/ci.yml": WORKFLOW });
    const pushed = await git(project, ["push", pushUrl(server, "admin", adminToken, "admin/demo"), "main"]);
    expect(pushed.status, pushed.stderr).toBe(0);

    const [table, listedJson, dispatchRuns, badStatus, badRepo, unknownRepo] = await Promise.all([
      cli(["runs"]),
      cli(["runs", "--repo", "admin/demo", "--json"]),
      cli(["runs", "--event", "workflow_dispatch"]),
      cli(["runs", "--status", "done"]),
      cli(["runs", "--repo", "demo"]),
      cli(["runs", "--repo", "admin/nope"]),
    ]);
    expect(table.stderr).toBe("");
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Id +Status +Workflow +Branch +Event +Actor +Title +Age$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^\d+ +○ queued +CI #1 +main +push +admin +first commit +\d+s ago$/);

    const json = JSON.parse(listedJson.stdout) as {
      runs: { id: number; event: string }[];
    };
    expect(json.runs.map((r) => r.event)).toEqual(["push"]);
    pushedRun = json.runs[0]?.id ?? 0;

    expect(dispatchRuns.stdout).toBe("no runs match\n");
    expectRefused(badStatus, 1, "conveyor runs: status must be one of queued, in_progress, completed.\n");
    expectRefused(
      badRepo,
      2,
      "conveyor runs: --repo must be owner/name, such as admin/my-app (got 'demo').\n",
    );
    expectRefused(
      unknownRepo,
      1,
      "conveyor runs: no repository admin/nope: create it with `conveyor repo create`.\n",
    );
  });

  it("follows a run live with logs -f: waits for the queued job, survives a cut connection, ends with the jobs", async () => {
    const runnerToken = await cli(["runner-token"]);
    expect(runnerToken.status).toBe(0);
    const command = runnerToken.stdout.trim();
    expect(command).toMatch(new RegExp(`^conveyor runner --server ${server.url} --token \\S+$`));
    const registrationToken = command.split(" ").pop() ?? "";

    const relay = await startRelay(server.url);
    const follower = startCli(["logs", "--server", relay.url, String(pushedRun), "-f"], {
      XDG_CONFIG_HOME: configHome,
    });
    try {
      await follower.waitFor(/● build {2}queued\n/);
      await follower.waitFor(
        /waiting for a runner with the labels \[self-hosted\]: no registered runner has them all/,
      );

      const runner = new ScriptedRunner();
      await runner.register(registrationToken);
      const build = await runner.take();
      await runner.send(build, [stepStarted(build.key, 1, "Run echo"), logLine(build.key, 1, "first line")]);
      await follower.waitFor(/first line\n/);

      relay.cut();
      await runner.send(build, [
        logLine(build.key, 1, "second line"),
        {
          type: "annotation",
          jobId: build.key,
          step: 1,
          level: "warning",
          message: "look here",
          file: "a.ts",
          line: 3,
          at,
        },
      ]);
      await runner.complete(build, "success");
      await follower.waitFor(/● build: success\n/);
      await follower.waitFor(/● test {2}queued\n/);

      const test = await runner.take();
      await runner.send(test, [stepStarted(test.key, 1, "Run exit 1"), logLine(test.key, 1, "it broke")]);
      await runner.complete(test, "failure");
      if (follower.child.exitCode === null) await once(follower.child, "exit");
    } finally {
      await follower.stop();
      relay.close();
    }
    // Every row once, in order, across the cut connection; a failed job makes -f exit 1.
    const output = follower.output();
    expect(output).toMatch(
      /\(connection to http:\/\/127\.0\.0\.1:\d+ lost; reconnecting for build's log from row 3\)/,
    );
    const logs = output
      .split("\n")
      .filter((line) => !line.startsWith("(connection") && !line.startsWith("waiting for"))
      .join("\n");
    expect(logs).toBe(
      [
        "● build  queued",
        "== Run echo",
        "first line",
        "second line",
        "warning: a.ts:3: look here",
        "● build: success",
        "● test  queued",
        "== Run exit 1",
        "it broke",
        "● test: failure",
        "",
      ].join("\n"),
    );
    expect(follower.child.exitCode).toBe(1);
  });

  it("prints a finished run's logs, one job or all, as text or JSON", async () => {
    const run = String(pushedRun);
    const [all, onlyTest, json, noJob, unknown, localFollow] = await Promise.all([
      cli(["logs", "--remote", run]),
      cli(["logs", "--remote", run, "test"]),
      cli(["logs", "--remote", run, "build", "--json"]),
      cli(["logs", "--remote", run, "deploy"]),
      cli(["logs", "--remote", "999"]),
      cli(["logs", "-f", "1"]),
    ]);
    expect(all.stderr).toBe("");
    expect(all.stdout).toBe(
      [
        "● build  success",
        "== Run echo",
        "first line",
        "second line",
        "warning: a.ts:3: look here",
        "● test  failure",
        "== Run exit 1",
        "it broke",
        "",
      ].join("\n"),
    );
    expect(all.status).toBe(0);

    expect(onlyTest.stdout).toBe("● test  failure\n== Run exit 1\nit broke\n");

    const events = json.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as RunEvent);
    expect(events.map((e) => e.type)).toEqual(["step-started", "log", "log", "annotation"]);

    expectRefused(
      noJob,
      1,
      new RegExp(
        `^conveyor logs: no job 'deploy' in run ${pushedRun}; its jobs: build \\(\\d+\\), test \\(\\d+\\)\n$`,
      ),
    );

    expectRefused(unknown, 1, "conveyor logs: no run 999.\n");

    expectRefused(localFollow, 2, /^conveyor logs: -f follows a run on a Conveyor server: add --remote/);
  });

  it("dispatches with inputs the server types, and cancels the run", async () => {
    const [badInput, notAPair, noRepo] = await Promise.all([
      cli(["dispatch", "ci.yml", "--repo", "admin/demo", "-i", "count=many"]),
      cli(["dispatch", "ci.yml", "--repo", "admin/demo", "-i", "count"]),
      cli(["dispatch", "ci.yml"]),
    ]);
    expectRefused(
      badInput,
      1,
      "conveyor dispatch: .github/workflows/ci.yml: input 'count' must be a number, got 'many'\n",
    );
    expectRefused(
      notAPair,
      2,
      "conveyor dispatch: --input 'count' must be key=value, such as -i environment=staging.\n",
    );
    expectRefused(
      noRepo,
      2,
      "conveyor dispatch: --repo is required: name the repository as owner/name, e.g. --repo admin/my-app.\n",
    );

    const started = await cli([
      "dispatch",
      "ci.yml",
      "--repo",
      "admin/demo",
      "-i",
      "greeting=hi there",
      "-i",
      "count=3",
    ]);
    expect(started.stderr).toBe("");
    const match = /^Started run (\d+): CI #2 on main\nFollow it: conveyor logs --remote (\d+) -f\n$/.exec(
      started.stdout,
    );
    expect(match?.[1]).toBe(match?.[2]);
    dispatchedRun = Number(match?.[1]);
    const listed = await cli(["runs", "--event", "workflow_dispatch", "--json"]);
    expect((JSON.parse(listed.stdout) as { runs: { id: number }[] }).runs.map((r) => r.id)).toEqual([
      dispatchedRun,
    ]);

    const cancelled = await cli(["cancel", String(dispatchedRun)]);
    expect(cancelled.stderr).toBe("");
    expect(cancelled.stdout).toBe(
      `Cancelling run ${dispatchedRun}: queued jobs will not start, running ones are stopped.\n`,
    );
    const run = await apiJson<RunJson>(`/runs/${dispatchedRun}`);
    expect([run.status, run.conclusion]).toEqual(["completed", "cancelled"]);

    const [finished, unknown, notANumber] = await Promise.all([
      cli(["cancel", String(pushedRun)]),
      cli(["cancel", "999"]),
      cli(["cancel", "last"]),
    ]);
    expectRefused(finished, 1, `conveyor cancel: run ${pushedRun} has already finished.\n`);
    expectRefused(unknown, 1, "conveyor cancel: no run 999.\n");
    expectRefused(
      notANumber,
      2,
      "conveyor cancel: RUN must be a whole number such as 42 (got 'last'): `conveyor runs` lists them.\n",
    );
  });

  it("re-runs only the failed jobs as a new attempt, and refuses while it runs", async () => {
    const rerun = await cli(["rerun", String(pushedRun), "--failed"]);
    expect(rerun.stderr).toBe("");
    expect(rerun.stdout).toBe(
      `Run ${pushedRun} runs again as attempt 2 (only the failed jobs).\nFollow it: conveyor logs --remote ${pushedRun} -f\n`,
    );
    const run = await apiJson<RunJson>(`/runs/${pushedRun}`);
    expect(run.attempt).toBe(2);
    expect(run.jobs.map((j) => [j.name, j.kept, j.status])).toEqual([
      ["build", true, "completed"],
      ["test", false, "queued"],
    ]);

    const again = await cli(["rerun", String(pushedRun)]);
    expectRefused(
      again,
      1,
      `conveyor rerun: run ${pushedRun} is still running: cancel it or wait for it to finish.\n`,
    );
  });

  it("creates, lists and revokes API tokens; a revoked token is refused", async () => {
    const created = await cli(["token", "create", "ci"]);
    expect(created.stderr).toMatch(/^Created token (\d+) 'ci'; its value is shown this once:\n$/);
    const token = created.stdout.trim();
    expect(token).toMatch(/^\S{20,}$/);
    const tokenId = /token (\d+)/.exec(created.stderr)?.[1] ?? "";

    const [withNewToken, listed] = await Promise.all([
      cli(["runs", "--server", server.url, "--token", token]),
      cli(["token", "list"]),
    ]);
    expect(withNewToken.status).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`\\n${tokenId} +ci +\\S+ \\S+ +(?:never|\\S+ \\S+) +active\\n`));
    expect(listed.stdout).not.toContain(token);

    const revoked = await cli(["token", "revoke", tokenId]);
    expect(revoked.stdout).toBe(`Revoked token ${tokenId}.\n`);
    const [refused, revokedAgain, notAnId] = await Promise.all([
      cli(["runs"], { CONVEYOR_TOKEN: token }),
      cli(["token", "revoke", tokenId]),
      cli(["token", "revoke", "abc"]),
    ]);
    expectRefused(
      refused,
      1,
      "conveyor runs: this token is not valid (unknown or revoked): create a new one with `conveyor token create`.\n",
    );
    expectRefused(revokedAgain, 1, `conveyor token revoke: you have no active token ${tokenId}.\n`);
    expectRefused(notAnId, 2, /^conveyor token revoke: ID must be a whole number/);
  });
});
