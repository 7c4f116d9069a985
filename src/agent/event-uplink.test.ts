import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events.js";
import type { EventRow } from "../protocol/runner.js";
import { RUNNER_API_PREFIX } from "../protocol/runner.js";
import { EventUplink } from "./event-uplink.js";
import type { EventUplinkOptions } from "./event-uplink.js";
import { RunnerProtocolClient } from "./protocol-client.js";

/** What the test peer does with one request instead of answering normally. */
type Fault =
  | { readonly kind: "unavailable" } // 503, nothing stored
  | { readonly kind: "lose-answer" } // rows stored, connection dropped before the answer
  | { readonly kind: "partial"; readonly rows: number } // only the first rows made durable
  | { readonly kind: "drop-first" } // the first row went missing: the rest is a gap
  | { readonly kind: "refuse"; readonly status: number; readonly error: string };

interface PeerJob {
  count: number;
  textBytes: number;
  rows: EventRow[];
  cancel: boolean;
}

/**
 * TEST PEER: a node:http server that implements only the `events` endpoint of the runner protocol
 * with its documented acknowledgement rules (src/protocol/runner.ts): rows it holds are ignored, the
 * next rows in order are stored, a gap is refused with 409 and `acknowledged`. It checks that no
 * two requests of a job are in flight at once. Not Conveyor's server.
 */
class EventsTestPeer {
  readonly jobs = new Map<string, PeerJob>();
  readonly faults: Fault[] = [];
  /** Per request: when it arrived (ms since the peer started), its first and last seq, its row count. */
  readonly requests: { at: number; first: number; last: number; rows: number; bytes: number }[] = [];
  maxInFlight = 0;
  answerDelayMs = 0;
  keepRows = true;
  authorization: string | undefined;
  private inFlight = 0;
  private readonly started = performance.now();
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  job(id: string): PeerJob {
    let job = this.jobs.get(id);
    if (!job) {
      job = { count: 0, textBytes: 0, rows: [], cancel: false };
      this.jobs.set(id, job);
    }
    return job;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = new RegExp(`^${RUNNER_API_PREFIX}/jobs/([^/]+)/events$`).exec(request.url ?? "");
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (!match || request.method !== "POST") return answer(response, 404, { error: "no such endpoint" });
    this.authorization = request.headers.authorization;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const body = Buffer.concat(chunks);
      const rows = (JSON.parse(body.toString("utf8")) as { rows: EventRow[] }).rows;
      this.requests.push({
        at: performance.now() - this.started,
        first: rows[0]?.seq ?? 0,
        last: rows.at(-1)?.seq ?? 0,
        rows: rows.length,
        bytes: body.length,
      });
      if (this.answerDelayMs > 0) await delay(this.answerDelayMs);
      const job = this.job(decodeURIComponent(match[1] as string));
      const fault = this.faults.shift();
      if (fault?.kind === "unavailable") return answer(response, 503, { error: "restarting" });
      if (fault?.kind === "refuse") return answer(response, fault.status, { error: fault.error });
      const offered = fault?.kind === "drop-first" ? rows.slice(1) : rows;
      const durable = fault?.kind === "partial" ? offered.slice(0, fault.rows) : offered;
      for (const row of durable) {
        if (row.seq <= job.count) continue; // already held: ignored
        if (row.seq !== job.count + 1) {
          return answer(response, 409, {
            error: `gap: expected row ${job.count + 1}`,
            acknowledged: job.count,
          });
        }
        job.count++;
        if (row.event.type === "log") job.textBytes += row.event.text.length;
        if (this.keepRows) job.rows.push(row);
      }
      if (fault?.kind === "lose-answer") {
        response.socket?.destroy();
        return;
      }
      answer(response, 200, { acknowledged: job.count, cancel: job.cancel });
    } finally {
      this.inFlight--;
    }
  }
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/**
 * TEST PEER in a process of its own, as the server is, for the throughput test: the events
 * endpoint's acknowledgement rules for one job, with the rows' seqs read where each row starts
 * (\`{"seq":n\`) instead of parsing the whole body, so that what is measured is the uplink and
 * not this peer's JSON.parse. GET answers how many rows it holds.
 */
