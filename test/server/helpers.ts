/** Real `conveyor up` and `conveyor runner` processes for the server's end-to-end tests. */
import { execFile, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Runner } from "../../src/agent/runner.js";
import { ConveyorServer } from "../../src/server/server.js";
import type { ServerSettings } from "../../src/server/server.js";
import { CLI } from "../cli/helpers.js";

export interface RunningProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output, or rejects after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `detached`: the process leads its own process group, so a test can kill the whole group. */
export function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: { detached?: boolean } = {},
): RunningProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached === true,
  });
  let text = "";
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    text += chunk.toString("utf8");
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => text,
    waitFor: (pattern, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = text.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} in:\n${text}`));
        }, ms);
        const onExit = (): void => {
          cleanup();
          reject(new Error(`the process exited before printing ${pattern}:\n${text}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("exit", onExit);
        };
        listeners.add(check);
        child.once("exit", onExit);
        check();
      }),
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface StartedServer extends RunningProcess {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly configHome: string;
}

/** `conveyor up` on a free port with a fresh data directory; the admin's token from its first-start output. */
export async function startServer(
  extraArgs: readonly string[] = [],
  dataDir?: string,
): Promise<StartedServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "conveyor-up-"));
  const configHome = mkdtempSync(join(tmpdir(), "conveyor-config-"));
  const process = startCli(["up", "--port", "0", "--data-dir", dir, ...extraArgs], {
    XDG_CONFIG_HOME: configHome,
  });
  const [, url] = (await process.waitFor(/Conveyor is up at (\S+)/)) as RegExpMatchArray;
  const token = dataDir ? "" : ((await process.waitFor(/API token: (\S+)/))[1] as string);
  return { ...process, url: url as string, token, dataDir: dir, configHome };
}

export async function api<T>(
  server: { url: string; token: string },
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A git repository with the given files, committed on `main`. */
export function gitRepositoryWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "conveyor-project-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  gitSync(root, ["init", "-q", "-b", "main"]);
  gitSync(root, ["add", "-A"]);
  gitSync(root, ["commit", "-q", "-m", "first commit"]);
  return root;
}

/** Runs git without blocking: a server in this same process must keep answering it. */
export function git(
  cwd: string,
  args: readonly string[],
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "git",
      ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args],
      { cwd, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

function gitSync(cwd: string, args: readonly string[]): void {
  const result = spawnSync("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args], {
    cwd,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr}`);
}

/** The push URL with the token as password (as `git push` with a credential helper would send). */
export function pushUrl(server: { url: string }, user: string, token: string, fullName: string): string {
  const url = new URL(`${server.url}/${fullName}.git`);
  url.username = user;
  url.password = token;
  return url.toString();
}

/** Polls `read` until `done` says so, or fails after `ms` with the last value. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline)
      throw new Error(`timed out; last value: ${JSON.stringify(value).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

/** A server and one runner in this process, with the admin signed up (what most server tests start from). */
export interface InProcessServer {
  readonly server: ConveyorServer;
  readonly runner: Runner;
  readonly admin: { url: string; token: string };
  readonly dataDir: string;
  /** Stops the runner (cancelling its jobs), then the server. */
  readonly stop: () => Promise<void>;
}

export async function startInProcess(
  options: { readonly prefix: string; readonly capacity?: number; readonly adminPassword?: string } & Partial<
    Omit<ServerSettings, "dataDir" | "port">
  >,
): Promise<InProcessServer> {
  const { prefix, capacity = 2, adminPassword = "admin password", ...settings } = options;
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const server = await ConveyorServer.start({ ...settings, dataDir, port: 0 });
  const admin = { url: server.url, token: (await server.bootstrapAdmin(adminPassword))?.token ?? "" };
  const runner = new Runner({
    serverUrl: server.url,
    registrationToken: await server.store.accounts.createRegistrationToken(),
    dataDir: join(dataDir, "runner"),
    capacity,
  });
  await runner.start();
  return {
    server,
    runner,
    admin,
    dataDir,
    stop: async () => {
      await runner.stop({ cancelJobs: true });
      await server.close();
    },
  };
}
