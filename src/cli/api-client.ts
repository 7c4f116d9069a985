/**
 * The `conveyor` CLI's client of a Conveyor server's REST API (src/server/http/api-routes.ts,
 * described in src/server/http/openapi.ts), and the plumbing every server command shares: the
 * --server/--token options, and failures printed as `conveyor <command>: <message>`.
 * Only fetch and the client config: cheap to load, so `conveyor run` pays nothing for it.
 */
import type { Command } from "commander";
import type { jobView, repositoryView, runView } from "../server/http/api-views.js";
import type { RunEvent } from "../engine/events.js";
import type { TokenInfo } from "../store/accounts.js";
import { resolveClientConfig } from "./client-config.js";

export type RepositoryJson = ReturnType<typeof repositoryView>;
export type RunJson = ReturnType<typeof runView>;
export type JobJson = ReturnType<typeof jobView>;
export type RunWithJobsJson = RunJson & { readonly viewedAttempt: number; readonly jobs: readonly JobJson[] };
export type TokenJson = TokenInfo;

export interface UserJson {
  readonly id: number;
  readonly login: string;
  readonly admin: boolean;
}

export interface RunPage {
  readonly runs: readonly RunJson[];
  readonly next: number | null;
}

export interface EventRowJson {
  readonly seq: number;
  readonly event: RunEvent;
}

export interface JobLogPage {
  readonly jobId: number;
  readonly status: JobJson["status"];
  readonly rows: readonly EventRowJson[];
  readonly next: number | null;
}

export interface RunQuery {
  readonly workflow?: string;
  readonly branch?: string;
  readonly event?: string;
  readonly status?: string;
  readonly actor?: string;
  readonly limit?: string;
  readonly before?: string;
}

/** A failure the user can act on; its message is printed as is, after `conveyor <command>: `. */
export class CommandFailure extends Error {
  constructor(
    message: string,
    /** 1 when the server refused or could not be reached; 2 for a mistake in the command line. */
    readonly exitCode: 1 | 2 = 1,
    /** The HTTP status of the server's refusal, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

const API_PREFIX = "/api/v1";
/** Ordinary requests answer at once; a server silent this long is stuck or not a Conveyor server. */
const REQUEST_TIMEOUT_MS = 30_000;

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export class ConveyorApi {
  /** The server's base URL, without a trailing slash (safe to print: it holds no credentials). */
  readonly server: string;

  constructor(
    server: string,
    private readonly token: string,
  ) {
    this.server = checkServerUrl(server);
  }

  user(): Promise<UserJson> {
    return this.call("GET", "/user");
  }

  repositories(): Promise<RepositoryJson[]> {
    return this.call("GET", "/repos");
  }

  createRepository(body: { name: string; owner?: string; defaultBranch?: string }): Promise<RepositoryJson> {
    return this.call("POST", "/repos", { body });
  }

  runs(query: RunQuery, repository?: RepositoryName): Promise<RunPage> {
    const path = repository ? `/repos/${repositoryPath(repository)}/runs` : "/runs";
    return this.call("GET", path, { query: { ...query } });
  }

  run(runId: number, attempt?: number): Promise<RunWithJobsJson> {
    return this.call("GET", `/runs/${runId}`, {
      query: { attempt: attempt === undefined ? undefined : String(attempt) },
    });
  }

  cancelRun(runId: number): Promise<{ cancelled: boolean }> {
    return this.call("POST", `/runs/${runId}/cancel`);
  }

  rerun(runId: number, failedOnly: boolean): Promise<{ runId: number; attempt: number }> {
    return this.call("POST", `/runs/${runId}/rerun`, { body: { failedOnly } });
  }

  jobLogs(jobId: number, from: number): Promise<JobLogPage> {
    return this.call("GET", `/jobs/${jobId}/logs`, { query: { from: String(from) } });
  }

  dispatch(
    repository: RepositoryName,
    body: { workflow: string; ref?: string; inputs: Record<string, string> },
  ): Promise<{ runs: RunJson[] }> {
    return this.call("POST", `/repos/${repositoryPath(repository)}/dispatches`, { body });
  }

  tokens(): Promise<TokenJson[]> {
    return this.call("GET", "/user/tokens");
  }

  createToken(name: string): Promise<TokenJson & { token: string }> {
    return this.call("POST", "/user/tokens", { body: { name } });
  }

  async revokeToken(tokenId: number): Promise<void> {
    await this.call("DELETE", `/user/tokens/${tokenId}`);
  }

  registrationToken(): Promise<{ token: string; command: string }> {
    return this.call("POST", "/runners/registration-token");
  }

  /**
   * Opens a job's live event stream (Server-Sent Events), resuming after `lastEventId`. The
   * answer's body is for the caller to read; only a refusal is turned into a CommandFailure.
   */
  async openJobEventStream(jobId: number, lastEventId: number, signal?: AbortSignal): Promise<Response> {
    const response = await this.send(`${this.server}${API_PREFIX}/jobs/${jobId}/logs/stream`, {
      headers: {
        ...this.authorization(),
        accept: "text/event-stream",
        ...(lastEventId > 0 ? { "last-event-id": String(lastEventId) } : {}),
      },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw await this.refusal(response);
    return response;
  }

  /** One request: JSON in, JSON out; a refusal's `{ error }` becomes the CommandFailure's message. */
  async call<T>(
    method: Method,
    path: string,
    options: { query?: Record<string, string | undefined>; body?: unknown } = {},
  ): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {}))
      if (value !== undefined) search.set(key, value);
    const query = search.size > 0 ? `?${search}` : "";
    const response = await this.send(`${this.server}${API_PREFIX}${path}${query}`, {
      method,
      headers: {
        ...this.authorization(),
        accept: "application/json",
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) throw await this.refusal(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CommandFailure(
        `the server at ${this.server} did not answer in JSON: is it a Conveyor server? Check --server.`,
      );
    }
  }

  private authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** fetch, with the ways of not reaching the server said in words. */
  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (e) {
      throw this.unreachable(e);
    }
  }

  unreachable(error: unknown): CommandFailure {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      return new CommandFailure(
        `the server at ${this.server} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s: is it overloaded, or not a Conveyor server?`,
      );
    }
    const code = errorCode(error);
    if (code === "ECONNREFUSED") {
      return new CommandFailure(`cannot reach the server at ${this.server}: is \`conveyor up\` running?`);
    }
    const why =
      code === "ENOTFOUND" || code === "EAI_AGAIN" ? "no such host" : (code ?? innermostMessage(error));
    return new CommandFailure(
      `cannot reach the server at ${this.server} (${why}): check the URL, and that \`conveyor up\` is running there.`,
    );
  }

  private async refusal(response: Response): Promise<CommandFailure> {
    const text = await response.text().catch(() => "");
    let message: string | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object" && typeof (parsed as { error?: unknown }).error === "string") {
        message = (parsed as { error: string }).error;
      }
    } catch {
      // Not one of our error bodies: described below.
    }
    return new CommandFailure(
      message ??
        `the server at ${this.server} answered ${response.status} ${response.statusText}: is it a Conveyor server? Check --server.`,
      1,
      response.status,
    );
  }
}

