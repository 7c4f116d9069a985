/**
 * Issue 4's "Reliability and security" acceptance, with real processes, git and HTTP: a server
 * killed with SIGKILL mid-run and restarted, a runner killed mid-job, a cancel that reaches the
 * step's processes within a second, and what the server refuses or never stores in plain text.
 * (200 pushes at once: push-storm.test.ts.)
 *
 * The two tests that wait for a lease to run out (60 s by design) run concurrently; the
 * timing-sensitive cancel runs after them, alone.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { arch, platform, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEASE_SECONDS, RUNNER_API_PREFIX, RUNNER_PROTOCOL_VERSION } from "../../src/protocol/runner.js";
import type { PollRequest, PollResponse, RegisterResponse } from "../../src/protocol/runner.js";
import { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startCli } from "./helpers.js";
import type { RunningProcess } from "./helpers.js";
import { RecordingProxy } from "./recording-proxy.js";

interface JobView {
  id: number;
  key: string;
  status: string;
  conclusion: string | null;
  runnerId: number | null;
  reason: string | null;
  waitingReason: string | null;
  finishedAt: string | null;
  steps: { name: string; status: string; conclusion: string | null }[];
}

interface RunView {
  id: number;
  status: string;
  conclusion: string | null;
  jobs: JobView[];
}

interface LogRow {
  seq: number;
  event: { type: string; text?: string };
}

type Server = { url: string; token: string };

const SWEEP_EVERY_SECONDS = 2;

const tmp = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/** Everything started here, stopped at the end even when a test fails half-way. */
const cleanups: (() => Promise<unknown>)[] = [];
function track(process: RunningProcess, group = false): RunningProcess {
  cleanups.push(async () => {
    if (group && process.child.pid !== undefined && process.child.exitCode === null) {
      try {
        globalThis.process.kill(-process.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await process.stop("SIGKILL");
  });
  return process;
}

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}, 30_000);

/** A port free now, for a server that must come back on the same one. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const runOf = async (server: Server, runId: number): Promise<RunView> =>
  (await api<RunView>(server, `/runs/${runId}`)).body;

const jobOf = (run: RunView, name: string): JobView => {
  const job = run.jobs.find((j) => j.key.startsWith(`${name}#`));
  if (!job) throw new Error(`no job ${name} in ${JSON.stringify(run)}`);
  return job;
};

async function logRows(server: Server, jobId: number): Promise<LogRow[]> {
  return (await api<{ rows: LogRow[] }>(server, `/jobs/${jobId}/logs?limit=100000`)).body.rows;
}

const logLines = (rows: readonly LogRow[]): string[] =>
  rows.filter((r) => r.event.type === "log").map((r) => r.event.text ?? "");

/** Pushes `main` and returns the run it started (there is one workflow). */
async function pushAndGetRun(server: Server, project: string, repository: string): Promise<number> {
  const pushed = await git(project, ["push", pushUrl(server, "admin", server.token, repository), "main"]);
  expect(pushed.status, pushed.stderr).toBe(0);
  const runs = await api<{ runs: { id: number }[] }>(server, `/repos/${repository}/runs`);
  expect(runs.body.runs).toHaveLength(1);
  return (runs.body.runs[0] as { id: number }).id;
}

async function registrationToken(server: Server): Promise<string> {
  const made = await api<{ token: string }>(server, "/runners/registration-token", { body: {} });
  expect(made.status).toBe(201);
  return made.body.token;
}

function startRunner(
  serverUrl: string,
  token: string,
  name: string,
  labels: string,
  options: { dir?: string; detached?: boolean; capacity?: number } = {},
): RunningProcess {
  const args = ["runner", "--server", serverUrl, "--token", token, "--labels", labels, "--name", name];
  args.push("--dir", options.dir ?? tmp(`conveyor-runner-${name}-`));
  args.push("--capacity", String(options.capacity ?? 1));
  return track(startCli(args, {}, { detached: options.detached }), options.detached);
}

async function waitForRunner(server: Server, name: string): Promise<number> {
  const runners = await eventually(
    () => api<{ id: number; name: string; online: boolean }[]>(server, "/runners"),
    (r) => r.body.some((runner) => runner.name === name && runner.online),
    30_000,
  );
  return (runners.body.find((r) => r.name === name) as { id: number }).id;
}

/** A runner registered by speaking the protocol directly, to behave as no real runner would. */
async function registerRawRunner(
  url: string,
  registrationToken: string,
  name: string,
  labels: readonly string[],
): Promise<RegisterResponse> {
  const registered = await fetch(`${url}${RUNNER_API_PREFIX}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      registrationToken,
      name,
      labels,
      capacity: 1,
      protocolVersion: RUNNER_PROTOCOL_VERSION,
      os: platform(),
      arch: arch(),
    }),
  });
  expect(registered.status).toBe(201);
  return (await registered.json()) as RegisterResponse;
}

/** One poll for one job; the server holds it until it has one. */
async function rawPoll(url: string, credential: string, signal?: AbortSignal): Promise<PollResponse> {
  const answer = await fetch(`${url}${RUNNER_API_PREFIX}/poll`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${credential}` },
    body: JSON.stringify({ free: 1, running: [] }),
    signal,
  });
  return (await answer.json()) as PollResponse;
}

