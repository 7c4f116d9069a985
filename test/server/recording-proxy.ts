/**
 * A transparent HTTP proxy in front of a server that can be killed and restarted, recording what
 * runners sent as job events and what the server acknowledged, as the runner saw it. While the
 * server is down it answers 502, as a reverse proxy would, and runners retry.
 */
import { Agent, createServer, request } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RUNNER_API_PREFIX } from "../../src/protocol/runner.js";

interface EventRow {
  readonly seq: number;
  readonly event: unknown;
}

const EVENTS_PATH = new RegExp(`^${RUNNER_API_PREFIX}/jobs/(\\d+)/events$`);

export class RecordingProxy {
  /** Per job id: each row a runner sent, by seq, as JSON. */
  readonly sent = new Map<number, Map<number, string>>();
  /** Per job id: the highest seq the server acknowledged in an answer the runner received whole. */
  readonly acknowledged = new Map<number, number>();
  private readonly agent = new Agent({ keepAlive: true });

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstreamPort: number): Promise<RecordingProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on("request", (req: IncomingMessage, res: ServerResponse) =>
      proxy.forward(req, res, upstreamPort),
    );
    return proxy;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse, port: number): void {
    const jobId = Number(EVENTS_PATH.exec(req.url ?? "")?.[1] ?? NaN);
    const recording = Number.isInteger(jobId) && req.method === "POST";
    const requestBody: Buffer[] = [];
    const answerBody: Buffer[] = [];
    const upstream = request(
      { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (recording) answer.on("data", (chunk: Buffer) => answerBody.push(chunk));
        answer.pipe(res);
        // A server killed mid-answer: the runner must see a broken answer, not a short one.
        answer.on("aborted", () => res.destroy());
        res.on("finish", () => {
          if (recording && answer.statusCode === 200 && answer.complete)
            this.record(jobId, requestBody, answerBody);
        });
      },
    );
    upstream.on("error", () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { "content-type": "application/json" }).end('{"error":"server down"}');
    });
    // A runner that drops its request (a held poll it no longer wants) drops it at the server too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (recording) req.on("data", (chunk: Buffer) => requestBody.push(chunk));
    req.pipe(upstream);
  }

  private record(jobId: number, requestBody: Buffer[], answerBody: Buffer[]): void {
    const { rows } = JSON.parse(Buffer.concat(requestBody).toString("utf8")) as { rows: EventRow[] };
    const { acknowledged } = JSON.parse(Buffer.concat(answerBody).toString("utf8")) as {
      acknowledged: number;
    };
    const sent = this.sent.get(jobId) ?? new Map<number, string>();
    for (const row of rows) sent.set(row.seq, JSON.stringify(row.event));
    this.sent.set(jobId, sent);
    this.acknowledged.set(jobId, Math.max(this.acknowledged.get(jobId) ?? 0, acknowledged));
  }
}
