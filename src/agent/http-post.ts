/**
 * One POST over Node's own http/https with kept-alive connections: the runner protocol's transport.
 * Node's fetch (undici, with web streams and abort-signal plumbing) cost a runner more CPU per job
 * than running the job's step; a plain request on a reused socket costs a fraction of it.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { ClientRequest, IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

const agents = {
  http: new HttpAgent({ keepAlive: true }),
  https: new HttpsAgent({ keepAlive: true }),
};

export interface PostAnswer {
  readonly status: number;
  readonly text: string;
}

/** The request failed before an answer: `code` is the system's (`ECONNREFUSED`) when there is one. */
export class PostFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = "PostFailure";
  }
}

/**
 * POSTs `body` (a string, or pieces written in order without being joined) and reads the whole
 * answer as text. Rejects with the signal's reason when it aborts, and with a `PostFailure` when
 * the connection fails or no answer comes within `timeoutMs`.
 */
export async function post(
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string | readonly Uint8Array[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<PostAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce(url, headers, body, timeoutMs, signal);
    } catch (error) {
      // A kept-alive connection the server closed just as it was reused: the request never
      // reached it, so it is sent again at once, on a new connection, without counting as a failure.
      if (!(error instanceof StaleConnection)) throw error;
      if (attempt >= 2) throw new PostFailure(error.message, error.code, false);
    }
  }
}

class StaleConnection extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

function postOnce(
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string | readonly Uint8Array[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<PostAnswer> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const https = url.protocol === "https:";
    const length =
      typeof body === "string"
        ? Buffer.byteLength(body)
        : body.reduce((sum, piece) => sum + piece.byteLength, 0);
    const request = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: "POST",
        agent: https ? agents.https : agents.http,
        headers: { ...headers, "content-length": String(length) },
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          finish(undefined, {
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", (error) => finish(failureOf(error)));
        response.on("close", () => {
          if (!response.complete)
            finish(new PostFailure("the connection closed mid-answer", "ECONNRESET", false));
        });
      },
    );
    let settled = false;
    const finish = (error: Error | undefined, answer?: PostAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(answer as PostAnswer);
    };
    const onAbort = (): void =>
      finish(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    const timer = setTimeout(() => finish(new PostFailure("no answer in time", undefined, true)), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    request.on("error", (error: NodeJS.ErrnoException) => {
      const stale = request.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE");
      finish(stale ? new StaleConnection(error.message, error.code) : failureOf(error));
    });
    if (typeof body === "string") request.end(body);
    else writePieces(request, body);
  });
}

/** Writes the pieces in order, waiting for the socket to drain when it asks to. */
function writePieces(request: ClientRequest, pieces: readonly Uint8Array[]): void {
  let next = 0;
  const writeMore = (): void => {
    while (next < pieces.length) {
      if (!request.write(pieces[next++] as Uint8Array)) {
        request.once("drain", writeMore);
        return;
      }
    }
    request.end();
  };
  writeMore();
}

function failureOf(error: NodeJS.ErrnoException): PostFailure {
  return new PostFailure(error.message, error.code, false);
}
