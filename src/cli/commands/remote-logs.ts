/**
 * `conveyor logs --remote RUN [JOB] [-f]`: a server run's logs as plain text, job by job (log
 * lines, step headers, annotations, from the jobs' event rows). With -f, each job is followed live
 * over its Server-Sent Events stream until its `end` event, reconnecting with Last-Event-ID after
 * a dropped connection, waiting for queued jobs to start and for the run's later jobs to appear.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { RunEvent } from "../../engine/events.js";
import {
  CommandFailure,
  connect,
  parseId,
  runServerCommand,
  type ConveyorApi,
  type JobJson,
  type RunWithJobsJson,
} from "../api-client.js";
import { clean } from "../run-renderer.js";
import { styleFor, type Style } from "../style.js";
import { selectJobs } from "./logs.js";
import { formatRuns } from "./runs.js";

export interface RemoteLogsOptions {
  /** Omitted: list the server's recent runs. */
  readonly run?: string;
  readonly job?: string;
  readonly follow: boolean;
  readonly json: boolean;
  /** False for `--no-color`. */
  readonly color: boolean;
}

export interface RemoteLogsIO {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

/** How often a followed run is asked for jobs that have not appeared yet (the API has no run stream). */
const NEW_JOB_POLL_MS = 500;
const RECONNECT_FIRST_DELAY_MS = 250;
const RECONNECT_MAX_DELAY_MS = 5_000;
/** A server away this long is not restarting: give up rather than wait forever. */
const RECONNECT_GIVE_UP_MS = 120_000;
const RECENT_RUNS = 20;

/** `conveyor logs` with --server, --remote or -f: the command line checked, then the logs shown. */
export async function remoteLogsAction(
  run: string | undefined,
  job: string | undefined,
  raw: Record<string, unknown>,
): Promise<number> {
  return runServerCommand("logs", async () => {
    if (raw.server === undefined && raw.remote !== true) {
      throw new CommandFailure(
        "-f follows a run on a Conveyor server: add --remote (or --server URL); runs of `conveyor run` are already over.",
        2,
      );
    }
    const api = connect({
      ...(typeof raw.server === "string" ? { server: raw.server } : {}),
      ...(typeof raw.token === "string" ? { token: raw.token } : {}),
    });
    const options: RemoteLogsOptions = {
      ...(run !== undefined ? { run } : {}),
      ...(job !== undefined ? { job } : {}),
      follow: raw.follow === true,
      json: raw.json === true,
      color: raw.color !== false,
    };
    return showRemoteLogs(api, options, { stdout: process.stdout, stderr: process.stderr, env: process.env });
  });
}

/** Prints what was asked; returns the exit code (with -f, 1 when a followed job did not succeed). */
export async function showRemoteLogs(
  api: ConveyorApi,
  options: RemoteLogsOptions,
  io: RemoteLogsIO,
): Promise<number> {
  const colourEnv = options.color ? io.env : { NO_COLOR: "1" };
  const style = styleFor(io.stdout as NodeJS.WriteStream, colourEnv);
  const colour = style.bold("x") !== "x";
  if (options.run === undefined) {
    const { runs } = await api.runs({ limit: String(RECENT_RUNS) });
    if (options.json) io.stdout.write(JSON.stringify({ runs }) + "\n");
    else if (runs.length === 0) io.stdout.write("no runs on this server yet\n");
    else io.stdout.write(formatRuns(runs, style, Date.now()) + "\n");
    return 0;
  }
  const runId = parseId(options.run, "RUN");
  const printer = new LogPrinter(io, style, colour, options.json);
  return options.follow
    ? followRun(api, runId, options.job, printer, io)
    : printRun(api, await api.run(runId), options.job, printer);
}

/** The logs there are now, job by job. */
async function printRun(
  api: ConveyorApi,
  run: RunWithJobsJson,
  jobSelector: string | undefined,
  printer: LogPrinter,
): Promise<number> {
  if (run.jobs.length === 0) {
    printer.note(`run ${run.id} has no jobs yet (${run.status.replace("_", " ")}): add -f to wait for them.`);
    return 0;
  }
  for (const job of selectedJobs(run, jobSelector, true)) {
    printer.jobHeader(job);
    if (job.status === "queued") printer.note(job.waitingReason ?? "waiting for a runner to take this job.");
    for (let from: number | null = 1; from !== null;) {
      const page = await api.jobLogs(job.id, from);
      for (const row of page.rows) printer.event(row.event);
      from = page.next;
    }
  }
  return 0;
}

/** Each job in turn, live, until the run is over and every job it started has ended. */
async function followRun(
  api: ConveyorApi,
  runId: number,
  jobSelector: string | undefined,
  printer: LogPrinter,
  io: RemoteLogsIO,
): Promise<number> {
  const attempt = (await api.run(runId)).attempt;
  const reconnector = new Reconnector(api, io);
  const followed = new Set<number>();
  let allSucceeded = true;
  for (;;) {
    const run = await reconnector.retry(() => api.run(runId, attempt), "the run");
    const finished = run.status === "completed";
    const next = selectedJobs(run, jobSelector, finished).find((job) => !followed.has(job.id));
    if (next) {
      followed.add(next.id);
      const end = await followJob(api, next, printer, reconnector);
      if (end.conclusion !== "success" && end.conclusion !== "skipped") allSucceeded = false;
      continue;
    }
    if (finished) return allSucceeded ? 0 : 1;
    await sleep(NEW_JOB_POLL_MS);
  }
}

/**
 * The run's jobs the selector names (all without one). `mustMatch`: refuse a selector that names
 * none; otherwise the job may yet appear (a later job of a running run).
 */
function selectedJobs(
  run: RunWithJobsJson,
  selector: string | undefined,
  mustMatch: boolean,
): readonly JobJson[] {
  if (selector === undefined) return run.jobs;
  const chosen = selectJobs(
    run.jobs.map((j) => ({ id: String(j.id), name: j.name })),
    selector,
  );
  if (!chosen.ok) {
    if (mustMatch) throw new CommandFailure(chosen.message.replace("this run", `run ${run.id}`));
    return [];
  }
  return run.jobs.filter((j) => chosen.value.has(String(j.id)));
}

interface JobEnd {
  readonly status: string;
  readonly conclusion: string | null;
}

/** One job's events, live, to its end: reconnects after a drop, resuming after the last row seen. */
async function followJob(
  api: ConveyorApi,
  job: JobJson,
  printer: LogPrinter,
  reconnector: Reconnector,
): Promise<JobEnd> {
  printer.jobHeader(job);
  if (job.status === "queued") printer.note(job.waitingReason ?? "waiting for a runner to take this job.");
  let lastSeq = 0;
  for (;;) {
    try {
      const response = await api.openJobEventStream(job.id, lastSeq);
      reconnector.connected();
      if (!response.body) throw new CommandFailure(`the server at ${api.server} sent an empty event stream.`);
      for await (const message of serverSentEvents(response.body)) {
        if (message.event === "end") {
          const end = parseJson<JobEnd>(message.data) ?? { status: "completed", conclusion: null };
          printer.jobEnd(job, end);
          return end;
        }
        const event = parseJson<RunEvent>(message.data);
        if (message.id !== undefined) lastSeq = Number(message.id) || lastSeq;
        if (event) printer.event(event);
      }
      // The stream ended without its `end` event: the connection was cut.
      await reconnector.lost(undefined, `${job.name}'s log from row ${lastSeq + 1}`);
    } catch (e) {
      await reconnector.lost(e, `${job.name}'s log from row ${lastSeq + 1}`);
    }
  }
}

/**
 * Rides out a dropped connection or a restarting server: waits longer between tries, says once
 * that the connection was lost, and gives up when the server stays away. A refusal (the job is
 * gone, the token revoked) will not change by asking again, so it is thrown at once.
 */
class Reconnector {
  private lostSince: number | undefined;
  private delay = RECONNECT_FIRST_DELAY_MS;

