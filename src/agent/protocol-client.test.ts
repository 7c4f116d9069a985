import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events.js";
import { RUNNER_API_PREFIX } from "../protocol/runner.js";
import {
  encodeEventRow,
  encodeEventRows,
  ProtocolMismatch,
  ProtocolRefusal,
  RunnerProtocolClient,
} from "./protocol-client.js";

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** TEST PEER: answers each request with the next handler given; records what it was sent. */
class ScriptedPeer {
  readonly seen: { path: string; authorization: string | undefined; body: string }[] = [];
  private server: Server | undefined;

  constructor(private readonly handlers: Handler[]) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        this.seen.push({ path: request.url ?? "", authorization: request.headers.authorization, body });
        const handler = this.handlers.shift() ?? ((_, __, r) => json(r, 500, { error: "no more answers" }));
        handler(request, body, response);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const FAST = { initialDelayMs: 5, maxDelayMs: 20 };
const CREDENTIAL = "cred-1f2e3d";

describe("RunnerProtocolClient", () => {
  const peers: ScriptedPeer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.stop();
  });

  async function client(
    handlers: Handler[],
    observer = {},
  ): Promise<{ client: RunnerProtocolClient; peer: ScriptedPeer; url: string }> {
    const peer = new ScriptedPeer(handlers);
    peers.push(peer);
    const url = await peer.start();
    return {
      client: new RunnerProtocolClient({
        serverUrl: `${url}/`,
        credential: CREDENTIAL,
        retry: FAST,
        observer,
      }),
      peer,
      url,
    };
  }

  it("sends JSON with the credential, and sends again through 5xx until the server answers", async () => {
    const told: string[] = [];
    const { client: c, peer } = await client(
      [
        (_, __, r) => json(r, 503, { error: "starting up" }),
        (_, __, r) => json(r, 502, {}),
        (_, __, r) => json(r, 200, { jobs: [], cancel: ["7"] }),
      ],
      { unreachable: (problem: string) => told.push(problem), reachable: () => told.push("reachable") },
    );
    expect(await c.poll({ free: 1, running: ["7"] })).toEqual({ jobs: [], cancel: ["7"] });
    expect(peer.seen.map((s) => s.path)).toEqual(Array(3).fill(`${RUNNER_API_PREFIX}/poll`));
    expect(peer.seen[2]).toMatchObject({
      authorization: `Bearer ${CREDENTIAL}`,
      body: '{"free":1,"running":["7"]}',
    });
    expect(told[0]).toMatch(/answered 503: starting up$/);
    expect(told.at(-1)).toBe("reachable");
  });

  it("does not retry a 4xx, and never repeats the credential the server quoted", async () => {
    const { client: c, peer } = await client([
      (_, __, r) => json(r, 401, { error: `credential ${CREDENTIAL} is unknown` }),
    ]);
    const refusal = await c.poll({ free: 1, running: [] }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ProtocolRefusal);
    expect(refusal).toMatchObject({ status: 401, message: "credential *** is unknown" });
    expect(peer.seen).toHaveLength(1);
  });

  it("turns the 409s of events and complete into answers that say what the server holds", async () => {
    const { client: c, peer } = await client([
      (_, __, r) => json(r, 409, { error: "gap", acknowledged: 4 }),
      (_, __, r) => json(r, 200, { acknowledged: 9, cancel: true }),
      (_, __, r) => json(r, 409, { error: "rows missing", acknowledged: 9 }),
      (_, __, r) => json(r, 200, { completed: true }),
    ]);
    const event: RunEvent = {
      type: "log",
      jobId: "a#0",
      step: null,
      text: 'quote " and \n',
      kind: "output",
      stream: "stdout",
      at: "t",
    };
    const rows = encodeEventRows([
      Buffer.from(`${encodeEventRow(6, event)},${encodeEventRow(7, { ...event, step: 2 })}`),
    ]);
    expect(await c.appendEvents("job 1", rows)).toEqual({ kind: "conflict", acknowledged: 4 });
    expect(await c.appendEvents("job 1", rows)).toEqual({
      kind: "acknowledged",
      acknowledged: 9,
      cancel: true,
    });
    const request = { lastSeq: 10, conclusion: "success" as const, outputs: {} };
    expect(await c.complete("job 1", request)).toEqual({ kind: "conflict", acknowledged: 9 });
    expect(await c.complete("job 1", request)).toEqual({ kind: "completed" });
    expect(peer.seen[0]?.path).toBe(`${RUNNER_API_PREFIX}/jobs/job%201/events`);
    // The rows as sent are the protocol's JSON, whatever the text holds.
    expect(JSON.parse(peer.seen[0]?.body ?? "")).toEqual({
      rows: [
        { seq: 6, event },
        { seq: 7, event: { ...event, step: 2 } },
      ],
    });
  });

  it("says so when the address is not a Conveyor server", async () => {
    const { client: c } = await client([
      (_, __, r) => r.writeHead(200, { "content-type": "text/html" }).end("<html>hello</html>"),
    ]);
    await expect(c.poll({ free: 1, running: [] })).rejects.toThrow(ProtocolMismatch);
  });

  it("stops retrying when its signal aborts", async () => {
    const { client: c, peer } = await client(
      Array(1000).fill((_: IncomingMessage, __: string, r: ServerResponse) => json(r, 503, {})),
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(c.poll({ free: 1, running: [] }, controller.signal)).rejects.toThrow(/abort/i);
    expect(peer.seen.length).toBeGreaterThan(1);
  });

  it("sends a request again at once when the kept-alive connection it reused was reset", async () => {
    // TEST PEER: a raw server that answers a connection's first request and resets it on the second,
    // as a server does that closes an idle kept-alive connection just as the client reuses it.
    const connections: number[] = [];
    const sockets: Socket[] = [];
    const raw = createNetServer((socket) => {
      sockets.push(socket);
      const index = connections.push(0) - 1;
      socket.on("data", (chunk: Buffer) => {
        if (!chunk.toString("latin1").includes("POST ")) return; // the body of a request already counted
        if ((connections[index] = (connections[index] ?? 0) + 1) > 1) socket.resetAndDestroy();
        else
          socket.write(
            `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 23\r\n\r\n{"jobs":[],"cancel":[]}`,
          );
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    try {
      const told: string[] = [];
      const c = new RunnerProtocolClient({
        serverUrl: `http://127.0.0.1:${(raw.address() as AddressInfo).port}`,
        credential: CREDENTIAL,
        retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
        observer: { unreachable: (problem: string) => told.push(problem) },
      });
      expect(await c.poll({ free: 1, running: [] })).toEqual({ jobs: [], cancel: [] });
      expect(await c.poll({ free: 1, running: [] })).toEqual({ jobs: [], cancel: [] });
      expect(connections).toEqual([2, 1]);
      expect(told).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => raw.close(resolve));
    }
  });
});
