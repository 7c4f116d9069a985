// What the server benchmarks (bench/server-*.mjs) share: real `conveyor up` and `conveyor runner`
// processes on loopback, real git pushes, the REST API, medians and verdicts. Kept in a subfolder:
// bench/run-all.mjs runs every bench/*.mjs, and this file measures nothing by itself.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// CONVEYOR_CLI: another build to measure, as in bench/run.mjs.
export const cli =
  process.env.CONVEYOR_CLI ??
  join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "conveyor.cjs");

const { fetch } = globalThis;
// PROFILE_DIR: the Conveyor processes write CPU profiles there when they stop (node --cpu-prof).
// NODE_ARGS: more options for their Node (space-separated), to try a setting.
const nodeArgs = [
  ...(process.env.PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : []),
  ...(process.env.NODE_ARGS?.split(" ").filter(Boolean) ?? []),
];
/** A `conveyor` command as a process. */
export const startConveyor = (args, env = {}) =>
  startProcess(process.execPath, [...nodeArgs, cli, ...args], env);
const cleanups = [];
/** Every folder and process a benchmark made goes when it ends (KEEP=1 keeps the folders). */
export async function cleanUp() {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `conveyor-bench-${prefix}-`));
  cleanups.push(() => {
    if (process.env.KEEP) console.log("kept", dir);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A child process whose output is kept, to wait for a line or to show when something fails. */
export function startProcess(command, args, env = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout.on("data", (chunk) => (text += chunk));
  child.stderr.on("data", (chunk) => (text += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  cleanups.push(stop);
  return {
    child,
    output: () => text,
    stop,
    async waitFor(pattern, ms = 20_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`no ${pattern} from ${command} ${args.join(" ")}:\n${text.slice(-3000)}`);
        }
        await sleep(10);
      }
    },
  };
}

/** `conveyor up` on a free port with a fresh data directory; the admin's token from its first start. */
export async function startServer(args = []) {
  const dataDir = tempDir("data");
  const server = startConveyor(
    ["up", "--port", "0", "--data-dir", dataDir, ...args],
    // The CLI saves the admin's token for itself: not in this machine's own config.
    { XDG_CONFIG_HOME: tempDir("config") },
  );
  const [, url] = await server.waitFor(/Conveyor is up at (\S+)/);
  const [, token] = await server.waitFor(/API token: (\S+)/);
  return { ...server, url, token, dataDir };
}

/** `conveyor runner` for `server`, registered with a new registration token. */
export async function startRunner(server, { capacity = 1, labels = [], serverUrl = server.url } = {}) {
  const registration = await api(server, "/runners/registration-token", {});
  return startConveyor([
    "runner",
    "--server",
    serverUrl,
    "--token",
    registration.token,
    "--capacity",
    String(capacity),
    "--dir",
    tempDir("runner"),
    ...(labels.length > 0 ? ["--labels", labels.join(",")] : []),
  ]);
}

/** The REST API as the admin: GET, or POST when there is a body. Throws on an error status. */
export async function api(server, path, body) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export function git(cwd, args) {
  const result = spawnSync("git", ["-c", "user.name=Bench", "-c", "user.email=bench@example.com", ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
  });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A local repository holding `files` in one commit on main, and a repository of that name on the server. */
export async function hostedRepository(server, name, files) {
  const dir = tempDir(`repo-${name}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(dir, ["init", "-q", "-b", "main"]);
  git(dir, ["add", "-A"]);
  git(dir, ["commit", "-q", "-m", "bench"]);
  await api(server, "/repos", { name });
  const url = new URL(`${server.url}/admin/${name}.git`);
  url.username = "admin";
  url.password = server.token;
  return { dir, name, pushUrl: url.toString() };
}

/** `git push` of main; returns the commit pushed and Date.now() when git returned. */
export function push(repository) {
  const sha = git(repository.dir, ["rev-parse", "HEAD"]).trim();
  git(repository.dir, ["push", "-q", repository.pushUrl, "main"]);
  return { sha, returnedAt: Date.now() };
}

/** The repository's run of `sha` once it has completed (polled every `everyMs`). */
export async function completedRun(server, repository, sha, { everyMs = 20, ms = 120_000 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const { runs } = await api(server, `/repos/admin/${repository.name}/runs`);
    const run = runs.find((r) => r.sha === sha);
    if (run?.status === "completed") return api(server, `/runs/${run.id}`);
    if (Date.now() > deadline) throw new Error(`the run of ${sha} did not complete in ${ms} ms`);
    await sleep(everyMs);
  }
}

export const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
export const verdict = (ok) => (ok ? "met" : "NOT MET");
export const ms1 = (x) => `${x.toFixed(1)} ms`;

/**
 * CPU time (user + system, ms) a process has used so far, its children not included, from
 * /proc (Linux; 10 ms ticks). Unlike wall time it hardly moves with other work on the machine.
 */
export function cpuMs(pid) {
  try {
    // The fields after the command name, which is in parentheses and may hold spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Other work on the machine moves every figure: said beside them. */
export function machineNote() {
  return `load average ${loadavg()[0].toFixed(2)} on this machine at the end`;
}

/** Runs `main`, cleans up whatever happened, exits 1 when a target was missed (2 when it failed). */
export async function benchmark(main) {
  // Interrupted (Ctrl-C), the folders and processes still go: some hold hundreds of megabytes.
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`\n${signal}: cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  let met = false;
  try {
    met = await main();
  } catch (e) {
    // What fails once the clean-up stopped the server is not news.
    if (interrupted) return;
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 2;
  } finally {
    await cleanUp();
  }
  if (process.exitCode !== 2) {
    console.log(`\n${met ? "All targets met." : "Some target NOT MET."}`);
    process.exitCode = met ? 0 : 1;
  }
}