const COUNTING_PEER = `
const http = require("node:http");
const MARK = Buffer.from('{"seq":');
const held = new Map();
const answer = (response, status, body) => {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
};
http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const job = request.url.split("/").slice(-2).join("/");
    if (request.method === "GET") return answer(response, 200, { rows: held.get(request.url.slice(1) + "/events") ?? 0 });
    const body = Buffer.concat(chunks);
    const seqs = [];
    for (let at = body.indexOf(MARK); at !== -1; at = body.indexOf(MARK, at + MARK.length)) {
      seqs.push(parseInt(body.toString("latin1", at + MARK.length, at + MARK.length + 16), 10));
    }
    const count = held.get(job) ?? 0;
    if (seqs.some((seq, i) => seq !== seqs[0] + i)) return answer(response, 400, { error: "rows out of order" });
    if (seqs[0] > count + 1) return answer(response, 409, { error: "gap", acknowledged: count });
    held.set(job, Math.max(count, seqs[seqs.length - 1]));
    answer(response, 200, { acknowledged: held.get(job), cancel: false });
  });
}).listen(0, "127.0.0.1", function () { process.stdout.write(this.address().port + "\\n"); });
`;

const JOB = "job-1";
const FAST_RETRY = { initialDelayMs: 5, maxDelayMs: 40 };

function logLine(text: string, step = 1): RunEvent {
  return {
    type: "log",
    jobId: "build#0",
    step,
    text,
    kind: "output",
    stream: "stdout",
    at: new Date().toISOString(),
  };
}

function stepStarted(step: number): RunEvent {
  return { type: "step-started", jobId: "build#0", step, name: `step ${step}`, at: new Date().toISOString() };
}

const jobStarted: RunEvent = {
  type: "job-started",
  jobId: "build#0",
  name: "build",
  at: new Date().toISOString(),
};

