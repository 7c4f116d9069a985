/**
 * `conveyor logs [run] [job]`: the runs recorded under `.conveyor/`, and any one of them replayed
 * through the same renderer `conveyor run` prints with (src/cli/run-renderer.ts).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { RunEvent } from "../../engine/events.js";
import { FileRunRecordStore } from "../../local/run-record-store.js";
import type { RunRecordSummary } from "../../store/run-records.js";
import {
  formatDuration,
  jsonRunOutput,
  rendererOptionsFor,
  replay,
  terminalRunOutput,
} from "../run-renderer.js";
import { formatTable, styleFor, type Style } from "../style.js";

export interface LogsOptions {
  readonly directory: string;
  readonly run?: string;
  readonly job?: string;
  readonly json: boolean;
  /** False for `--no-color`. */
  readonly color: boolean;
  readonly expand: boolean;
}

export interface LogsIO {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export type Selected<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const RECENT_SHOWN = 5;

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .argument("[run]", "a run id, its number (`7` or `#7`: the newest run with that number), or `last`")
    .argument("[job]", "only this job: its id, or the start of its name (`test` for every `test (…)` leg)")
    .option("-C, --directory <dir>", "the repository whose runs to show", ".")
    .option("--json", "print the run's events as JSON, one a line (or the list of runs as JSON)", false)
    .option("--no-color", "plain text without colours; lines inside groups shown")
    .option("--expand", "on a terminal, show the lines inside ::group:: sections too", false)
    .option("--server [url]", "a run of a Conveyor server: the one at this URL, or the configured one")
    .option("--remote", "a run of the configured server ($CONVEYOR_SERVER, or `conveyor login`'s)", false)
    .option(
      "--token <token>",
      "with --server/--remote: an API token (default: $CONVEYOR_TOKEN, or the saved one)",
    )
    .option("-f, --follow", "with --server/--remote: follow the run live until its jobs end", false)
    .description(
      "list the runs recorded by `conveyor run` or show one again; with --remote, a server run's logs",
    )
    .addHelpText(
      "after",
      `
Examples:
  conveyor logs                 recorded runs, newest first
  conveyor logs last            the newest run again, as it was printed
  conveyor logs 7 test          run #7, only the jobs whose name starts with "test"
  conveyor logs last --json     the newest run's events, one JSON object a line

A run on a Conveyor server (RUN is its id, as \`conveyor runs\` shows it):
  conveyor logs --remote 42           its jobs' logs so far, job by job
  conveyor logs --remote 42 test -f   follow the "test" jobs live until they end (exit 1 if one fails)
  conveyor logs --server http://ci.example:8080 42`,
    )
    .action(async (run: string | undefined, job: string | undefined, raw: Record<string, unknown>) => {
      if (raw.server !== undefined || raw.remote === true || raw.follow === true) {
        // Loaded only here: local `conveyor logs` never pays for the server client.
        const { remoteLogsAction } = await import("./remote-logs.js");
        process.exitCode = await remoteLogsAction(run, job, raw);
        return;
      }
      process.exitCode = await runLogs(
        {
          directory: resolve(String(raw.directory ?? ".")),
          ...(run !== undefined ? { run } : {}),
          ...(job !== undefined ? { job } : {}),
          json: raw.json === true,
          color: raw.color !== false,
          expand: raw.expand === true,
        },
        { stdout: process.stdout, stderr: process.stderr, env: process.env },
      );
    });
}

/** The command itself, over streams given to it; returns the exit code. */
export async function runLogs(options: LogsOptions, io: LogsIO): Promise<number> {
  const root = resolve(options.directory, ".conveyor");
  // styleFor reads only `isTTY` from the stream; --no-color speaks through the environment it reads.
  const colourEnv = options.color ? io.env : { NO_COLOR: "1" };
  const err = styleFor(io.stderr as NodeJS.WriteStream, colourEnv);
  const fail = (message: string): number => {
    io.stderr.write(`${err.red("error:")} ${message}\n`);
    return 1;
  };
  if (!existsSync(root)) return fail("no runs recorded here yet: run `conveyor run` first");
  const store = new FileRunRecordStore(root);
  const runs = await store.listRuns();
  const out = styleFor(io.stdout as NodeJS.WriteStream, colourEnv);

  if (options.run === undefined) {
    if (options.json) io.stdout.write(JSON.stringify({ runs }) + "\n");
    else if (runs.length === 0) io.stdout.write("no runs recorded here yet: run `conveyor run` first\n");
    else io.stdout.write(formatRunList(runs, out) + "\n");
    return 0;
  }

  const chosen = selectRun(runs, options.run);
  if (!chosen.ok) {
    const recent = runs.slice(0, RECENT_SHOWN);
    const list = recent.length > 0 ? `\nrecent runs:\n${indent(formatRunList(recent, err))}` : "";
    return fail(chosen.message + list);
  }
  const run = chosen.value;
  const events = (): AsyncIterable<RunEvent> => store.readEvents(run.runId) ?? emptyEvents();

  let jobIds: ReadonlySet<string> | undefined;
  if (options.job !== undefined) {
    const jobs = await jobsOf(events());
    const selected = selectJobs(jobs, options.job);
    if (!selected.ok) return fail(selected.message);
    jobIds = selected.value;
  }
  const filtered = jobIds ? onlyJobs(events(), jobIds) : events();
  const output = options.json
    ? jsonRunOutput(io.stdout)
    : terminalRunOutput(
        io.stdout,
        rendererOptionsFor(io.stdout, io.env, { color: options.color, expandGroups: options.expand }),
      );
  await replay(filtered, output);
  return 0;
}

