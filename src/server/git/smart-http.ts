/**
 * Git's smart HTTP protocol, served by `git http-backend` run as a CGI program for each request.
 * Framework-agnostic: it takes Node's request and response (in fastify, after `reply.hijack()`).
 *
 * Both bodies stream: the request into the backend's stdin, its stdout (after the CGI head) into
 * the response, with backpressure both ways, so a pack of any size passes through in chunks.
 * For a push, the ref update commands at the start of the body are read on the way through; once
 * the backend has exited, the ones git carried out are confirmed from the repository and given to
 * `onRefsUpdated` *before* the response ends. `git push` returns only when the response ends, so
 * by then the server already knows about the push (and can have queued its runs).
 *
 * Who may fetch or push is the caller's decision, made before this is called; as a second lock,
 * a push without an authenticated user is refused here too.
 */
import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { runGit } from "../../git/repository-state.js";
import { MAX_CGI_HEAD_BYTES, findCgiHeadEnd, parseCgiHead } from "./cgi-head.js";
import type { CgiHead } from "./cgi-head.js";
import { ReceiveCommandReader } from "./receive-commands.js";
import type { RefCommand } from "./receive-commands.js";
import { confirmRefUpdates } from "./ref-updates.js";
import type { RefUpdate } from "./ref-updates.js";
import type { GitEndpoint } from "./repository-names.js";

export interface SmartHttpOptions {
  /** The bare repository's folder. */
  readonly repositoryPath: string;
  readonly gitPath: GitEndpoint;
  /** The query string without `?` (`service=git-upload-pack` for `info/refs`). */
  readonly query: string;
  /** The authenticated user, given to git as REMOTE_USER (it appears in the reflog). Needed to push. */
  readonly remoteUser?: string;
  /**
   * Called once a push is done, with the ref updates git carried out (none: not called). The
   * response ends when it settles; a failure is reported in the outcome, the push stands.
   */
  readonly onRefsUpdated?: (updates: readonly RefUpdate[]) => void | Promise<void>;
  /** Environment for git: only PATH, HOME, locale and git config variables are taken from it. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** The backend program. Default: `git-http-backend` in `git --exec-path`. */
  readonly backend?: string;
}

export interface SmartHttpOutcome {
  /** The HTTP status sent (0 when the client left before any). */
  readonly status: number;
  readonly updates: readonly RefUpdate[];
  /** The client went away before the response ended; the backend was stopped. */
  readonly clientGone: boolean;
  /** What went wrong on the server's side (the backend's complaint, a failed callback), for the log. */
  readonly problem?: string;
  /** Milliseconds: the backend's run, confirming the updates, the callback. */
  readonly timings: { readonly backendMs: number; readonly confirmMs: number; readonly callbackMs: number };
}

/** How long the backend gets to clean up (git removes its temporary files) before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** The end of the backend's stderr kept for the outcome. */
const MAX_STDERR_BYTES = 4 * 1024;

/** Variables the backend inherits: what git needs to run and read its config, nothing else (no secrets). */
const INHERITED = /^(PATH|HOME|LANG|LC_[A-Z]+|TMPDIR|TZ|GIT_CONFIG_(GLOBAL|SYSTEM|NOSYSTEM)|GIT_EXEC_PATH)$/;