/** Whether a process is gone: no such pid, or a zombie nobody reaped yet (it runs nothing). */
async function isGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

async function readPid(path: string): Promise<number> {
  const pid = await eventually(
    () => readFile(path, "utf8").then(Number, () => NaN),
    (n) => Number.isInteger(n) && n > 0,
    30_000,
  );
  return pid;
}

/** A raw HTTP request, its path sent exactly as given (no URL normalisation). */
function rawRequest(
  url: string,
  method: string,
  path: string,
  authorization: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sent = request({ host: hostname, port, method, path, headers: { authorization } }, (answer) => {
      let body = "";
      answer.setEncoding("utf8");
      answer.on("data", (chunk: string) => (body += chunk));
      answer.on("end", () => resolve({ status: answer.statusCode ?? 0, body }));
    });
    sent.on("error", reject);
    sent.end();
  });
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** A step printing numbered lines slowly, so that it is surely mid-way when something dies. */
const numberedLines = (name: string, count: number): string =>
  `for i in $(seq 1 ${count}); do echo "${name} line $i"; sleep 0.05; done`;

// The projects, made before any server runs: making them blocks this process, which serves too.
const pids = tmp("conveyor-pids-");
const tokenDrop = tmp("conveyor-token-drop-");
let projects: Record<"restart" | "lost" | "fickle" | "late" | "slow" | "tokens", string>;

