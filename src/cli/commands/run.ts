import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { formatDiagnostic } from "../../diagnostic.js";
import type { Diagnostic, Result } from "../../diagnostic.js";
import type { RunEvent } from "../../engine/events.js";
import { runLocally } from "../../local/local-run.js";
import type { LocalRunOptions } from "../../local/local-run.js";
import { GITHUB_EVENTS, likelyEvent } from "../../workflow/events.js";
import { parseAssignment, parseDotenv } from "../dotenv.js";
import { readEventPayload } from "../event-file.js";
import { addRepositoryOptions, repositoryOptions } from "../options.js";
import { styleFor } from "../style.js";
import { createRunRenderer } from "../run-renderer.js";
import { runGraph } from "./graph.js";
import { runList } from "./list.js";
import { watchAndRerun } from "../watch.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerRun(program: Command): void {
  addRepositoryOptions(
    program
      .command("run")
      .argument(
        "[event]",
        "the event to simulate (push, pull_request, workflow_dispatch, schedule, ...)",
        "push",
      )
      .description("run the workflows an event starts, here and now, on this host (no Docker needed)")
      .option(
        "-j, --job <id>",
        "run only this job (and the jobs it needs); repeatable",
        collect,
        [] as string[],
      )
      .option("-e, --eventpath <file>", "the event's JSON payload (merged over one built from the git state)")
      .option("--input <name=value>", "a workflow_dispatch input; repeatable", collect, [] as string[])
      .option("--input-file <file>", "inputs from a dotenv file", ".input")
      .option(
        "-s, --secret <name[=value]>",
        "a secret (a bare name takes the value from the environment); repeatable",
        collect,
        [] as string[],
      )
      .option("--secret-file <file>", "secrets from a dotenv file", ".secrets")
      .option(
        "--var <name=value>",
        "a configuration variable (vars context); repeatable",
        collect,
        [] as string[],
      )
      .option("--var-file <file>", "variables from a dotenv file", ".vars")
      .option(
        "--env <name=value>",
        "an environment variable for every step; repeatable",
        collect,
        [] as string[],
      )
      .option("--env-file <file>", "environment variables from a dotenv file", ".env")
      .option(
        "--matrix <key:value>",
        "run only matrix jobs with this value; repeatable",
        collect,
        [] as string[],
      )
      .option("-n, --dryrun", "show what would run without running any step", false)
      .option("--concurrent-jobs <n>", "jobs run at once (default: the number of CPU cores)")
      .option("--actor <name>", "the user the run is for (github.actor)")
      .option("--bind", "run in the working tree itself instead of a copy per job", false)
      .option("-w, --watch", "run again whenever a file changes (ignoring what .gitignore ignores)", false)
      .option("-l, --list", "list the workflows and jobs instead of running (conveyor list)", false)
      .option("-g, --graph", "draw the job graphs instead of running (conveyor graph)", false)
      .addHelpText(
        "after",
        `
Secrets, variables, env and inputs are read from .secrets, .vars, .env and .input when those files
exist, as act does. Every run is recorded under .conveyor/; \`conveyor logs\` shows it again.

Examples:
  conveyor run                               the workflows a push of this commit starts
  conveyor run pull_request -j test          one job of the pull_request workflows
  conveyor run workflow_dispatch --input level=high -s TOKEN
`,
      ),
  ).action(async (event: string, raw: Record<string, unknown>) => {
    const repository = repositoryOptions(raw);
    if (raw.list === true) return runList({ ...repository, event });
    if (raw.graph === true) return runGraph(repository);
    const built = await buildOptions(event, raw, repository.directory, repository.workflows);
    if (!built.ok) {
      for (const e of built.errors) process.stderr.write(formatDiagnostic(e) + "\n");
      process.exitCode = 2;
      return;
    }
    blockOnSlowReaders();
    const once = (signal: AbortSignal) => runOnce(built.value, repository.json, signal);
    if (raw.watch === true) {
      await watchAndRerun(repository.directory, once);
      return;
    }
    const controller = new AbortController();
    let interrupts = 0;
    const onInterrupt = (): void => {
      interrupts++;
      if (interrupts === 1) {
        process.stderr.write("\nCancelling the run (Ctrl-C again to stop at once)…\n");
        controller.abort();
      } else {
        process.exit(130);
      }
    };
    process.on("SIGINT", onInterrupt);
    try {
      process.exitCode = await once(controller.signal);
    } finally {
      process.off("SIGINT", onInterrupt);
    }
  });
}

type RunSettings = Omit<LocalRunOptions, "emit" | "signal" | "warn">;

/**
 * Makes writes to stdout and stderr wait for a slow reader when they are a pipe or a socket (Node
 * writes to those asynchronously, queueing in memory without limit). A step printing a gigabyte
 * into `conveyor run | tee log` then waits for the reader, as any Unix tool does, and memory stays
 * flat; files and terminals are written synchronously already.
 */
function blockOnSlowReaders(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const handle = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => unknown } })
      ._handle;
    handle?.setBlocking?.(true);
  }
}

