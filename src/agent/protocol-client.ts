/**
 * The runner's side of the runner protocol (src/protocol/runner.ts): register, poll, events and
 * complete as JSON over HTTP (node:http, connections kept alive).
 *
 * A server that cannot be reached or answers 5xx is waited for: the same request is sent again
 * with capped exponential backoff and jitter until it answers or the caller's signal aborts, so a
 * restarting server finds its runners coming back by themselves. A 4xx is a refusal a retry will
 * not change: it is thrown as a `ProtocolRefusal` carrying the server's message, except the 409
 * sequence conflicts of `events` and `complete`, which are answers the caller acts on.
 *
 * The credential and job tokens travel only in headers and bodies: no message made here holds
 * them (a server message that quotes one has it replaced).
 */
import { setTimeout as delay } from "node:timers/promises";
import { post, PostFailure } from "./http-post.js";
import type { RunEvent } from "../engine/events.js";
import { POLL_HOLD_SECONDS, RUNNER_API_PREFIX } from "../protocol/runner.js";
import type {
  CompleteRequest,
  PollRequest,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
} from "../protocol/runner.js";

export interface RetryPolicy {
  /** The wait before the first retry; it doubles with each failure... */
  readonly initialDelayMs: number;
  /** ...up to this. Each wait is drawn between half of it and all of it (jitter). */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialDelayMs: 200, maxDelayMs: 10_000 };

/** How long any request but a poll may take before it counts as a lost connection and is sent again. */
const REQUEST_TIMEOUT_MS = 60_000;

/** A poll is held up to POLL_HOLD_SECONDS by design; past this margin the connection is presumed dead. */
const POLL_TIMEOUT_MS = (POLL_HOLD_SECONDS + 20) * 1000;

/** The server refused a request (a 4xx other than the sequence conflicts): retrying will not help. */
export class ProtocolRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolRefusal";
  }
}

/** The server answered something that is not the protocol (another service at that address, say). */
export class ProtocolMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolMismatch";
  }
}

/** Told while the server cannot be reached, and when it answers again; the runner decides what to print. */
export interface ConnectionObserver {
  unreachable?(problem: string, retryInMs: number): void;
  reachable?(): void;
}

export interface ProtocolClientOptions {
  /** The server's base URL (`http://127.0.0.1:8080`); the protocol's paths are added to it. */
  readonly serverUrl: string;
  readonly credential?: string;
  readonly retry?: RetryPolicy;
  readonly observer?: ConnectionObserver;
}

/** The answer to `events`: rows acknowledged, or a gap the runner must fill from `acknowledged + 1`. */
export type EventsAnswer =
  | { readonly kind: "acknowledged"; readonly acknowledged: number; readonly cancel: boolean }
  | { readonly kind: "conflict"; readonly acknowledged: number };

/** The answer to `complete`: accepted, or rows missing from `acknowledged + 1` on. */
export type CompleteAnswer =
  { readonly kind: "completed" } | { readonly kind: "conflict"; readonly acknowledged: number };

/**
 * An `AppendEventsRequest` already serialised, in pieces: rows are encoded once, when emitted,
 * and sent from where they are held, without being joined or copied again.
 */
export type EncodedEventRows = readonly Uint8Array[] & { readonly __encoding: "AppendEventsRequest" };

/** One `EventRow` as JSON (JSON.stringify escapes line breaks, so a row never contains a raw newline). */
export function encodeEventRow(seq: number, event: RunEvent): string {
  if (event.type === "log") {
    // Nearly every row is a log line: written field by field it costs half of a JSON.stringify of the object.
    const { jobId, step, text, kind, stream, at } = event;
    return `{"seq":${seq},"event":{"type":"log","jobId":${JSON.stringify(jobId)},"step":${step === null ? "null" : step},"text":${JSON.stringify(text)},"kind":"${kind}","stream":"${stream}","at":${JSON.stringify(at)}}}`;
  }
  return `{"seq":${seq},"event":${JSON.stringify(event)}}`;
}

const ROWS_OPEN = Buffer.from('{"rows":[');
const ROWS_CLOSE = Buffer.from("]}");

/** A request from encoded rows already separated by commas (in as many pieces as they are stored). */
export function encodeEventRows(commaSeparatedRows: readonly Uint8Array[]): EncodedEventRows {
  return [ROWS_OPEN, ...commaSeparatedRows, ROWS_CLOSE] as readonly Uint8Array[] as EncodedEventRows;
}

export class RunnerProtocolClient {
  private credentialValue: string | undefined;
  private readonly base: string;
  private readonly retry: RetryPolicy;
  private failing = false;