beforeAll(() => {
  projects = {
    restart: gitRepositoryWith({
      ".github/workflows/restart.yml": `name: Restart
on: push
jobs:
  outside:
    runs-on: [self-hosted, outside]
    steps:
      - run: ${numberedLines("outside", 100)}
  inside:
    runs-on: [self-hosted, inside]
    steps:
      - run: ${numberedLines("inside", 1500)}
  after:
    needs: outside
    runs-on: [self-hosted, inside]
    steps:
      - run: echo "the built-in runner is back"
`,
    }),
    lost: gitRepositoryWith({
      ".github/workflows/lost.yml": `name: Lost
on: push
jobs:
  doomed:
    runs-on: [self-hosted, doomed]
    steps:
      - run: ${numberedLines("doomed", 1500)}
  lonely:
    runs-on: [self-hosted, lonely]
    steps:
      - run: echo "lonely ran"
`,
    }),
    fickle: gitRepositoryWith({
      ".github/workflows/fickle.yml":
        "name: Fickle\non: push\njobs:\n  picky:\n    runs-on: [self-hosted, fickle]\n    steps: [{ run: 'true' }]\n",
    }),
    late: gitRepositoryWith({
      ".github/workflows/late.yml":
        "name: Late\non: push\njobs:\n  waiter:\n    runs-on: [self-hosted, late]\n    steps: [{ run: 'true' }]\n",
    }),
    slow: gitRepositoryWith({
      ".github/workflows/slow.yml": `name: Slow
on: push
jobs:
  sleepy:
    runs-on: [self-hosted, sec]
    steps:
      - run: |
          sleep 120 &
          echo $! > "${pids}/sleep.pid"
          echo $$ > "${pids}/shell.pid"
          echo "sleeping"
          wait
`,
    }),
    tokens: gitRepositoryWith({
      "README.md": "token test\n",
      ".github/workflows/tokens.yml": `name: Tokens
on: push
jobs:
  peek:
    runs-on: [self-hosted, sec]
    permissions:
      contents: read
      actions: read
      statuses: write
    env:
      JOB_TOKEN: \${{ secrets.GITHUB_TOKEN }}
    steps:
      - run: |
          echo "token is $JOB_TOKEN"
          printf '%s' "$JOB_TOKEN" > "${tokenDrop}/token.partial"
          mv "${tokenDrop}/token.partial" "${tokenDrop}/token"
          for i in $(seq 1 600); do [ -f "${tokenDrop}/go" ] && exit 0; sleep 0.05; done
          exit 1
`,
    }),
  };
});

