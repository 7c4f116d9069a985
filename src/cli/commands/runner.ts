/**
 * `conveyor runner --server URL --token T`: a runner on this machine that takes jobs from a
 * Conveyor server (src/agent/runner.ts). It registers once (the credential is kept in its folder),
 * runs until Ctrl-C: the first stops taking jobs and lets the running ones finish, the second
 * cancels them, the third leaves at once.
 */
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";

export interface RunnerSettings {
  readonly serverUrl: string;
  readonly registrationToken?: string;
  readonly labels: readonly string[];
  readonly capacity: number;
  readonly name: string;
  readonly dataDir: string;
}

export interface RunnerFlags {
  readonly server?: string;
  readonly token?: string;
  readonly labels?: string;
  readonly capacity?: string;
  readonly name?: string;
  readonly dir?: string;
}

export interface RunnerIO {
  readonly stderr: { write(text: string): unknown };
  /** Where Ctrl-C and SIGTERM come from. */
  readonly signals: Pick<NodeJS.Process, "on" | "off">;
}

const TOKEN_VARIABLE = "CONVEYOR_RUNNER_TOKEN";

export function registerRunner(program: Command): void {
  program
    .command("runner")
    .description("take jobs from a Conveyor server and run them on this machine")
    .option("--server <url>", "the server's address as this machine reaches it, like http://10.0.0.5:8080")
    .option("--token <token>", `a registration token, needed the first time (or set ${TOKEN_VARIABLE})`)
    .option("--labels <a,b>", "this runner's labels for runs-on (self-hosted, the OS and the arch are added)")
    .option("--capacity <n>", "jobs run at once", "1")
    .option("--name <name>", "the runner's name on the server (default: the host name)")
    .option(
      "--dir <dir>",
      "where it keeps its registration, job folders and caches (default ~/.local/share/conveyor/runners/<name>)",
    )
    .addHelpText(
      "after",
      `
Examples:
  conveyor runner --server http://ci.example:8080 --token cvg_…    register and take jobs
  conveyor runner --server http://ci.example:8080 --labels gpu --capacity 4
Make a registration token on the server with \`conveyor runner-token\`. Once registered, the runner
reuses its credential (kept in --dir, readable only by you) and needs no token.`,
    )
    .action(async (flags: RunnerFlags) => {
      const settings = parseRunnerFlags(flags, process.env, homedir(), hostname());
      if (!settings.ok) {
        for (const message of settings.errors) process.stderr.write(`conveyor runner: ${message}\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = await runRunner(settings.value, { stderr: process.stderr, signals: process });
    });
}

/** The flags checked, each mistake named with what to do. */
export function parseRunnerFlags(
  flags: RunnerFlags,
  env: Readonly<Record<string, string | undefined>>,
  home: string,
  host: string,
): { ok: true; value: RunnerSettings } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const serverUrl = checkServerUrl(flags.server, errors);
  const labels = (flags.labels ?? "")
    .split(",")
    .map((label) => label.trim())
    .filter((label) => label !== "");
  for (const label of labels) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(label)) {
      errors.push(
        `--labels: '${label}' is not a label: use letters, digits, '.', '_' and '-' (at most 64), separated by commas, like --labels gpu,large.`,
      );
    }
  }
  const capacityText = (flags.capacity ?? "1").trim();
  const capacity = Number(capacityText);
  if (!/^[0-9]+$/.test(capacityText) || capacity < 1 || capacity > 256) {
    errors.push(`--capacity: '${capacityText}' is not a number of jobs: give a whole number from 1 to 256.`);
  }
  const name = (flags.name ?? host).trim();
  if (name === "" || name.length > 100) errors.push("--name: give the runner a name of 1 to 100 characters.");
  const token = flags.token ?? env[TOKEN_VARIABLE];
  if (errors.length > 0) return { ok: false, errors };
  const dataHome = env.XDG_DATA_HOME?.trim() || join(home, ".local", "share");
  const dataDir = flags.dir
    ? resolve(flags.dir)
    : join(dataHome, "conveyor", "runners", name.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^\.+/, "_"));
  return {
    ok: true,
    value: {
      serverUrl,
      ...(token ? { registrationToken: token } : {}),
      labels,
      capacity,
      name,
      dataDir,
    },
  };
}

function checkServerUrl(text: string | undefined, errors: string[]): string {
  const example = "like --server http://10.0.0.5:8080";
  if (text === undefined || text.trim() === "") {
    errors.push(`--server is needed: give the address of the Conveyor server, ${example}.`);
    return "";
  }
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    errors.push(`--server: '${text}' is not a URL: give the server's address with its scheme, ${example}.`);
    return "";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    errors.push(`--server: '${text}' is not an http:// or https:// address: ${example}.`);
  } else if (url.username !== "" || url.password !== "") {
    errors.push("--server: leave credentials out of the address: the runner authenticates with --token.");
  } else if (url.search !== "" || url.hash !== "") {
    errors.push(`--server: give only the server's address, without '?' or '#' parts, ${example}.`);
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/** Runs until stopped; the exit code. */
export async function runRunner(settings: RunnerSettings, io: RunnerIO): Promise<number> {
  // Loaded here: the other commands do not pay for the job runner's modules.
  const { Runner, RunnerError } = await import("../../agent/runner.js");
  const { ProtocolMismatch } = await import("../../agent/protocol-client.js");
  const say = (message: string): void => void io.stderr.write(`conveyor runner: ${message}\n`);
  const runner = new Runner({ ...settings, log: say });
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      const running = runner.runningJobs.length;
      say(
        running === 0
          ? "stopping."
          : `stopping: no new jobs; waiting for ${running} running job(s) to finish (Ctrl-C again to cancel them).`,
      );
      void runner.stop().catch(() => undefined);
    } else if (interrupts === 2) {
      say("cancelling the running jobs (Ctrl-C again to leave at once).");
      void runner.stop({ cancelJobs: true }).catch(() => undefined);
    } else runner.abandon();
  };
  io.signals.on("SIGINT", onSignal);
  io.signals.on("SIGTERM", onSignal);
  try {
    const registration = await runner.start();
    say(
      `${registration.reused ? "runner" : "registered runner"} '${registration.name}' with ${settings.serverUrl}` +
        `, labels: ${registration.labels.join(", ") || "(none)"}; taking up to ${settings.capacity} job(s) at once. Ctrl-C stops.`,
    );
    await runner.finished();
    return 0;
  } catch (e) {
    if (interrupts > 0 && !(e instanceof RunnerError)) return 130; // stopped before it could register
    if (e instanceof RunnerError || e instanceof ProtocolMismatch) {
      say(e.message);
      return 1;
    }
    throw e;
  } finally {
    io.signals.off("SIGINT", onSignal);
    io.signals.off("SIGTERM", onSignal);
  }
}