/** `last`, `N` or `#N` (the newest run with that number), a run id, or a unique start of one. */
export function selectRun(runs: readonly RunRecordSummary[], selector: string): Selected<RunRecordSummary> {
  const wanted = selector.trim();
  if (wanted === "last") {
    const newest = runs[0];
    return newest ? { ok: true, value: newest } : { ok: false, message: "no runs recorded here yet" };
  }
  const number = /^#?(\d+)$/.exec(wanted);
  if (number) {
    const match = runs.find((r) => r.runNumber === Number(number[1]));
    return match ? { ok: true, value: match } : { ok: false, message: `no run #${number[1]} recorded here` };
  }
  const exact = runs.find((r) => r.runId === wanted);
  if (exact) return { ok: true, value: exact };
  const prefixed = wanted === "" ? [] : runs.filter((r) => r.runId.startsWith(wanted));
  if (prefixed.length === 1 && prefixed[0]) return { ok: true, value: prefixed[0] };
  if (prefixed.length > 1)
    return { ok: false, message: `'${wanted}' starts ${prefixed.length} run ids: give more of the id` };
  return { ok: false, message: `no run '${wanted}' recorded here` };
}

export interface JobName {
  readonly id: string;
  readonly name: string;
}

/**
 * The jobs a selector names: the job with that id or that exact name; otherwise every job whose
 * name starts with it (ignoring case), so `test` picks each leg of a `test` matrix.
 */
export function selectJobs(jobs: readonly JobName[], selector: string): Selected<ReadonlySet<string>> {
  const exact = jobs.filter((j) => j.id === selector || j.name === selector);
  const lower = selector.toLowerCase();
  const matches = exact.length > 0 ? exact : jobs.filter((j) => j.name.toLowerCase().startsWith(lower));
  if (matches.length > 0) return { ok: true, value: new Set(matches.map((j) => j.id)) };
  const known = jobs.map((j) => (j.id === j.name ? j.id : `${j.name} (${j.id})`));
  return {
    ok: false,
    message:
      known.length > 0
        ? `no job '${selector}' in this run; its jobs: ${known.join(", ")}`
        : `no job '${selector}' in this run: it recorded no jobs`,
  };
}

/** The jobs a run recorded, in order of appearance (one pass; only ids and names are kept). */
export async function jobsOf(events: AsyncIterable<RunEvent>): Promise<JobName[]> {
  const jobs = new Map<string, string>();
  for await (const event of events)
    if (event.type === "job-started" || event.type === "job-finished") jobs.set(event.jobId, event.name);
  return [...jobs].map(([id, name]) => ({ id, name }));
}

/** Only the chosen jobs' events, with the run's own start and end. */
export async function* onlyJobs(
  events: AsyncIterable<RunEvent>,
  jobIds: ReadonlySet<string>,
): AsyncGenerator<RunEvent> {
  for await (const event of events)
    if (event.type === "run-started" || event.type === "run-finished" || jobIds.has(event.jobId)) yield event;
}

/** Newest first: number, workflow, event, result, start time, duration, id. */
export function formatRunList(
  runs: readonly RunRecordSummary[],
  style: Style,
  formatTime: (iso: string) => string = localTime,
): string {
  const header = ["Run", "Workflow", "Event", "Result", "Started", "Duration", "Id"].map(style.bold);
  const rows = runs.map((r) => [
    `#${r.runNumber}`,
    r.workflow,
    r.event,
    resultText(r.conclusion, style),
    formatTime(r.startedAt),
    r.durationMs !== undefined ? formatDuration(r.durationMs) : "",
    style.dim(r.runId),
  ]);
  return formatTable([header, ...rows]);
}

/** A run's result with its mark: `✓ success`, `✗ failure`, `⊘ cancelled`, `? unfinished`. */
export function resultText(conclusion: RunRecordSummary["conclusion"], style: Style): string {
  switch (conclusion) {
    case "success":
      return `${style.green("✓")} success`;
    case "failure":
      return `${style.red("✗")} failure`;
    case "cancelled":
      return `${style.yellow("⊘")} cancelled`;
    case undefined:
      return `${style.yellow("?")} unfinished`;
  }
}

/** `2025-06-14 10:15:02` in the local time zone. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

async function* emptyEvents(): AsyncGenerator<RunEvent> {}