describe.concurrent("when processes die or pile up", () => {
  it("carries a run on through a server killed with SIGKILL and restarted, losing no acknowledged row", async ({
    expect,
  }) => {
    const port = await freePort();
    // Runners reach the server through a recording proxy: it sees exactly what they were told.
    const proxy = await RecordingProxy.start(port);
    cleanups.push(() => proxy.close());
    const dataDir = tmp("conveyor-restart-");
    const configHome = tmp("conveyor-restart-config-");
    const upArgs = ["up", "--port", String(port), "--data-dir", dataDir, "--public-url", proxy.url];
    upArgs.push("--runner-capacity", "2", "--runner-labels", "inside");
    const firstServer = track(startCli(upArgs, { XDG_CONFIG_HOME: configHome }));
    await firstServer.waitFor(/Conveyor is up at/, 30_000);
    const server: Server = {
      url: `http://127.0.0.1:${port}`,
      token: (await firstServer.waitFor(/API token: (\S+)/))[1] as string,
    };
    expect((await api(server, "/repos", { body: { name: "restart" } })).status).toBe(201);
    const outsideRunner = startRunner(proxy.url, await registrationToken(server), "outside-box", "outside");
    const outsideRunnerId = await waitForRunner(server, "outside-box");
    const runId = await pushAndGetRun(server, projects.restart, "admin/restart");

    // Both jobs are mid-way, on the built-in runner and on the other runner, when the server dies.
    const midway = await eventually(
      async () => {
        const run = await runOf(server, runId);
        const counts = [];
        for (const name of ["outside", "inside"]) {
          const job = run.jobs.find((j) => j.key.startsWith(`${name}#`));
          counts.push(job ? logLines(await logRows(server, job.id)).length : 0);
        }
        return { run, counts };
      },
      ({ counts }) => counts.every((n) => n >= 10),
      60_000,
    );
    const inside = jobOf(midway.run, "inside");
    const outside = jobOf(midway.run, "outside");
    expect(outside.status).toBe("in_progress");
    await firstServer.stop("SIGKILL");
    const acknowledgedBeforeKill = proxy.acknowledged.get(inside.id) ?? 0;
    expect(acknowledgedBeforeKill).toBeGreaterThanOrEqual(10);

    const secondServer = track(startCli(upArgs, { XDG_CONFIG_HOME: configHome }));
    await secondServer.waitFor(/Conveyor is up at/, 30_000);

    // The inside job's runner died with the server: its lease runs out and the sweeper ends it.
    const finished = await eventually(
      () => runOf(server, runId),
      (run) => run.status === "completed",
      (LEASE_SECONDS + 40) * 1000,
    );
    expect(finished.conclusion).toBe("failure");
    const endedInside = jobOf(finished, "inside");
    expect(endedInside).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(endedInside.reason).toMatch(/^runner lost: /);
    expect(endedInside.steps.every((s) => s.status === "completed")).toBe(true);
    // The other runner carried on: its job finished with every line, each once, in order.
    const endedOutside = jobOf(finished, "outside");
    expect(endedOutside).toMatchObject({ conclusion: "success", runnerId: outsideRunnerId });
    expect(logLines(await logRows(server, outside.id)).filter((l) => l.startsWith("outside line"))).toEqual(
      Array.from({ length: 100 }, (_, i) => `outside line ${i + 1}`),
    );
    await outsideRunner.waitFor(/again/);
    // The restarted built-in runner is the same runner (its stored credential), taking new jobs.
    expect(jobOf(finished, "after")).toMatchObject({ conclusion: "success", runnerId: inside.runnerId });
    expect(finished.jobs.every((j) => j.status === "completed")).toBe(true);

    // Every row a runner saw acknowledged is there, exactly as it was sent.
    for (const job of [inside, outside]) {
      const acknowledged = proxy.acknowledged.get(job.id) ?? 0;
      const sent = proxy.sent.get(job.id) ?? new Map<number, string>();
      const stored = await logRows(server, job.id);
      expect(stored.length).toBeGreaterThanOrEqual(acknowledged);
      for (let seq = 1; seq <= acknowledged; seq++) {
        expect(stored[seq - 1]?.seq).toBe(seq);
        expect(JSON.stringify(stored[seq - 1]?.event)).toBe(sent.get(seq));
      }
    }
    const logged = firstServer.output() + secondServer.output();
    expect(logged).not.toMatch(/database is locked/i);
    expect(logged).not.toMatch(/a bug in Conveyor/);
  }, 180_000);

  it("ends a killed runner's job as 'runner lost', re-queues a job leased but never started, and says why a job waits", async ({
    expect,
  }) => {
    const conveyor = await ConveyorServer.start({ dataDir: tmp("conveyor-lost-"), port: 0 });
    cleanups.push(() => conveyor.close());
    const server: Server = {
      url: conveyor.url,
      token: (await conveyor.bootstrapAdmin("admin password"))?.token ?? "",
    };
    expect((await api(server, "/repos", { body: { name: "lost" } })).status).toBe(201);
    const token = await registrationToken(server);
    const doomedRunner = startRunner(server.url, token, "doomed-box", "doomed", { detached: true });
    await waitForRunner(server, "doomed-box");

    // A runner that takes a job and dies before sending a single row: it speaks the protocol
    // itself, polls once, and is never heard from again.
    const silent = await registerRawRunner(server.url, token, "silent-box", ["lonely"]);
    const silentPoll = rawPoll(server.url, silent.credential);

    const runId = await pushAndGetRun(server, projects.lost, "admin/lost");
    expect((await silentPoll).jobs.map((j) => j.key)).toEqual([expect.stringMatching(/^lonely#/)]);
    const running = await eventually(
      async () => {
        const run = await runOf(server, runId);
        const doomed = run.jobs.find((j) => j.key.startsWith("doomed#"));
        return { run, lines: doomed ? logLines(await logRows(server, doomed.id)).length : 0 };
      },
      ({ lines }) => lines >= 10,
      60_000,
    );
    expect(jobOf(running.run, "lonely")).toMatchObject({
      status: "in_progress",
      runnerId: Number(silent.runnerId),
    });

    // SIGKILL to the runner's whole process group, mid-job.
    process.kill(-(doomedRunner.child.pid as number), "SIGKILL");
    const killedAt = Date.now();
    await doomedRunner.stop("SIGKILL");

    // The job that never started goes back to the queue, and says why nobody takes it.
    const requeued = await eventually(
      () => runOf(server, runId),
      (run) => jobOf(run, "lonely").status === "queued",
      (LEASE_SECONDS + 15) * 1000,
    );
    expect(jobOf(requeued, "lonely")).toMatchObject({ runnerId: null, conclusion: null });
    expect(jobOf(requeued, "lonely").waitingReason).toMatch(/\[self-hosted, lonely\].*silent-box is offline/);

    const rescuer = startRunner(server.url, token, "rescuer-box", "lonely");
    const rescuerId = await waitForRunner(server, "rescuer-box");
    const finished = await eventually(
      () => runOf(server, runId),
      (run) => run.status === "completed",
      (LEASE_SECONDS + 30) * 1000,
    );
    expect(finished.conclusion).toBe("failure");
    expect(jobOf(finished, "lonely")).toMatchObject({ conclusion: "success", runnerId: rescuerId });
    const doomed = jobOf(finished, "doomed");
    expect(doomed).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(doomed.reason).toMatch(/^runner lost: runner 'doomed-box' stopped answering/);
    expect(doomed.steps.every((s) => s.status === "completed")).toBe(true);
    // The lease (60 s from the runner's last request) plus one sweep, with a little margin.
    const lostAfter = Date.parse(doomed.finishedAt as string) - killedAt;
    expect(lostAfter).toBeLessThan((LEASE_SECONDS + SWEEP_EVERY_SECONDS + 3) * 1000);
    expect(await conveyor.store.jobs.running()).toEqual([]);
    await rescuer.stop();
  }, 180_000);
});

describe("cancel and security, on one server", () => {
  let conveyor: ConveyorServer;
  let server: Server;
  let registration: string;
  const dataDir = tmp("conveyor-sec-");
  const runnerDir = tmp("conveyor-runner-sec-");
  let jobToken = "";

  beforeAll(async () => {
    conveyor = await ConveyorServer.start({ dataDir, port: 0 });
    cleanups.push(() => conveyor.close());
    server = { url: conveyor.url, token: (await conveyor.bootstrapAdmin("admin password"))?.token ?? "" };
    for (const name of ["slow", "tokens", "fickle", "late"])
      expect((await api(server, "/repos", { body: { name } })).status).toBe(201);
    registration = await registrationToken(server);
    startRunner(server.url, registration, "sec-box", "sec", { dir: runnerDir, capacity: 2 });
    await waitForRunner(server, "sec-box");
  }, 60_000);

  it("delivers a cancel to the runner, which kills the step's processes within a second", async () => {
    const runId = await pushAndGetRun(server, projects.slow, "admin/slow");
    const shell = await readPid(join(pids, "shell.pid"));
    const sleeper = await readPid(join(pids, "sleep.pid"));
    expect(await isGone(shell)).toBe(false);

    const asked = performance.now();
    expect((await api(server, `/runs/${runId}/cancel`, { body: {} })).status).toBe(202);
    await eventually(
      async () => (await isGone(shell)) && (await isGone(sleeper)),
      (gone) => gone,
      10_000,
    );
    const took = performance.now() - asked;
    expect(took).toBeLessThan(1_500);

    const finished = await eventually(
      () => runOf(server, runId),
      (run) => run.status === "completed",
    );
    expect(finished.conclusion).toBe("cancelled");
    expect(jobOf(finished, "sleepy").conclusion).toBe("cancelled");
  }, 60_000);

  it("leases nothing to a runner that dropped its poll: the job waits, and says why", async () => {
    const fickle = await registerRawRunner(server.url, registration, "fickle-box", ["fickle"]);
    const dropped = new AbortController();
    const poll = rawPoll(server.url, fickle.credential, dropped.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300)); // held by the server by now
    dropped.abort();
    await poll;
    const runId = await pushAndGetRun(server, projects.fickle, "admin/fickle");
    // A poll still held for the runner would take the job at once, or at its next re-check.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const waiting = jobOf(await runOf(server, runId), "picky");
    expect(waiting).toMatchObject({ status: "queued", runnerId: null });
    expect(waiting.waitingReason).toMatch(
      /waiting for a free runner with the labels \[self-hosted, fickle\]/,
    );
    expect((await api(server, `/runs/${runId}/cancel`, { body: {} })).status).toBe(202);
    expect(await runOf(server, runId)).toMatchObject({ status: "completed", conclusion: "cancelled" });
  });

  it("acts only on a runner's newest poll: one it gave up on, handled late, sends back no job it holds", async () => {
    const late = await registerRawRunner(server.url, registration, "late-box", ["late"]);
    const poll = async (body: PollRequest, signal?: AbortSignal): Promise<PollResponse> => {
      const answer = await fetch(`${server.url}${RUNNER_API_PREFIX}/poll`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${late.credential}` },
        body: JSON.stringify(body),
        signal,
      });
      return (await answer.json()) as PollResponse;
    };
    const runId = await pushAndGetRun(server, projects.late, "admin/late");
    const session = "one-runner-process";
    const newest = await poll({ free: 1, running: [], session, sequence: 2 });
    expect(newest.jobs).toHaveLength(1);
    const jobId = newest.jobs[0]?.jobId ?? "";
    // The poll the runner gave up on just before, reaching the handler only now: it knows
    // nothing of the job, and taken at its word would put it back in the queue.
    expect(await poll({ free: 1, running: [], session, sequence: 1 })).toEqual({ jobs: [], cancel: [] });
    expect(jobOf(await runOf(server, runId), "waiter")).toMatchObject({ status: "in_progress" });
    // The runner's next poll names the job, which is still its own: nothing to cancel, so the
    // server holds the poll instead of answering with a cancel.
    const held = await poll(
      { free: 0, running: [jobId], session, sequence: 3 },
      AbortSignal.timeout(1_500),
    ).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(DOMException);
    expect(jobOf(await runOf(server, runId), "waiter")).toMatchObject({ status: "in_progress" });
    expect((await api(server, `/runs/${runId}/cancel`, { body: {} })).status).toBe(202);
  });

  it("refuses repository names that try path traversal or odd characters, in the API and the git routes", async () => {
    const refused = ["../x", "a/b", ".git", "x.git", "..", "x\u0000y", "a".repeat(101), "a".repeat(10_000)];
    for (const name of refused) {
      const created = await api<{ error: string }>(server, "/repos", { body: { name } });
      expect(created.status, JSON.stringify(name).slice(0, 40)).toBe(400);
      expect(created.body.error).toMatch(/repository name/);
    }
    const asOwner = await api<{ error: string }>(server, "/repos", {
      body: { owner: "../admin", name: "x" },
    });
    expect(asOwner.status).toBe(400);
    expect((await api(server, "/repos/admin/..%2F..%2Fetc")).status).toBe(404);

    // Bare repositories a traversal would reach, were it followed.
    for (const decoy of [join(dataDir, "decoy.git"), join(dataDir, "repositories", "decoy.git")])
      expect((await git(dataDir, ["init", "-q", "--bare", decoy])).status).toBe(0);
    const service = "info/refs?service=git-upload-pack";
    const paths = [
      `/admin/..%2Fdecoy.git/${service}`,
      `/admin/..%2F..%2Fdecoy.git/${service}`,
      `/../decoy.git/${service}`,
      `/admin/../../decoy.git/${service}`,
      `/..%2F..%2Fdecoy/${service}`,
      `/admin/.git/${service}`,
      `/admin/slow%00.git/${service}`,
      `/admin/${"a".repeat(5_000)}.git/${service}`,
    ];
    for (const path of paths) {
      const answer = await rawRequest(server.url, "GET", path, basic("admin", server.token));
      expect(answer.status, path.slice(0, 60)).toBeGreaterThanOrEqual(400);
      expect(answer.status, path.slice(0, 60)).toBeLessThan(500);
      expect(answer.body).not.toContain("# service=");
    }
    const pushTo = await rawRequest(
      server.url,
      "POST",
      "/admin/..%2Fdecoy/git-receive-pack",
      basic("admin", server.token),
    );
    expect(pushTo.status).toBe(404);
    const lsRemote = await git(dataDir, [
      "ls-remote",
      pushUrl(server, "admin", server.token, "admin/..%2Fdecoy"),
    ]);
    expect(lsRemote.status).not.toBe(0);
    // Only the repositories made through the API have folders.
    expect(readdirSync(join(dataDir, "repositories")).sort()).toEqual(["admin", "decoy.git"]);
    expect(readdirSync(join(dataDir, "repositories", "admin")).sort()).toEqual([
      "fickle.git",
      "late.git",
      "slow.git",
      "tokens.git",
    ]);
  });

  it("honours a job token only while its job runs: it fetches then, never pushes, and is refused once the job ended", async () => {
    const runId = await pushAndGetRun(server, projects.tokens, "admin/tokens");
    jobToken = await eventually(
      () => readFile(join(tokenDrop, "token"), "utf8").catch(() => ""),
      (text) => text !== "",
      30_000,
    );
    expect(jobToken).toMatch(/^cvj_/);
    const asJob = pushUrl(server, "x-access-token", jobToken, "admin/tokens");
    const fetched = await git(projects.tokens, ["ls-remote", asJob]);
    expect(fetched.status, fetched.stderr).toBe(0);
    expect(fetched.stdout).toMatch(/refs\/heads\/main/);
    const pushed = await git(projects.tokens, ["push", asJob, "main:refs/heads/by-a-job"]);
    expect(pushed.status).not.toBe(0);
    expect(pushed.stderr).toMatch(/403|cannot push/);

    // The API: its own run and its artifacts with `actions: read`; nothing of another repository,
    // and no route meant for people.
    const asJobApi = { url: server.url, token: jobToken };
    const ownRun = await api<{ id: number; repository: string }>(asJobApi, `/runs/${runId}`);
    expect(ownRun.status).toBe(200);
    expect(ownRun.body).toMatchObject({ id: runId, repository: "admin/tokens" });
    expect((await api(asJobApi, `/runs/${runId}/artifacts`)).status).toBe(200);
    const others = await api<{ runs: { id: number; repository: string }[] }>(server, "/runs?limit=100");
    const other = others.body.runs.find((r) => r.repository !== "admin/tokens");
    expect(other).toBeDefined();
    const foreign = await api<{ error: string }>(asJobApi, `/runs/${other?.id ?? 0}`);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatch(/its own repository only/);
    // Commit statuses: the job sets one on its commit, as GitHub's statuses API has it.
    const sha = (await git(projects.tokens, ["rev-parse", "HEAD"])).stdout.trim();
    const set = await api<{ state: string; context: string; creator: string }>(
      asJobApi,
      `/repos/admin/tokens/statuses/${sha}`,
      {
        body: {
          state: "pending",
          context: "ci/lint",
          description: "linting",
          target_url: "https://ci.example.test/1",
        },
      },
    );
    expect(set.status).toBe(201);
    expect(set.body).toMatchObject({
      state: "pending",
      context: "ci/lint",
      creator: expect.stringMatching(/^job:\d+$/),
    });
    const bad = await api<{ error: string }>(asJobApi, `/repos/admin/tokens/statuses/${sha}`, {
      body: { state: "green" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/state must be one of error, failure, pending, success/);
    expect(
      (await api(asJobApi, `/repos/admin/tokens/statuses/not-a-sha`, { body: { state: "success" } })).status,
    ).toBe(400);
    const elsewhere = await api<{ error: string }>(asJobApi, `/repos/admin/slow/statuses/${sha}`, {
      body: { state: "success" },
    });
    expect(elsewhere.status).toBe(403);
    await api(server, `/repos/admin/tokens/statuses/${sha}`, {
      body: { state: "success", context: "ci/lint" },
    });
    await api(server, `/repos/admin/tokens/statuses/${sha}`, {
      body: { state: "failure", context: "ci/test" },
    });
    const combined = await api<{ state: string; statuses: { context: string; state: string }[] }>(
      asJobApi,
      `/repos/admin/tokens/commits/${sha}/status`,
    );
    expect(combined.body.state).toBe("failure");
    expect(combined.body.statuses.map((s) => `${s.context}=${s.state}`)).toEqual([
      "ci/test=failure",
      "ci/lint=success",
    ]);
    const all = await api<unknown[]>(server, `/repos/admin/tokens/commits/${sha}/statuses`);
    expect(all.body).toHaveLength(3);

    for (const path of ["/user", "/runners", "/audit", "/repos/admin/tokens/secrets"]) {
      const personal = await api<{ error: string }>(asJobApi, path);
      expect(personal.status, path).toBe(403);
      expect(personal.body.error, path).toMatch(/cannot use this route/);
    }

    await writeFile(join(tokenDrop, "go"), "");
    const finished = await eventually(
      () => runOf(server, runId),
      (run) => run.status === "completed",
    );
    expect(finished.conclusion).toBe("success");
    const log = logLines(await logRows(server, jobOf(finished, "peek").id));
    expect(log).toContain("token is ***");
    expect(log.join("\n")).not.toContain(jobToken);

    const refused = await git(projects.tokens, ["ls-remote", asJob]);
    expect(refused.status).not.toBe(0);
    const answer = await rawRequest(
      server.url,
      "GET",
      "/admin/tokens.git/info/refs?service=git-upload-pack",
      basic("x-access-token", jobToken),
    );
    expect(answer.status).toBe(401);
    expect(answer.body).toMatch(/job has ended/);
    const ended = await api<{ error: string }>({ url: server.url, token: jobToken }, `/runs/${runId}`);
    expect(ended.status).toBe(401);
    expect(ended.body.error).toMatch(/its job has ended/);
  }, 60_000);

  it("stores API tokens, passwords, registration tokens and runner credentials only as hashes", async () => {
    expect(jobToken).not.toBe(""); // from the test before
    const second = await api<{ token: string }>(server, "/user/tokens", { body: { name: "laptop" } });
    expect(second.status).toBe(201);
    const runnerFile = join(runnerDir, "runner.json");
    const { credential } = JSON.parse(readFileSync(runnerFile, "utf8")) as { credential: string };
    expect(statSync(runnerFile).mode & 0o777).toBe(0o600);
    const secrets = {
      "the first API token": server.token,
      "a second API token": second.body.token,
      "the admin password": "admin password",
      "the registration token": registration,
      "the runner credential": credential,
      "a job token": jobToken,
    };

    const file = join(dataDir, "conveyor.db");
    const db = new Database(file, { readonly: true, fileMustExist: true });
    let everything = "";
    try {
      const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as {
        name: string;
      }[];
      for (const { name } of tables)
        everything += JSON.stringify(db.prepare(`select * from "${name}"`).all());
      // The hashes are there, so this looked in the right place.
      const hash = (value: string): string => createHash("sha256").update(value).digest("hex");
      expect(everything).toContain(hash(server.token));
      expect(everything).toContain(hash(credential));
    } finally {
      db.close();
    }
    // And in the files themselves, write-ahead log included, not only in what queries return.
    const bytes = [file, `${file}-wal`].map((path) => readFileSync(path));
    for (const [what, secret] of Object.entries(secrets)) {
      expect(everything.includes(secret), what).toBe(false);
      for (const raw of bytes) expect(raw.includes(secret), `${what} in the file`).toBe(false);
    }
  });
});