/** The error code of a failed fetch (undici puts the socket's error in `cause`). */
function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function innermostMessage(error: unknown): string {
  let message = "network error";
  for (let e: unknown = error; e instanceof Error; e = e.cause) message = e.message;
  return message;
}

/** The URL without a trailing slash; refused (without echoing it, as it may hold a password) when unusable. */
function checkServerUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CommandFailure(
      `the server URL '${server}' is not a URL: give it as http://host:port, e.g. --server http://127.0.0.1:8080.`,
      2,
    );
  }
  if (url.username || url.password) {
    throw new CommandFailure(
      "the server URL must not hold a user or password: give the token with --token or CONVEYOR_TOKEN.",
      2,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CommandFailure(
      `the server URL '${server}' must start with http:// or https://, e.g. --server http://127.0.0.1:8080.`,
      2,
    );
  }
  return server.replace(/\/+$/, "");
}

export interface RepositoryName {
  readonly owner: string;
  readonly name: string;
}

/** `owner/name` from a --repo flag, or a usage failure saying the form. */
export function parseRepositoryName(text: string, flag = "--repo"): RepositoryName {
  const match = /^([^/\s]+)\/([^/\s]+?)(?:\.git)?$/.exec(text.trim());
  if (!match?.[1] || !match[2]) {
    throw new CommandFailure(`${flag} must be owner/name, such as admin/my-app (got '${text}').`, 2);
  }
  return { owner: match[1], name: match[2] };
}

function repositoryPath(repository: RepositoryName): string {
  return `${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}`;
}

/** Where each kind of id is listed, for the message about a malformed one. */
const ID_LISTS = {
  RUN: "`conveyor runs` lists them",
  ID: "`conveyor token list` lists them",
  "--to": "`conveyor deploy history <environment>` lists the deployments",
} as const;

/**
 * An id from the command line (a run's, a token's, or `--to`'s deployment): a whole number, as the
 * listing commands show them.
 */
export function parseId(text: string, what: keyof typeof ID_LISTS): number {
  const trimmed = text.trim().replace(/^#/, "");
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1 || !Number.isSafeInteger(Number(trimmed))) {
    throw new CommandFailure(
      `${what} must be a whole number such as 42 (got '${text}'): ${ID_LISTS[what]}.`,
      2,
    );
  }
  return Number(trimmed);
}

export interface ServerFlags {
  readonly server?: string;
  readonly token?: string;
}

/** The options every command that talks to a server takes. */
export function addServerOptions(command: Command): Command {
  return command
    .option(
      "--server <url>",
      "the Conveyor server (default: $CONVEYOR_SERVER, else the one `conveyor login` saved)",
    )
    .option(
      "--token <token>",
      "an API token (default: $CONVEYOR_TOKEN, else the one `conveyor login` saved)",
    );
}

/** The API client for the server and token the flags, environment or saved config name. */
export function connect(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): ConveyorApi {
  const resolved = resolveClientConfig(flags, env);
  if (!resolved.ok) throw new CommandFailure(resolved.message, 2);
  return new ConveyorApi(resolved.config.server, resolved.config.token);
}

/**
 * Runs one server command's body and returns its exit code: a CommandFailure is printed as
 * `conveyor <command>: <message>`; anything else is a bug and goes on to main's handler.
 */
export async function runServerCommand(
  command: string,
  /** Resolves with an exit code, or with nothing for 0. */
  body: () => Promise<unknown>,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  try {
    const exitCode = await body();
    return typeof exitCode === "number" ? exitCode : 0;
  } catch (e) {
    if (!(e instanceof CommandFailure)) throw e;
    stderr.write(`conveyor ${command}: ${e.message}\n`);
    return e.exitCode;
  }
}