/** Runs once; the exit code: 0 success, 1 failure, 2 invalid, 130 cancelled by the user. */
async function runOnce(settings: RunSettings, json: boolean, signal: AbortSignal): Promise<number> {
  const renderer = json ? undefined : createRunRenderer(process.stdout, styleFor(process.stdout));
  // What one turn of the event loop prints goes out in one write: a step's output arrives in
  // chunks of many lines, and a write per line would cost a system call each.
  let corked = false;
  const emit = (event: RunEvent): void => {
    if (!corked) {
      corked = true;
      process.stdout.cork();
      process.nextTick(() => {
        corked = false;
        process.stdout.uncork();
      });
    }
    if (json) process.stdout.write(JSON.stringify(event) + "\n");
    else renderer?.write(event);
  };
  const err = styleFor(process.stderr);
  const warn = (w: Diagnostic): void =>
    void process.stderr.write(err.yellow(`warning: ${formatDiagnostic(w)}`) + "\n");
  const result = await runLocally({ ...settings, emit, signal, warn });
  // Only a run that started has a verdict to close with (nothing ran when nothing started).
  if (result.kind === "ran") renderer?.end();
  switch (result.kind) {
    case "invalid":
      for (const e of result.errors) process.stderr.write(err.red(formatDiagnostic(e)) + "\n");
      return 2;
    case "nothing-to-run": {
      process.stderr.write(`No workflow starts on ${settings.event}:\n`);
      for (const reason of result.reasons) process.stderr.write(`  ${reason}\n`);
      if (!GITHUB_EVENTS.includes(settings.event)) {
        const meant = likelyEvent(settings.event);
        process.stderr.write(
          `'${settings.event}' is not an event that starts workflows on GitHub` +
            (meant ? `: did you mean '${meant}'?\n` : ".\n"),
        );
      }
      process.stderr.write("Run `conveyor list` to see the workflows and their events.\n");
      return 1;
    }
    case "ran":
      // 130 when the user cancelled (Ctrl-C); a run cancelled otherwise (a job out of time) failed.
      return result.conclusion === "success"
        ? 0
        : result.conclusion === "cancelled" && signal.aborted
          ? 130
          : 1;
  }
}

async function buildOptions(
  event: string,
  raw: Record<string, unknown>,
  root: string,
  workflowPaths: readonly string[],
): Promise<Result<RunSettings>> {
  const errors: Diagnostic[] = [];
  const pairs = async (
    values: unknown,
    file: unknown,
    option: string,
    fromEnvironment = false,
  ): Promise<Record<string, string>> => {
    const result: Record<string, string> = {};
    if (typeof file === "string") {
      const path = resolve(root, file);
      if (existsSync(path)) {
        const parsed = parseDotenv(await readFile(path, "utf8"), file);
        if (parsed.ok) Object.assign(result, parsed.value);
        else errors.push(...parsed.errors);
      }
    }
    for (const text of (values as string[] | undefined) ?? []) {
      const pair = parseAssignment(text, option, fromEnvironment ? (k) => process.env[k] : undefined);
      if (pair.ok) result[pair.value[0]] = pair.value[1];
      else errors.push(...pair.errors);
    }
    return result;
  };
  const inputs = await pairs(raw.input, raw.inputFile, "--input");
  const secrets = await pairs(raw.secret, raw.secretFile, "-s", true);
  const vars = await pairs(raw.var, raw.varFile, "--var");
  const env = await pairs(raw.env, raw.envFile, "--env");
  const matrix: Record<string, string> = {};
  for (const text of (raw.matrix as string[] | undefined) ?? []) {
    const colon = text.indexOf(":");
    if (colon <= 0)
      errors.push({
        severity: "error",
        message: `--matrix ${text}: write key:value, e.g. --matrix node:20.`,
      });
    else matrix[text.slice(0, colon)] = text.slice(colon + 1);
  }
  let concurrentJobs = availableParallelism();
  if (raw.concurrentJobs !== undefined) {
    const n = Number(raw.concurrentJobs);
    if (!Number.isInteger(n) || n < 1) {
      errors.push({
        severity: "error",
        message: `--concurrent-jobs ${String(raw.concurrentJobs)}: give a whole number of at least 1.`,
      });
    } else concurrentJobs = n;
  }
  let eventPayload: Record<string, unknown> | undefined;
  if (typeof raw.eventpath === "string") {
    const payload = await readEventPayload(resolve(root, raw.eventpath));
    if (payload.ok) eventPayload = payload.value;
    else errors.push(...payload.errors);
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      root,
      workflowPaths,
      event,
      eventPayload,
      jobs: (raw.job as string[] | undefined)?.length ? (raw.job as string[]) : undefined,
      inputs,
      secrets,
      vars,
      env,
      matrix,
      dryRun: raw.dryrun === true,
      concurrentJobs,
      actor: typeof raw.actor === "string" ? raw.actor : undefined,
      bind: raw.bind === true,
    },
  };
}