export async function serveSmartHttp(
  req: IncomingMessage,
  res: ServerResponse,
  options: SmartHttpOptions,
): Promise<SmartHttpOutcome> {
  const started = performance.now();
  const isPush =
    options.gitPath === "git-receive-pack" ||
    (options.gitPath === "info/refs" &&
      new URLSearchParams(options.query).get("service") === "git-receive-pack");
  if (isPush && !options.remoteUser) {
    sendText(res, 403, "Pushing needs a signed-in user.\n");
    req.resume();
    return {
      status: 403,
      updates: [],
      clientGone: false,
      timings: { backendMs: 0, confirmMs: 0, callbackMs: 0 },
    };
  }
  const backend = options.backend ?? (await defaultBackend(options.env));
  const child = spawn(backend, [], {
    env: cgiEnvironment(req, options),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true, // its own process group: receive-pack and index-pack stop with it
  });

  let clientGone = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stopBackend = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(child.pid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
    killTimer.unref();
  };
  res.on("close", () => {
    if (res.writableFinished) return;
    clientGone = true;
    stopBackend();
    // Nobody reads the rest; dropping it lets the backend's pipe close.
    child.stdout.destroy();
  });

  // The request body goes to the backend as it comes; a push's commands are read on the way.
  const commands = isPush && options.gitPath === "git-receive-pack" ? tapCommands(req) : undefined;
  child.stdin.on("error", () => undefined); // the backend may exit without reading everything
  req.pipe(child.stdin);

  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-MAX_STDERR_BYTES);
  });

  const head = relayResponse(child.stdout, res);
  const exit = new Promise<{ code: number | null; failure?: string }>((resolve) => {
    child.on("error", (e) => resolve({ code: null, failure: e.message }));
    child.on("close", (code) => resolve({ code }));
  });
  const ended = await exit;
  clearTimeout(killTimer);
  req.unpipe(child.stdin);
  req.resume(); // whatever the backend did not read is dropped
  const backendDone = performance.now();
  const status = await head;
  const problems: string[] = [];
  if (ended.failure !== undefined) problems.push(`cannot run ${backend}: ${ended.failure}`);
  else if (ended.code !== 0 && !clientGone)
    problems.push(`git http-backend exited with ${ended.code}: ${stderr.trim()}`);
  if (status === undefined && !res.headersSent && !clientGone) {
    sendText(res, 500, "The git backend failed; the server's log says why.\n", false);
    if (ended.failure === undefined)
      problems.push(`git http-backend wrote no valid CGI head: ${stderr.trim()}`);
  }

  // Refs may have moved even when the client left midway: they are read, not assumed.
  let updates: RefUpdate[] = [];
  if (commands) {
    try {
      updates = await confirmRefUpdates(options.repositoryPath, await commands.read(), options.env);
    } catch (e) {
      problems.push(`cannot read the pushed refs: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const confirmed = performance.now();
  if (updates.length > 0 && options.onRefsUpdated) {
    try {
      await options.onRefsUpdated(updates);
    } catch (e) {
      problems.push(`onRefsUpdated failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const calledBack = performance.now();
  if (!res.writableEnded) res.end();
  return {
    status: res.headersSent ? res.statusCode : 0,
    updates,
    clientGone,
    ...(problems.length > 0 ? { problem: problems.join("; ") } : {}),
    timings: {
      backendMs: backendDone - started,
      confirmMs: confirmed - backendDone,
      callbackMs: calledBack - confirmed,
    },
  };
}

/** The CGI meta-variables git http-backend reads (see git-http-backend(1)). */
function cgiEnvironment(req: IncomingMessage, options: SmartHttpOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(options.env ?? process.env)) {
    if (INHERITED.test(key) && value !== undefined) env[key] = value;
  }
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const optional: Record<string, string | undefined> = {
    CONTENT_LENGTH: header("content-length"),
    // A gzip body (git sends one for large fetch negotiations) is inflated by the backend itself.
    HTTP_CONTENT_ENCODING: header("content-encoding"),
    // Protocol v2 for fetches: `Git-Protocol: version=2`.
    HTTP_GIT_PROTOCOL: header("git-protocol"),
    REMOTE_USER: options.remoteUser,
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) env[key] = value;
  return {
    ...env,
    // The repository is the project root itself: PATH_INFO cannot point outside it.
    GIT_PROJECT_ROOT: options.repositoryPath,
    PATH_INFO: `/${options.gitPath}`,
    REQUEST_METHOD: req.method ?? "GET",
    QUERY_STRING: options.query,
    CONTENT_TYPE: header("content-type") ?? "",
    REMOTE_ADDR: req.socket.remoteAddress ?? "",
    GIT_HTTP_EXPORT_ALL: "1",
  };
}

/** How long the commands may still take once the backend is done (a gzip body is inflated apart). */
const COMMANDS_GRACE_MS = 1_000;

/**
 * Reads a push's ref update commands off the request body as it streams to the backend (through
 * gunzip when the body is gzip), holding at most one pkt-line. `read()` gives them once they are
 * read, the body ended or turned out not to hold them, or a moment after the backend is done,
 * with what was read by then.
 */
function tapCommands(req: IncomingMessage): { read: () => Promise<RefCommand[]> } {
  const reader = new ReceiveCommandReader();
  const encoding = (req.headers["content-encoding"] ?? "").toLowerCase();
  let finish = (): void => undefined;
  const done = new Promise<RefCommand[]>((resolve) => {
    let finished = false;
    finish = (): void => {
      if (finished) return;
      finished = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onEnd);
      resolve([...reader.commands]);
    };
    let write: (chunk: Buffer) => void;
    let onEnd: () => void;
    if (encoding === "gzip" || encoding === "x-gzip") {
      const gunzip = createGunzip();
      gunzip.on("data", (chunk: Buffer) => {
        if (!reader.push(chunk)) {
          gunzip.destroy();
          finish();
        }
      });
      gunzip.on("error", finish);
      gunzip.on("end", finish);
      write = (chunk) => gunzip.write(chunk);
      onEnd = () => {
        if (!gunzip.writableEnded) gunzip.end();
      };
    } else {
      write = (chunk) => {
        if (!reader.push(chunk)) finish();
      };
      onEnd = finish;
    }
    const onData = (chunk: Buffer): void => write(chunk);
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onEnd);
  });
  return {
    read: () => {
      const timer = setTimeout(finish, COMMANDS_GRACE_MS);
      return done.finally(() => clearTimeout(timer));
    },
  };
}