  constructor(
    private readonly api: ConveyorApi,
    private readonly io: RemoteLogsIO,
  ) {}

  connected(): void {
    this.lostSince = undefined;
    this.delay = RECONNECT_FIRST_DELAY_MS;
  }

  async lost(failure: unknown, resuming: string): Promise<void> {
    if (failure instanceof CommandFailure && failure.status !== undefined) throw failure;
    if (this.lostSince === undefined) {
      this.lostSince = Date.now();
      this.io.stderr.write(`(connection to ${this.api.server} lost; reconnecting for ${resuming})\n`);
    } else if (Date.now() - this.lostSince > RECONNECT_GIVE_UP_MS) {
      throw failure instanceof CommandFailure ? failure : this.api.unreachable(failure);
    }
    await sleep(this.delay);
    this.delay = Math.min(this.delay * 2, RECONNECT_MAX_DELAY_MS);
  }

  async retry<T>(request: () => Promise<T>, what: string): Promise<T> {
    for (;;) {
      try {
        const answer = await request();
        this.connected();
        return answer;
      } catch (e) {
        await this.lost(e, what);
      }
    }
  }
}

/** What a job's events look like as text: one line each, headed by the job. */
class LogPrinter {
  constructor(
    private readonly io: RemoteLogsIO,
    private readonly style: Style,
    private readonly colour: boolean,
    /** `--json`: the events, one a line, and nothing else on stdout. */
    private readonly json: boolean,
  ) {}

