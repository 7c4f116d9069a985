import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events.js";
import { RUNNER_API_PREFIX } from "../protocol/runner.js";
import type {
  CompleteRequest,
  EventRow,
  JobLease,
  PollRequest,
  RegisterRequest,
} from "../protocol/runner.js";
import { Runner, RunnerError } from "./runner.js";
import type { RunnerOptions } from "./runner.js";

const REGISTRATION_TOKEN = "registration-token-31c9";
const CREDENTIAL = "runner-credential-8d2e";

interface PeerJob {
  readonly lease: JobLease;
  rows: EventRow[];
  cancel: boolean;
  completed?: CompleteRequest;
}

interface HeldPoll {
  readonly request: PollRequest;
  readonly response: ServerResponse;
  readonly timer: NodeJS.Timeout;
}

/**
 * TEST PEER: the four endpoints of the runner protocol (src/protocol/runner.ts), kept minimal: one
 * runner, a queue of leases handed out by `poll` up to `free`, held polls answered when there is
 * a job or a cancel for them, the events endpoint's acknowledgement rules, and `complete` refused
 * (409) until every row is held. Not Conveyor's server.
 */
class RunnerProtocolTestPeer {
  registrations: RegisterRequest[] = [];
  readonly polls: PollRequest[] = [];
  readonly queue: JobLease[] = [];
  readonly jobs = new Map<string, PeerJob>();
  holdMs = 20_000;
  private held: HeldPoll[] = [];
  private server: Server | undefined;

  async start(port = 0): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(port, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const poll of this.held.splice(0)) clearTimeout(poll.timer);
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  enqueue(lease: JobLease): void {
    this.queue.push(lease);
    this.wake();
  }

  cancel(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job) job.cancel = true;
    this.wake();
  }

  async completion(jobId: string, timeoutMs = 15_000): Promise<CompleteRequest> {
    for (let waited = 0; waited < timeoutMs; waited += 20) {
      const completed = this.jobs.get(jobId)?.completed;
      if (completed) return completed;
      await delay(20);
    }
    throw new Error(`job ${jobId} did not complete`);
  }

  events(jobId: string): RunEvent[] {
    return (this.jobs.get(jobId)?.rows ?? []).map((r) => r.event);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    const path = (request.url ?? "").slice(RUNNER_API_PREFIX.length);
    if (path === "/register") {
      const registration = body as RegisterRequest;
      if (registration.registrationToken !== REGISTRATION_TOKEN) {
        return answer(response, 401, { error: "the registration token is not valid (it may have expired)." });
      }
      this.registrations.push(registration);
      return answer(response, 200, {
        runnerId: "runner-1",
        credential: CREDENTIAL,
        labels: [...registration.labels, "self-hosted"],
      });
    }
    if (request.headers.authorization !== `Bearer ${CREDENTIAL}`) {
      return answer(response, 401, { error: "unknown runner credential." });
    }
    if (path === "/poll") {
      const poll = body as PollRequest;
      this.polls.push(poll);
      if (!this.answerPoll(poll, response)) {
        const held: HeldPoll = {
          request: poll,
          response,
          timer: setTimeout(() => {
            this.held = this.held.filter((h) => h !== held);
            answer(response, 200, { jobs: [], cancel: [] });
          }, this.holdMs),
        };
        this.held.push(held);
        response.on("close", () => {
          clearTimeout(held.timer);
          this.held = this.held.filter((h) => h !== held);
        });
      }
      return;
    }
    const match = /^\/jobs\/([^/]+)\/(events|complete)$/.exec(path);
    const job = match ? this.jobs.get(decodeURIComponent(match[1] as string)) : undefined;
    if (!match || !job) return answer(response, 404, { error: "no such job leased to this runner." });
    if (match[2] === "events") {
      for (const row of (body as { rows: EventRow[] }).rows) {
        if (row.seq <= job.rows.length) continue;
        if (row.seq !== job.rows.length + 1)
          return answer(response, 409, { error: "gap", acknowledged: job.rows.length });
        job.rows.push(row);
      }
      return answer(response, 200, { acknowledged: job.rows.length, cancel: job.cancel });
    }
    const completion = body as CompleteRequest;
    if (completion.lastSeq > job.rows.length) {
      return answer(response, 409, { error: "rows are missing", acknowledged: job.rows.length });
    }
    job.completed = completion;
    answer(response, 200, {});
  }

  /** Answers a poll now if there is something for it. */
  private answerPoll(poll: PollRequest, response: ServerResponse): boolean {
    const cancel = poll.running.filter((id) => this.jobs.get(id)?.cancel && !this.jobs.get(id)?.completed);
    const leases = this.queue.splice(0, poll.free);
    for (const lease of leases) this.jobs.set(lease.jobId, { lease, rows: [], cancel: false });
    if (leases.length === 0 && cancel.length === 0) return false;
    answer(response, 200, { jobs: leases, cancel });
    return true;
  }

  private wake(): void {
    for (const held of this.held.splice(0)) {
      if (this.answerPoll(held.request, held.response)) clearTimeout(held.timer);
      else this.held.push(held);
    }
  }
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  if (response.writableEnded) return;
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function lease(jobId: string, steps: string, url: string): JobLease {
  return {
    jobId,
    runId: "run-7",
    runNumber: 7,
    runAttempt: 1,
    key: "work#0",
    displayName: "work",
    workflowFiles: {
      ".github/workflows/ci.yml": `on: push\njobs:\n  work:\n    runs-on: linux\n    steps:\n${steps}`,
    },
    workflowPath: ".github/workflows/ci.yml",
    instance: {
      name: "work",
      matrix: null,
      strategy: { "fail-fast": true, "job-index": 0, "job-total": 1, "max-parallel": 1 },
    },
    contexts: {
      github: { repository: "acme/app", sha: "0".repeat(40), ref: "refs/heads/main" },
      secrets: {},
      vars: {},
      inputs: {},
      needs: {},
    },
    event: {},
    repository: { fullName: "acme/app", cloneUrl: `${url}/acme/app.git` },
    sha: "0".repeat(40),
    ref: "refs/heads/main",
    token: "job-token",
    serverUrl: url,
    runtime: { token: "runtime-token", resultsUrl: "http://127.0.0.1:1/", cacheUrl: "http://127.0.0.1:1/" },
  };
}