/**
 * Sends the backend's output as the response: the CGI head becomes the status and headers, the
 * rest streams with backpressure. Resolves with the status once the output ended (undefined when
 * there was no valid head); the response itself is left open for the caller to end.
 */
function relayResponse(output: NodeJS.ReadableStream, res: ServerResponse): Promise<number | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    let status: number | undefined;
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = findCgiHeadEnd(buffered);
      if (!end) {
        if (buffered.length > MAX_CGI_HEAD_BYTES) output.removeListener("data", onData);
        return;
      }
      output.removeListener("data", onData);
      const head = parseCgiHead(buffered.toString("latin1", 0, end.headLength));
      if (!head) return;
      status = head.status;
      if (res.destroyed) return;
      writeHead(res, head);
      const body = buffered.subarray(end.bodyStart);
      if (body.length > 0) res.write(body);
      output.pipe(res, { end: false });
    };
    output.on("data", onData);
    output.on("end", () => resolve(status));
    output.on("close", () => resolve(status));
  });
}

function writeHead(res: ServerResponse, head: CgiHead): void {
  const headers = new Map<string, string[]>();
  for (const [name, value] of head.headers) headers.set(name, [...(headers.get(name) ?? []), value]);
  for (const [name, values] of headers)
    res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
  res.writeHead(head.status);
}

function sendText(res: ServerResponse, status: number, text: string, end = true): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  if (end) res.end(text);
  else res.write(text);
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

let backendPath: Promise<string> | undefined;

/** `git-http-backend` in git's exec path (`/usr/lib/git-core` on Debian), looked up once. */
function defaultBackend(env: NodeJS.ProcessEnv | undefined): Promise<string> {
  backendPath ??= runGit(".", ["--exec-path"], env).then((output) =>
    join(output.ok ? output.stdout.trim() : "/usr/lib/git-core", "git-http-backend"),
  );
  return backendPath;
}