  constructor(private readonly options: ProtocolClientOptions) {
    this.base = options.serverUrl.replace(/\/+$/, "") + RUNNER_API_PREFIX;
    this.credentialValue = options.credential;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  set credential(value: string) {
    this.credentialValue = value;
  }

  async register(request: RegisterRequest, signal?: AbortSignal): Promise<RegisterResponse> {
    const answer = await this.exchange("/register", JSON.stringify(request), {
      signal,
      secrets: [request.registrationToken],
      authenticated: false,
    });
    const body = asObject(answer.body, "/register");
    if (typeof body.runnerId !== "string" || typeof body.credential !== "string") {
      throw new ProtocolMismatch(`${this.base}/register answered without runnerId and credential.`);
    }
    return {
      runnerId: body.runnerId,
      credential: body.credential,
      labels: stringList(body.labels),
    };
  }

  async poll(request: PollRequest, signal?: AbortSignal): Promise<PollResponse> {
    const answer = await this.exchange("/poll", JSON.stringify(request), {
      signal,
      timeoutMs: POLL_TIMEOUT_MS,
    });
    const body = asObject(answer.body, "/poll");
    if (!Array.isArray(body.jobs)) throw new ProtocolMismatch(`${this.base}/poll answered without jobs.`);
    // The leases are the server's to shape; the runner checks what it uses when it prepares each.
    return { jobs: body.jobs as PollResponse["jobs"], cancel: stringList(body.cancel) };
  }

  async appendEvents(jobId: string, rows: EncodedEventRows, signal?: AbortSignal): Promise<EventsAnswer> {
    const path = `/jobs/${encodeURIComponent(jobId)}/events`;
    const answer = await this.exchange(path, rows, { signal, conflicts: true });
    const body = asObject(answer.body, path);
    const acknowledged = sequenceNumber(body.acknowledged, path);
    if (answer.status === 409) return { kind: "conflict", acknowledged };
    return { kind: "acknowledged", acknowledged, cancel: body.cancel === true };
  }

  async complete(jobId: string, request: CompleteRequest, signal?: AbortSignal): Promise<CompleteAnswer> {
    const path = `/jobs/${encodeURIComponent(jobId)}/complete`;
    const answer = await this.exchange(path, JSON.stringify(request), { signal, conflicts: true });
    if (answer.status !== 409) return { kind: "completed" };
    return {
      kind: "conflict",
      acknowledged: sequenceNumber(asObject(answer.body, path).acknowledged, path),
    };
  }

  /** Sends until the server answers with something other than 5xx; aborting `signal` throws its reason. */
  private async exchange(
    path: string,
    body: string | readonly Uint8Array[],
    how: {
      signal: AbortSignal | undefined;
      timeoutMs?: number;
      /** 409 is an answer here, not a refusal. */
      conflicts?: boolean;
      secrets?: readonly string[];
      authenticated?: boolean;
    },
  ): Promise<{ status: number; body: unknown }> {
    const url = this.base + path;
    const target = new URL(url);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (how.authenticated !== false) {
      if (this.credentialValue === undefined)
        throw new Error(`${path} needs the runner's credential (a bug)`);
      headers.authorization = `Bearer ${this.credentialValue}`;
    }
    const secrets = [...(how.secrets ?? []), ...(this.credentialValue ? [this.credentialValue] : [])];
    for (let failures = 0; ; failures++) {
      how.signal?.throwIfAborted();
      let status: number;
      let text: string;
      try {
        ({ status, text } = await post(
          target,
          headers,
          body,
          how.timeoutMs ?? REQUEST_TIMEOUT_MS,
          how.signal,
        ));
      } catch (cause) {
        how.signal?.throwIfAborted();
        if (!(cause instanceof PostFailure)) throw cause;
        await this.wait(
          failures,
          `cannot reach ${this.options.serverUrl} (${connectionProblem(cause)})`,
          how.signal,
        );
        continue;
      }
      if (status >= 500) {
        const message = scrub(errorMessage(text), secrets);
        await this.wait(failures, `${url} answered ${status}${message ? `: ${message}` : ""}`, how.signal);
        continue;
      }
      if (this.failing) {
        this.failing = false;
        this.options.observer?.reachable?.();
      }
      if (status >= 400 && !(status === 409 && how.conflicts)) {
        const message = scrub(errorMessage(text), secrets) || `the server answered ${status}`;
        throw new ProtocolRefusal(status, message);
      }
      return { status, body: parseJson(text, url) };
    }
  }

  private async wait(failures: number, problem: string, signal: AbortSignal | undefined): Promise<void> {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** Math.min(failures, 30));
    const ms = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.failing = true;
    this.options.observer?.unreachable?.(problem, ms);
    await delay(ms, undefined, { signal });
  }
}

/** What went wrong with a connection, in words. */
function connectionProblem(failure: PostFailure): string {
  if (failure.timedOut) return "no answer in time";
  if (failure.code === "ECONNREFUSED") return "connection refused";
  return failure.code ?? failure.message;
}

function errorMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object" && "error" in body && typeof body.error === "string")
      return body.error;
  } catch {
    // not JSON: a proxy's page, say; a short one is still worth showing
  }
  const trimmed = text.trim();
  return trimmed.length > 0 && trimmed.length <= 200 && !trimmed.startsWith("<") ? trimmed : "";
}

function scrub(message: string, secrets: readonly string[]): string {
  let result = message;
  for (const secret of secrets) if (secret.length > 0) result = result.split(secret).join("***");
  return result;
}

function parseJson(text: string, url: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolMismatch(
      `${url} did not answer with JSON: is the --server address a Conveyor server? (It answered: ${text.slice(0, 80)})`,
    );
  }
}

function asObject(body: unknown, path: string): Record<string, unknown> {
  if (body && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  throw new ProtocolMismatch(`${path} answered JSON that is not an object.`);
}

function sequenceNumber(value: unknown, path: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ProtocolMismatch(`${path} answered without a valid \`acknowledged\` sequence number.`);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