describe("Runner against the runner protocol test peer", () => {
  let peer: RunnerProtocolTestPeer;
  let url: string;
  let dir: string;
  const runners: Runner[] = [];

  beforeEach(async () => {
    peer = new RunnerProtocolTestPeer();
    url = await peer.start();
    dir = await mkdtemp(join(tmpdir(), "conveyor-runner-"));
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) runner.abandon();
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function untilStepStarted(jobId: string): Promise<void> {
    while (!peer.events(jobId).some((e) => e.type === "step-started")) await delay(20);
  }

  function runner(options: Partial<RunnerOptions> = {}): Runner {
    const made = new Runner({
      serverUrl: url,
      registrationToken: REGISTRATION_TOKEN,
      dataDir: dir,
      name: "test-runner",
      labels: ["gpu"],
      retry: { initialDelayMs: 10, maxDelayMs: 100 },
      ...options,
    });
    runners.push(made);
    return made;
  }

  it("registers once, keeps the credential in runner.json (0600), and reuses it when started again", async () => {
    const first = runner();
    expect(await first.start()).toEqual({
      runnerId: "runner-1",
      name: "test-runner",
      labels: ["gpu", "self-hosted"],
      reused: false,
    });
    expect(peer.registrations[0]).toMatchObject({
      name: "test-runner",
      labels: ["gpu"],
      capacity: 1,
      protocolVersion: 1,
    });
    const file = join(dir, "runner.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = await readFile(file, "utf8");
    expect(stored).toContain(CREDENTIAL);
    expect(stored).not.toContain(REGISTRATION_TOKEN);
    await first.stop();

    const second = runner({ registrationToken: undefined });
    expect((await second.start()).reused).toBe(true);
    while (peer.polls.length < 2) await delay(10);
    expect(peer.registrations).toHaveLength(1);
    await second.stop();
  });

  it("runs a leased job, streams its events, and completes it once every row is acknowledged", async () => {
    const started = runner();
    await started.start();
    peer.enqueue(lease("job-1", "      - run: echo hello from the runner\n", url));
    const completion = await peer.completion("job-1");
    expect(completion).toMatchObject({ conclusion: "success", outputs: {} });
    const events = peer.events("job-1");
    expect(completion.lastSeq).toBe(events.length);
    expect(events[0]).toMatchObject({ type: "job-started", jobId: "work#0" });
    expect(events.some((e) => e.type === "log" && e.text === "hello from the runner")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "job-finished", result: "success" });
    while (started.runningJobs.length > 0) await delay(10);
    expect(existsSync(join(dir, "work", "job-1"))).toBe(false);
    await started.stop();
  });

  it("completes a job it cannot prepare as a failure, with an annotation saying why", async () => {
    const started = runner();
    await started.start();
    peer.enqueue({ ...lease("job-2", "      - run: echo never\n", url), key: "deploy#0" });
    expect(await peer.completion("job-2")).toMatchObject({ conclusion: "failure" });
    const annotation = peer.events("job-2").find((e) => e.type === "annotation");
    expect(annotation).toMatchObject({ level: "error", jobId: "deploy#0" });
    expect(annotation?.type === "annotation" && annotation.message).toContain("has no job 'deploy'");
    await started.stop();
  });

  it("cancels a running job when a poll answer says so", async () => {
    const started = runner();
    await started.start();
    peer.enqueue(lease("job-3", "      - run: sleep 30\n      - run: echo not reached\n", url));
    await untilStepStarted("job-3");
    const asked = performance.now();
    peer.cancel("job-3");
    expect(await peer.completion("job-3")).toMatchObject({ conclusion: "cancelled" });
    expect(performance.now() - asked).toBeLessThan(10_000);
    expect(peer.events("job-3").some((e) => e.type === "log" && e.text === "not reached")).toBe(false);
    await started.stop();
  });

  it("runs up to its capacity at once and asks for more as soon as a slot frees", async () => {
    const started = runner({ capacity: 2 });
    await started.start();
    for (const id of ["a", "b", "c"]) peer.enqueue(lease(id, "      - run: sleep 0.5\n", url));
    const began = performance.now();
    for (const id of ["a", "b", "c"]) await peer.completion(id);
    // The poll held with no free slot was dropped when a job ended: far sooner than the 20 s hold.
    expect(performance.now() - began).toBeLessThan(8_000);
    // How many jobs ran their steps at each job's start: never more than the capacity, and two at once.
    const spans = ["a", "b", "c"].map((id) => {
      const events = peer.events(id);
      return [Date.parse(events[0]?.at ?? ""), Date.parse(events.at(-1)?.at ?? "")] as const;
    });
    const overlaps = spans.map(([start]) => spans.filter(([from, to]) => from <= start && start < to).length);
    expect(Math.max(...overlaps)).toBe(2);
    expect(peer.polls.some((p) => p.free === 0)).toBe(true);
    expect(peer.polls.every((p) => p.free >= 0 && p.free <= 2)).toBe(true);
    await started.stop();
  });

  it("on stop, takes no more jobs and lets the running one finish", async () => {
    const started = runner();
    await started.start();
    peer.enqueue(lease("job-4", "      - run: sleep 0.5 && echo finished\n", url));
    await untilStepStarted("job-4");
    const polls = peer.polls.length;
    await started.stop();
    expect(peer.jobs.get("job-4")?.completed).toMatchObject({ conclusion: "success" });
    peer.enqueue(lease("job-5", "      - run: echo no\n", url));
    await delay(100);
    expect(peer.jobs.has("job-5")).toBe(false);
    expect(peer.polls.length).toBe(polls);
  });

  it("refuses to start when the server refuses the registration token, and says what to do", async () => {
    const refused = runner({ registrationToken: "not-the-token" });
    const error = await refused.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunnerError);
    expect((error as Error).message).toBe(
      `${url} refused to register this runner: the registration token is not valid (it may have expired). Ask the server's administrator for a new registration token.`,
    );
    expect((error as Error).message).not.toContain("not-the-token");
    const unregistered = runner({ registrationToken: undefined });
    await expect(unregistered.start()).rejects.toThrow(
      /not registered .* yet: give it a registration token from the server's administrator \(--token\)/,
    );
  });

  it("waits for a server that is not there yet, saying so once", async () => {
    await peer.stop();
    const port = Number(new URL(url).port);
    const messages: string[] = [];
    const waiting = runner({ log: (m) => messages.push(m) });
    const starting = waiting.start();
    await delay(400);
    expect(messages.filter((m) => m.includes("cannot reach"))).toHaveLength(1);
    expect(messages[0]).toContain("connection refused");
    peer = new RunnerProtocolTestPeer();
    await peer.start(port);
    await starting;
    expect(peer.registrations).toHaveLength(1);
    expect(messages.at(-1)).toContain("reached");
    await waiting.stop();
  });

  it("stops at once when told to while it still waits to register", async () => {
    await peer.stop();
    const waiting = runner();
    const starting = waiting.start();
    await delay(100);
    await waiting.stop();
    await expect(starting).rejects.toThrow(/abort/i);
    peer = new RunnerProtocolTestPeer();
    await peer.start();
  });
});