describe("EventUplink against the events test peer", () => {
  let peer: EventsTestPeer;
  let url: string;
  let dir: string;
  const uplinks: EventUplink[] = [];

  beforeEach(async () => {
    peer = new EventsTestPeer();
    url = await peer.start();
    dir = await mkdtemp(join(tmpdir(), "conveyor-uplink-"));
  });

  afterEach(async () => {
    for (const uplink of uplinks.splice(0)) uplink.close();
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function uplink(options: Partial<EventUplinkOptions> = {}): EventUplink {
    const client = new RunnerProtocolClient({
      serverUrl: url,
      credential: "runner-credential",
      retry: FAST_RETRY,
    });
    const made = new EventUplink({
      send: (rows, signal) => client.appendEvents(JOB, rows, signal),
      spoolPath: join(dir, "events.spool"),
      ...options,
    });
    uplinks.push(made);
    return made;
  }

  it("numbers rows from 1, sends the first at once, and delivers each row once, in order", async () => {
    const link = uplink();
    link.emit(jobStarted);
    await delay(5);
    const events = [stepStarted(1), ...Array.from({ length: 1000 }, (_, i) => logLine(`line ${i}`))];
    for (const event of events) link.emit(event);
    await link.flush();
    const held = peer.job(JOB).rows;
    expect(held.map((r) => r.seq)).toEqual(Array.from({ length: 1002 }, (_, i) => i + 1));
    expect(held.map((r) => r.event)).toEqual([jobStarted, ...events]);
    expect(peer.requests[0]).toMatchObject({ first: 1, last: 1 });
    expect(link.acknowledged).toBe(1002);
    expect(link.lastSeq).toBe(1002);
    expect(peer.maxInFlight).toBe(1);
    expect(peer.authorization).toBe("Bearer runner-credential");
  });

  it("lets log lines gather for the linger time but sends a step start at once", async () => {
    const link = uplink({ limits: { lingerMs: 400 } });
    link.emit(jobStarted);
    await link.flush();
    link.emit(logLine("gathering"));
    await delay(150);
    expect(peer.requests).toHaveLength(1); // the line waits
    const before = peer.requests.length;
    const sentAt = performance.now();
    link.emit(stepStarted(1));
    await link.flush();
    expect(performance.now() - sentAt).toBeLessThan(300);
    expect(peer.requests[before]).toMatchObject({ first: 2, last: 3 });
    link.emit(logLine("alone"));
    const lineAt = performance.now();
    while (peer.job(JOB).count < 4) await delay(10);
    expect(performance.now() - lineAt).toBeGreaterThanOrEqual(380);
  });

  it("sends a batch as soon as 256 rows or 64 KiB have gathered", async () => {
    const link = uplink({ limits: { lingerMs: 10_000 } });
    link.emit(jobStarted);
    await link.flush();
    for (let i = 0; i < 255; i++) link.emit(logLine(`line ${i}`));
    await delay(200);
    expect(peer.job(JOB).count).toBe(1);
    link.emit(logLine("the 256th"));
    for (let waited = 0; peer.job(JOB).count < 257 && waited < 2000; waited += 10) await delay(10);
    expect(peer.job(JOB).count).toBe(257);
    link.emit(logLine("x".repeat(70 * 1024)));
    for (let waited = 0; peer.job(JOB).count < 258 && waited < 2000; waited += 10) await delay(10);
    expect(peer.job(JOB).count).toBe(258);
  });

  it("keeps one request in flight while the next batch gathers, and caps a request's size", async () => {
    peer.answerDelayMs = 30;
    const emitRounds = async (link: EventUplink): Promise<void> => {
      link.emit(jobStarted);
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 200; i++) link.emit(logLine(`round ${round} line ${i} ${"y".repeat(120)}`));
        await delay(10);
      }
      await link.flush();
    };
    await emitRounds(uplink());
    expect(peer.job(JOB).count).toBe(2001);
    expect(peer.maxInFlight).toBe(1);
    // Rows gathered while a request was out go together in the next one.
    expect(Math.max(...peer.requests.map((r) => r.rows))).toBeGreaterThan(200);

    peer.jobs.clear();
    peer.requests.length = 0;
    const cap = 16 * 1024;
    await emitRounds(uplink({ limits: { requestBytes: cap } }));
    expect(peer.job(JOB).count).toBe(2001);
    const largest = Math.max(...peer.requests.map((r) => r.bytes));
    expect(largest).toBeLessThanOrEqual(cap + 20); // the body's own brackets
    expect(largest).toBeGreaterThan(cap - 400); // filled up to the cap, give or take a row
  });

  it("sends again after 503s and answers lost on the way, and the peer ignores what it holds", async () => {
    peer.faults.push(
      { kind: "unavailable" },
      { kind: "lose-answer" },
      { kind: "unavailable" },
      { kind: "lose-answer" },
    );
    const link = uplink();
    const events = [
      jobStarted,
      stepStarted(1),
      ...Array.from({ length: 500 }, (_, i) => logLine(`line ${i}`)),
    ];
    for (const event of events) {
      link.emit(event);
      if (event.type === "log" && event.text.endsWith("0")) await delay(1);
    }
    await link.flush();
    expect(peer.job(JOB).rows.map((r) => r.event)).toEqual(events);
    // A lost answer means the same rows arrived twice: the second time they were ignored.
    const firsts = peer.requests.map((r) => r.first);
    expect(new Set(firsts).size).toBeLessThan(firsts.length);
  });

  it("sends again from acknowledged + 1 after a partial acknowledgement and after a 409", async () => {
    const link = uplink();
    link.emit(jobStarted);
    await link.flush();
    peer.faults.push({ kind: "partial", rows: 10 }, { kind: "drop-first" }, { kind: "partial", rows: 3 });
    const events = Array.from({ length: 100 }, (_, i) => logLine(`line ${i}`));
    for (const event of events) link.emit(event);
    await link.flush();
    expect(peer.job(JOB).rows.map((r) => r.event)).toEqual([jobStarted, ...events]);
    const resent = peer.requests.slice(1).map((r) => r.first);
    expect(resent.slice(0, 4)).toEqual([2, 12, 12, 15]);
  });

  it("resendFrom() sends again what the server says it misses", async () => {
    const link = uplink();
    link.emit(jobStarted);
    link.emit(logLine("one"));
    await link.flush();
    link.resendFrom(2); // a 409 from `complete` naming what was acknowledged: nothing to send again
    await link.flush();
    expect(peer.job(JOB).count).toBe(2);
    link.resendFrom(1); // a server that lost what it acknowledged cannot be helped
    await expect(link.flush()).rejects.toThrow(/lost/);
  });

  it("tells once that the job was cancelled", async () => {
    let cancels = 0;
    const link = uplink({ onCancel: () => cancels++ });
    link.emit(jobStarted);
    await link.flush();
    peer.job(JOB).cancel = true;
    link.emit(stepStarted(1));
    await link.flush();
    link.emit(stepStarted(2));
    await link.flush();
    expect(cancels).toBe(1);
  });

  it("stops offering rows to a job the server has ended (it acknowledges nothing and says cancel)", async () => {
    const failures: Error[] = [];
    const link = uplink({ onFailure: (e) => failures.push(e) });
    link.emit(jobStarted);
    await link.flush();
    peer.job(JOB).cancel = true;
    for (let i = 0; i < 5; i++) peer.faults.push({ kind: "partial", rows: 0 });
    link.emit(stepStarted(1));
    await expect(link.flush()).rejects.toThrow("the server takes no more events for this job");
    expect(failures).toHaveLength(1);
    expect(peer.requests).toHaveLength(4);
  });

  it("fails, with the server's message, when the server refuses the rows", async () => {
    const failures: Error[] = [];
    peer.faults.push({ kind: "refuse", status: 404, error: "job job-1 is not leased to this runner" });
    const link = uplink({ onFailure: (e) => failures.push(e) });
    link.emit(jobStarted);
    await expect(link.flush()).rejects.toThrow("job job-1 is not leased to this runner");
    expect(failures).toHaveLength(1);
    link.emit(logLine("after"));
    expect(link.droppedEvents).toBe(1);
    expect(peer.requests).toHaveLength(1); // a 4xx is not retried
  });

  it("keeps memory bounded while the server is away: rows wait in the spool and arrive in order", async () => {
    const memoryBytes = 256 * 1024;
    for (let i = 0; i < 40; i++) peer.faults.push({ kind: "unavailable" });
    peer.keepRows = false;
    const link = uplink({ limits: { memoryBytes, requestBytes: 64 * 1024 } });
    link.emit(jobStarted);
    let most = 0;
    const line = "z".repeat(200);
    for (let chunk = 0; chunk < 100; chunk++) {
      for (let i = 0; i < 200; i++) link.emit(logLine(line));
      most = Math.max(most, link.memoryBytes);
      await delay(1);
    }
    expect(existsSync(join(dir, "events.spool"))).toBe(true);
    while (link.acknowledged < link.lastSeq) {
      most = Math.max(most, link.memoryBytes);
      await delay(5);
    }
    await link.flush();
    expect(most).toBeLessThanOrEqual(memoryBytes);
    expect(peer.job(JOB).count).toBe(20_001);
    expect(peer.job(JOB).textBytes).toBe(20_000 * 200);
    link.close();
    expect(existsSync(join(dir, "events.spool"))).toBe(false);
  });

  // The rate itself is measured by bench/server.mjs (log ingest), not asserted here: timings on a
  // shared machine make flaky tests.
  it("carries 20 MB of log lines from one job to a server in another process, every row once", async () => {
    const child = spawn(process.execPath, ["-e", COUNTING_PEER], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const port = await new Promise<string>((resolve) =>
        child.stdout.once("data", (d: Buffer) => resolve(String(d).trim())),
      );
      const client = new RunnerProtocolClient({
        serverUrl: `http://127.0.0.1:${port}`,
        credential: "c",
        retry: FAST_RETRY,
      });
      const line = "0123456789abcdefghijklmnopqrstuvwxyz ".repeat(3); // ~110 bytes, a typical build log line
      const carry = async (attempt: number): Promise<void> => {
        const jobId = `throughput-${attempt}`;
        const link = new EventUplink({
          send: (rows, signal) => client.appendEvents(jobId, rows, signal),
          spoolPath: join(dir, `${jobId}.spool`),
        });
        uplinks.push(link);
        link.emit(jobStarted);
        let sent = 0;
        while (sent < 20 * 1024 * 1024) {
          // A step's output arrives in pipe-sized chunks of lines; the uplink encodes each event as it
          // is emitted, so one object can stand for every line of a chunk.
          const event: RunEvent = {
            type: "log",
            jobId: "build#0",
            step: 1,
            text: line,
            kind: "output",
            stream: "stdout",
            at: new Date().toISOString(),
          };
          for (let i = 0; i < 600; i++) link.emit(event);
          sent += 600 * line.length;
          await new Promise((resolve) => setImmediate(resolve));
        }
        await link.flush();
        const held = (await (await fetch(`http://127.0.0.1:${port}/${jobId}`)).json()) as { rows: number };
        expect(held.rows).toBe(link.lastSeq);
        expect(link.lastSeq).toBe(1 + Math.ceil(sent / (600 * line.length)) * 600);
      };
      await carry(0);
    } finally {
      child.kill();
    }
  });
});
