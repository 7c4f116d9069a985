/**
 * Runs one child process the way a step needs: in its own process group (so a timeout or a
 * cancel kills everything it started), output streamed line by line with bounded memory, and
 * how it ended reported as a value.
 */
import { type ChildEnd, type ChildStarter, type StartedChild, startChild } from "./child-start.js";
import { LineSplitter } from "./line-splitter.js";
import type { OutputLine } from "./line-splitter.js";

export interface ProcessRequest {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Each output line (or piece of an over-long line), stdout and stderr interleaved as they come. */
  readonly onLine: (line: OutputLine, stream: "stdout" | "stderr") => void;
  /** Kill the process group after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Aborting kills the process group (a cancelled run). */
  readonly signal?: AbortSignal;
  /** Told the process group id as soon as the process starts, so the job can end leftovers. */
  readonly onStarted?: (processGroup: number) => void;
}

export type ProcessEnd =
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "signalled"; readonly signal: string }
  | { readonly kind: "timed-out" }
  | { readonly kind: "cancelled" }
  | { readonly kind: "not-started"; readonly reason: string };

/** How long a process group gets between SIGTERM and SIGKILL, as the runner allows. */
export const KILL_GRACE_MS = 7_500;

/** How long output is still read after the process exited, for pipes a background child holds. */
const PIPE_DRAIN_MS = 200;

export function runProcess(request: ProcessRequest, start: ChildStarter = startChild): Promise<ProcessEnd> {
  return new Promise((resolve) => {
    let child: StartedChild;
    try {
      child = start({
        command: request.command,
        args: request.args,
        cwd: request.cwd,
        env: request.env,
        newProcessGroup: true, // so the whole tree can be signalled
      });
    } catch (e) {
      resolve({ kind: "not-started", reason: e instanceof Error ? e.message : String(e) });
      return;
    }
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    let stopping: "timed-out" | "cancelled" | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    let openPipes = 2;
    let end: ChildEnd | undefined;

    const stop = (why: "timed-out" | "cancelled"): void => {
      if (stopping || settled) return;
      stopping = why;
      signalGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timeout =
      request.timeoutMs !== undefined ? setTimeout(() => stop("timed-out"), request.timeoutMs) : undefined;
    const onAbort = (): void => stop("cancelled");
    if (request.signal?.aborted) onAbort();
    request.signal?.addEventListener("abort", onAbort, { once: true });

    const finish = (): void => {
      if (settled || end === undefined) return;
      settled = true;
      for (const stream of ["stdout", "stderr"] as const) {
        for (const line of splitters[stream].end()) request.onLine(line, stream);
      }
      cleanup();
      if (end.kind === "not-started") resolve({ kind: "not-started", reason: end.reason });
      else if (stopping) {
        // A stopped step takes everything it started with it.
        signalGroup(child.pid, "SIGKILL");
        resolve({ kind: stopping });
      } else resolve(end);
    };
    for (const stream of ["stdout", "stderr"] as const) {
      const pipe = child[stream];
      pipe.on("data", (chunk: Buffer) => {
        for (const line of splitters[stream].push(chunk)) request.onLine(line, stream);
        // One chunk per turn of the event loop: left alone, it reads up to 32 chunks of a pipe
        // that keeps filling before it looks at anything else, and a step printing fast would
        // hold up the job's own requests (its log upload among them) for 100 ms and more.
        pipe.pause();
        setImmediate(() => pipe.resume());
      });
      pipe.once("close", () => {
        openPipes -= 1;
        if (openPipes === 0) finish();
      });
    }
    if (child.pid !== undefined) request.onStarted?.(child.pid);
    void child.ended.then((ended) => {
      end = ended;
      if (ended.kind === "not-started" || openPipes === 0) {
        finish();
        return;
      }
      // A background process the step started (`server &`) may hold the pipes open after the step
      // itself exits. Like the runner, stop reading shortly after exit instead of waiting for it;
      // the job ends such leftovers when it finishes.
      const drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, PIPE_DRAIN_MS);
      drain.unref();
    });

    function cleanup(): void {
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      request.signal?.removeEventListener("abort", onAbort);
    }
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Ends a process group and everything in it (the job's leftovers when it finishes). */
export function killProcessGroup(processGroup: number): void {
  signalGroup(processGroup, "SIGKILL");
}
