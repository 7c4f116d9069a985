/**
 * Starts a child process with stdin from /dev/null and its output on two pipes, and says how it
 * ended. Two starters do this the same way:
 * - the native one (native/spawn.c, built into dist/spawn.node): posix_spawn, which does not copy
 *   this process and holds its thread for well under a millisecond;
 * - Node's `child_process.spawn`, which forks this whole process and holds its thread until the
 *   child has exec'd (5 to 10 ms on a small VM): used where the native starter was not built or
 *   the kernel has no pidfds, or with CONVEYOR_NATIVE_SPAWN=0.
 */
import { spawn } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync, statSync } from "node:fs";
import { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { delimiter, join } from "node:path";
import type { Readable } from "node:stream";
import { bundleFolder } from "../bundle-location.js";

export interface ChildRequest {
  /** A program name looked up in `env.PATH` (as Node's spawn does), or a path. */
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Start it in a session and process group of its own, whose id is its pid. */
  readonly newProcessGroup: boolean;
}

/** How a started child ended, or why it did not start. */
export type ChildEnd =
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "signalled"; readonly signal: NodeJS.Signals }
  | { readonly kind: "not-started"; readonly reason: string; readonly missing: boolean };

export interface StartedChild {
  /** Undefined when it did not start. */
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles once: when the process has ended (its pipes may still be open) or failed to start. */
  readonly ended: Promise<ChildEnd>;
}

export type ChildStarter = (request: ChildRequest) => StartedChild;