  jobHeader(job: JobJson): void {
    if (this.json) return;
    this.io.stdout.write(this.style.bold(`● ${job.name}  ${jobState(job.status, job.conclusion)}`) + "\n");
  }

  jobEnd(job: JobJson, end: JobEnd): void {
    if (this.json) return;
    this.io.stdout.write(this.style.bold(`● ${job.name}: ${jobState(end.status, end.conclusion)}`) + "\n");
  }

  event(event: RunEvent): void {
    if (this.json) {
      this.io.stdout.write(JSON.stringify(event) + "\n");
      return;
    }
    const text = plainTextOf(event);
    if (text !== undefined) this.io.stdout.write(clean(text, this.colour) + "\n");
  }

  /** Side remarks go to stderr, so stdout holds only the logs. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}

function jobState(status: string, conclusion: string | null): string {
  return status === "completed" ? (conclusion ?? "completed") : status.replace("_", " ");
}

/** A job event as one line of text, or undefined for events that print nothing. */
export function plainTextOf(event: RunEvent): string | undefined {
  switch (event.type) {
    case "step-started":
      return `== ${event.name}`;
    case "step-finished":
      return event.conclusion === "success" ? undefined : `== ${event.name}: ${event.conclusion}`;
    case "log":
      if (event.kind === "endgroup") return undefined;
      return event.kind === "group" ? `▸ ${event.text}` : event.text;
    case "annotation": {
      const where = event.file ? `${event.file}${event.line !== undefined ? `:${event.line}` : ""}: ` : "";
      return `${event.level}: ${where}${event.title ? `${event.title}: ` : ""}${event.message}`;
    }
    default:
      return undefined;
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export interface ServerSentEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/** The messages of a text/event-stream body, as the EventSource standard reads them. */
export async function* serverSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | undefined;
  let event = "";
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    // A trailing "\r" may be the first half of "\r\n": keep it for the next chunk.
    const lines = buffer.split(/\r\n|\r(?!$)|\n/);
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length > 0 || event !== "") {
          yield { ...(id !== undefined ? { id } : {}), event: event || "message", data: data.join("\n") };
        }
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
  }
}