/** Node's own spawn. */
export const startWithNode: ChildStarter = (request) => {
  const child = spawn(request.command, [...request.args], {
    cwd: request.cwd,
    env: request.env,
    detached: request.newProcessGroup,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const ended = new Promise<ChildEnd>((settle) => {
    child.once("error", (e: NodeJS.ErrnoException) => settle(notStarted(request.command, e.code, e.message)));
    child.once("exit", (code, signal) =>
      settle(signal ? { kind: "signalled", signal } : { kind: "exited", code: code ?? 1 }),
    );
  });
  return { pid: child.pid, stdout: child.stdout, stderr: child.stderr, ended };
};

interface NativeStarter {
  readonly available: boolean;
  spawn(
    file: string,
    argv: string[],
    envp: string[],
    cwd: string,
    newSession: boolean,
    onExit: (code: number | null, signal: number | null) => void,
  ): [pid: number, stdoutFd: number, stderrFd: number];
}

let native: { readonly starter: ChildStarter | undefined } | undefined;

/**
 * The native starter, when it was built and works here; undefined otherwise. Looked for on first
 * use: commands that start no process (`validate`) never load it.
 */
export function nativeStarter(): ChildStarter | undefined {
  native ??= { starter: loadNativeStarter() };
  return native.starter;
}

/** The starter steps use: the native one where there is one. */
export const startChild: ChildStarter = (request) => (nativeStarter() ?? startWithNode)(request);

function loadNativeStarter(): ChildStarter | undefined {
  if (process.env.CONVEYOR_NATIVE_SPAWN === "0" || process.platform !== "linux") return undefined;
  const addon = loadAddon();
  if (!addon?.available) return undefined;
  return (request: ChildRequest): StartedChild => {
    const file = resolveCommand(request.command, request.env.PATH, request.cwd);
    let started: [number, number, number];
    let settleEnd: (end: ChildEnd) => void = () => undefined;
    const ended = new Promise<ChildEnd>((settle) => (settleEnd = settle));
    try {
      started = addon.spawn(
        file,
        [request.command, ...request.args],
        Object.entries(request.env).map(([name, value]) => `${name}=${value}`),
        request.cwd,
        request.newProcessGroup,
        (code, signal) =>
          settleEnd(
            signal !== null
              ? { kind: "signalled", signal: signalName(signal) }
              : { kind: "exited", code: code ?? 1 },
          ),
      );
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      const code = errno === undefined ? undefined : errnoName(errno);
      settleEnd(notStarted(request.command, code, e instanceof Error ? e.message : String(e)));
      return { pid: undefined, stdout: emptyStream(), stderr: emptyStream(), ended };
    }
    const [pid, stdoutFd, stderrFd] = started;
    return { pid, stdout: pipeReader(stdoutFd), stderr: pipeReader(stderrFd), ended };
  };
}

function loadAddon(): NativeStarter | undefined {
  // Beside the bundle when bundled, and only there: `conveyor run` works in folders it does not
  // trust, whose own dist/ must never be loaded. The sources (tests) run from the project's root.
  const path = join(bundleFolder() ?? join(process.cwd(), "dist"), "spawn.node");
  if (!existsSync(path)) return undefined;
  try {
    const module = { exports: {} as NativeStarter };
    process.dlopen(module, path);
    return module.exports;
  } catch {
    return undefined; // built for another Node or machine: Node's spawn does the work
  }
}

/**
 * The program's path as execvp would find it: a name with a slash as given (relative to the
 * child's cwd), otherwise the first executable file of that name in PATH. A name found nowhere is
 * returned as given, so that starting it fails with ENOENT as Node's spawn does.
 */
export function resolveCommand(command: string, path: string | undefined, cwd: string): string {
  if (command.includes("/")) return command;
  for (const folder of (path ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter)) {
    const candidate = join(
      folder === "" ? cwd : folder.startsWith("/") ? folder : join(cwd, folder),
      command,
    );
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return command;
}

function notStarted(command: string, code: string | undefined, message: string): ChildEnd {
  const missing = code === "ENOENT";
  return { kind: "not-started", reason: missing ? `${command}: command not found` : message, missing };
}

/** A pipe's reading end as a stream, read on the event loop (not on the thread pool as a file would be). */
function pipeReader(fd: number): Readable {
  return new Socket({ fd, readable: true, writable: false });
}

function emptyStream(): Readable {
  const socket = new Socket();
  socket.destroy();
  return socket;
}

function signalName(signal: number): NodeJS.Signals {
  const found = Object.entries(osConstants.signals).find(([, number]) => number === signal);
  return (found?.[0] ?? "SIGKILL") as NodeJS.Signals;
}

function errnoName(errno: number): string | undefined {
  return Object.entries(osConstants.errno).find(([, number]) => number === errno)?.[0];
}

/** What a program run to its end gave (see `runToEnd`). */
export type FinishedProgram =
  | { readonly ok: true; readonly stdout: string; readonly stderr: string }
  | {
      readonly ok: false;
      /** The program could not start because it does not exist. */
      readonly missing: boolean;
      /** Its exit code; undefined when it did not start, was killed, or gave too much output. */
      readonly code: number | undefined;
      readonly stdout: string;
      readonly stderr: string;
    };

export interface RunToEndOptions {
  readonly cwd?: string;
  /** Default: this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Output beyond this many bytes on a stream ends the program (default 64 MiB). */
  readonly maxBuffer?: number;
}

/**
 * Runs a program (stdin empty) to its end and gives its output as UTF-8 text; a failure to start,
 * a non-zero exit or too much output is a value. Started with `startChild`, so a short command
 * (git, sh) holds this process's thread for much less time than `execFile` would.
 */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: RunToEndOptions = {},
  start: ChildStarter = startChild,
): Promise<FinishedProgram> {
  const maxBuffer = options.maxBuffer ?? 64 * 1024 * 1024;
  const env = Object.fromEntries(
    Object.entries(options.env ?? process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  const child = start({ command, args, cwd: options.cwd ?? process.cwd(), env, newProcessGroup: false });
  let tooMuch = false;
  const collect = (stream: Readable): Promise<string> =>
    new Promise((done) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBuffer) {
          tooMuch = true;
          if (child.pid !== undefined) signalProcess(child.pid);
          stream.destroy();
        } else chunks.push(chunk);
      });
      stream.once("close", () => done(Buffer.concat(chunks).toString("utf8")));
    });
  return Promise.all([child.ended, collect(child.stdout), collect(child.stderr)]).then(
    ([end, stdout, stderr]) => {
      if (end.kind === "exited" && end.code === 0 && !tooMuch) return { ok: true, stdout, stderr };
      return {
        ok: false,
        missing: end.kind === "not-started" && end.missing,
        code: end.kind === "exited" && !tooMuch ? end.code : undefined,
        stdout,
        stderr:
          end.kind === "not-started"
            ? end.reason
            : tooMuch
              ? `${command}: output over ${maxBuffer} bytes`
              : stderr,
      };
    },
  );
}

function signalProcess(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
