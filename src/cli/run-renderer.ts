/**
 * What a user sees of a run: the RunEvent stream (src/engine/events.ts) turned into terminal lines,
 * live during `conveyor run` and again by `conveyor logs`.
 *
 * `RunRenderer` is the pure core: a state machine that takes one event and returns the lines to
 * print for it. It streams: log lines go straight out and are never kept, so a step printing a
 * gigabyte costs no memory. All it keeps is per-job state (name, colour, open group, result), the
 * annotations and step summaries (both capped as GitHub caps them) for the report at the end.
 * The writers at the bottom of this file are the thin adapters onto a stream.
 *
 * Two modes:
 * - interactive (a terminal, with colour): `::group::` sections collapse to their title, a step's
 *   `… name` line is replaced in place by its `✓ name (1.2s)` line when nothing came between;
 * - plain (a pipe, a file, `--no-color`, NO_COLOR): every line printed, no escape codes at all, so
 *   CI logs and tests see stable text.
 */
import { Buffer } from "node:buffer";
import type {
  Annotation,
  AnnotationLevel,
  JobFinished,
  LogLine,
  RunConclusion,
  RunEvent,
  RunEventSink,
  StepFinished,
  StepOutcome,
} from "../engine/events.js";
import type { JobResult } from "../expressions/status-functions.js";
import { formatTable, visibleWidth, type Style } from "./style.js";
import { renderMarkdown, type MarkdownStyle } from "./terminal-markdown.js";

export interface RunRendererOptions {
  /** Collapse groups and rewrite a step's line in place: for a terminal a person watches. */
  readonly interactive: boolean;
  /** ANSI colours (interactive needs them; FORCE_COLOR may ask for them on a pipe too). */
  readonly colour: boolean;
  /** Terminal width: a line that wrapped is never rewritten in place. Unknown: assume it fits. */
  readonly columns?: number;
  /** Interactive, but with the lines inside groups shown (`conveyor logs --expand`). */
  readonly expandGroups?: boolean;
}

/** GitHub shows at most 1 MiB of summary per step and 20 step summaries per job. */
export const MAX_SUMMARY_BYTES = 1024 * 1024;
export const MAX_SUMMARIES_PER_JOB = 20;
/** GitHub keeps 10 annotations of each level per step and 50 per job. */
export const MAX_ANNOTATIONS_PER_STEP_AND_LEVEL = 10;
export const MAX_ANNOTATIONS_PER_JOB = 50;
/** Longest job name shown in the line prefix; the summary table shows names in full. */
const MAX_PREFIX_NAME = 32;

const CURSOR_UP_AND_ERASE = "\r\u001b[1A\u001b[2K";

interface Paint extends MarkdownStyle {
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly cyan: (s: string) => string;
  readonly job: (colourIndex: number, s: string) => string;
}

/** Job prefix colours: cyan, magenta, blue, yellow, green and their bright forms (never red). */
const JOB_COLOURS = [36, 35, 34, 33, 32, 96, 95, 94, 93, 92] as const;

function paint(colour: boolean): Paint {
  const wrap =
    (open: number, close: number) =>
    (s: string): string =>
      colour ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    italic: wrap(3, 23),
    code: wrap(36, 39),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    job: (index, s) => wrap(JOB_COLOURS[index % JOB_COLOURS.length] ?? 36, 39)(s),
  };
}

interface OpenGroup {
  readonly title: string;
  /** Lines hidden so far (interactive mode only). */
  hidden: number;
}

interface JobView {
  readonly id: string;
  name: string;
  colour: number;
  running: boolean;
  /** The step running now, for naming summaries; set-up and post steps included. */
  step: { readonly number: number; readonly name: string } | undefined;
  group: OpenGroup | undefined;
  /** The first step that failed the job (not one that continued on error). */
  failedStep: string | undefined;
  finished: { readonly result: JobResult; readonly ran: boolean; readonly durationMs: number } | undefined;
  /** Annotations kept for the report: per job, and per level in the current step. */
  annotationsKept: number;
  stepAnnotations: Record<AnnotationLevel, number>;
  summariesKept: number;
}

interface KeptSummary {
  readonly job: string;
  readonly step: string;
  readonly markdown: string;
  readonly truncated: boolean;
}

/** The last line printed, when it may still be rewritten in place. */
interface Rewritable {
  readonly key: string;
  readonly text: string;
  readonly width: number;
}

export class RunRenderer {
  private readonly paint: Paint;
  private readonly collapse: boolean;
  /** Jobs in the order they first appeared: the summary table's order. */
  private readonly jobs = new Map<string, JobView>();
  private readonly annotations: { readonly job: string; readonly annotation: Annotation }[] = [];
  private annotationsDropped = 0;
  private readonly summaries: KeptSummary[] = [];
  private summariesDropped = 0;
  private hiddenLines = 0;
  private runId: string | undefined;
  private last: Rewritable | undefined;
  /** Width of the longest prefix name among running jobs, so their lines align. */
  private prefixWidth = 0;
  private done = false;

  constructor(private readonly options: RunRendererOptions) {
    this.paint = paint(options.colour);
    this.collapse = options.interactive && options.expandGroups !== true;
  }

  /** The lines to print for one event, without line ends. */
  push(event: RunEvent): string[] {
    if (this.done) return [];
    switch (event.type) {
      case "run-started":
        this.runId = event.runId;
        return this.emit([
          this.paint.bold(`${event.workflow} #${event.runNumber}`) +
            this.paint.dim(` · ${event.event} · ${event.workflowPath}`),
        ]);
      case "job-started": {
        const job = this.job(event.jobId, event.name);
        job.name = event.name;
        job.running = true;
        job.colour = this.colourFor(job);
        this.updatePrefixWidth();
        return [];
      }
      case "step-started": {
        const job = this.job(event.jobId);
        job.step = { number: event.step, name: event.name };
        job.group = undefined;
        job.stepAnnotations = { error: 0, warning: 0, notice: 0 };
        const text = this.line(job, `${this.paint.dim("…")} ${event.name}`);
        return this.emit([text], `step:${job.id}:${event.step}`);
      }
      case "log":
        return this.log(event);
      case "annotation":
        return this.annotation(event);
      case "step-finished":
        return this.stepFinished(event);
      case "step-summary":
        this.keepSummary(this.job(event.jobId), event.step, event.markdown);
        return [];
      case "job-finished":
        return this.jobFinished(event);
      case "run-finished":
        this.done = true;
        return this.emit(this.report(event.conclusion, event.durationMs));
    }
  }

  /** The end of the stream. A stream that stopped before `run-finished` (a killed process) says so. */
  end(): string[] {
    if (this.done) return [];
    this.done = true;
    return this.emit(this.report(undefined, undefined));
  }

  private log(event: LogLine): string[] {
    const job = this.job(event.jobId);
    const indent = event.step === null ? "" : "  ";
    switch (event.kind) {
      case "group": {
        const title = `${indent}${this.paint.bold(`▸ ${clean(event.text, this.options.colour)}`)}`;
        job.group = { title, hidden: 0 };
        return this.emit([this.line(job, title)], `group:${job.id}`);
      }
      case "endgroup": {
        const group = job.group;
        job.group = undefined;
        if (!group || !this.collapse || group.hidden === 0) return [];
        // Rewrite the title with the count of hidden lines, but only if it is still the last line.
        const key = `group:${job.id}`;
        if (this.last?.key !== key || !this.fits(this.last.width)) return [];
        const n = group.hidden;
        return this.emit([
          CURSOR_UP_AND_ERASE +
            this.line(job, `${group.title} ${this.paint.dim(`(${n} line${n === 1 ? "" : "s"})`)}`),
        ]);
      }
      default: {
        if (job.group && this.collapse) {
          job.group.hidden++;
          this.hiddenLines++;
          return [];
        }
        const text = clean(event.text, this.options.colour);
        const groupIndent = job.group ? "  " : "";
        const body =
          event.kind === "debug"
            ? this.paint.dim(`debug: ${text}`)
            : event.kind === "command"
              ? this.paint.cyan(text)
              : event.kind === "info"
                ? this.paint.dim(text)
                : text;
        return this.emit([this.line(job, indent + groupIndent + body)]);
      }
    }
  }

  private annotation(event: Annotation): string[] {
    const job = this.job(event.jobId);
    const forStep = job.stepAnnotations[event.level]++;
    if (forStep < MAX_ANNOTATIONS_PER_STEP_AND_LEVEL && job.annotationsKept < MAX_ANNOTATIONS_PER_JOB) {
      job.annotationsKept++;
      this.annotations.push({ job: job.name, annotation: event });
    } else this.annotationsDropped++;
    // Shown live as well, even inside a collapsed group: an annotation is never noise.
    const indent = event.step === null ? "" : "  ";
    const [first = "", ...rest] = this.annotationText(event, undefined).split("\n");
    return this.emit([
      this.line(job, indent + first),
      ...rest.map((more) => this.line(job, `${indent}    ${more}`)),
    ]);
  }

  private stepFinished(event: StepFinished): string[] {
    const job = this.job(event.jobId);
    job.group = undefined;
    const continued = event.outcome === "failure" && event.conclusion !== "failure";
    if (event.conclusion === "failure" && job.failedStep === undefined) job.failedStep = event.name;
    const { symbol, note } = this.stepMark(event.conclusion, continued);
    const duration = event.outcome === "skipped" ? "" : formatDuration(event.durationMs);
    const details = [duration, note].filter((d) => d !== "").join(", ");
    const text = this.line(job, `${symbol} ${event.name}${details ? this.paint.dim(` (${details})`) : ""}`);
    const startKey = `step:${job.id}:${event.step}`;
    const rewrite = this.options.interactive && this.last?.key === startKey && this.fits(this.last.width);
    return this.emit([rewrite ? CURSOR_UP_AND_ERASE + text : text]);
  }

  private stepMark(conclusion: StepOutcome, continued: boolean): { symbol: string; note: string } {
    const p = this.paint;
    if (continued) return { symbol: p.yellow("✗"), note: "failed, continued" };
    switch (conclusion) {
      case "success":
        return { symbol: p.green("✓"), note: "" };
      case "failure":
        return { symbol: p.red("✗"), note: "" };
      case "cancelled":
        return { symbol: p.yellow("⊘"), note: "cancelled" };
      case "skipped":
        return { symbol: p.dim("⊘"), note: "skipped" };
    }
  }

  private jobFinished(event: JobFinished): string[] {
    const job = this.job(event.jobId, event.name);
    job.name = event.name;
    const text = this.line(job, this.jobVerdict(event.result, event.ran, event.durationMs));
    job.running = false;
    job.group = undefined;
    job.step = undefined;
    this.updatePrefixWidth();
    job.finished = { result: event.result, ran: event.ran, durationMs: event.durationMs };
    return this.emit([text]);
  }

  private jobVerdict(result: JobResult, ran: boolean, durationMs: number): string {
    const p = this.paint;
    const took = ran ? p.dim(` (${formatDuration(durationMs)})`) : "";
    switch (result) {
      case "success":
        return `${p.green("✓")} ${p.bold("Job succeeded")}${took}`;
      case "failure":
        return `${p.red("✗")} ${p.bold(ran ? "Job failed" : "Job failed before it started")}${took}`;
      case "cancelled":
        return `${p.yellow("⊘")} ${p.bold("Job cancelled")}${took}`;
      case "skipped":
        return `${p.dim("⊘")} ${p.bold("Job skipped")}`;
    }
  }

  private keepSummary(job: JobView, step: number, markdown: string): void {
    if (job.summariesKept >= MAX_SUMMARIES_PER_JOB) {
      this.summariesDropped++;
      return;
    }
    job.summariesKept++;
    const truncated = Buffer.byteLength(markdown) > MAX_SUMMARY_BYTES;
    const kept = truncated
      ? Buffer.from(markdown)
          .subarray(0, MAX_SUMMARY_BYTES)
          .toString("utf8")
          .replace(/\uFFFD+$/, "")
      : markdown;
    const stepName = job.step?.number === step ? job.step.name : `step ${step}`;
    this.summaries.push({ job: job.name, step: stepName, markdown: kept, truncated });
  }

  /** The report at the end: jobs table, annotations, step summaries, and the verdict. */
  private report(conclusion: RunConclusion | undefined, durationMs: number | undefined): string[] {
    const p = this.paint;
    const out: string[] = [""];
    const jobs = [...this.jobs.values()].filter((j) => j.finished || j.running);
    if (jobs.length > 0) {
      out.push(p.bold("Jobs"));
      const rows = jobs.map((job) => {
        const f = job.finished;
        const result: JobResult | "unfinished" = f ? f.result : "unfinished";
        return [
          `${this.resultSymbol(result)} ${job.name}`,
          result,
          f?.ran ? formatDuration(f.durationMs) : "",
          job.failedStep !== undefined && result === "failure" ? p.dim(`failed at: ${job.failedStep}`) : "",
        ];
      });
      out.push(
        ...formatTable(rows)
          .split("\n")
          .map((row) => `  ${row}`),
        "",
      );
    }
    if (this.annotations.length > 0) {
      out.push(p.bold("Annotations"));
      for (const { job, annotation } of this.annotations) {
        const [first = "", ...rest] = this.annotationText(annotation, job).split("\n");
        out.push(`  ${first}`, ...rest.map((more) => `      ${more}`));
      }
      if (this.annotationsDropped > 0)
        out.push(
          p.dim(
            `  … and ${this.annotationsDropped} more (like GitHub, ${MAX_ANNOTATIONS_PER_STEP_AND_LEVEL} per step and level, ${MAX_ANNOTATIONS_PER_JOB} per job are kept)`,
          ),
        );
      out.push("");
    }
    for (const summary of this.summaries) {
      out.push(p.bold(`Summary: ${summary.job} › ${summary.step}`));
      const style: MarkdownStyle = p;
      out.push(...renderMarkdown(summary.markdown, style).map((line) => (line === "" ? "" : `  ${line}`)));
      if (summary.truncated) out.push(p.dim("  (summary cut at 1 MiB, GitHub's limit per step)"));
      out.push("");
    }
    if (this.summariesDropped > 0)
      out.push(
        p.dim(
          `… ${this.summariesDropped} more step summaries not shown (GitHub shows ${MAX_SUMMARIES_PER_JOB} per job)`,
        ),
        "",
      );
    if (this.hiddenLines > 0 && this.collapse) {
      const run = this.runId ?? "last";
      const n = this.hiddenLines;
      out.push(
        p.dim(
          `${n} line${n === 1 ? "" : "s"} inside collapsed groups not shown: \`conveyor logs ${run} --expand\` shows everything`,
        ),
      );
    }
    out.push(this.verdict(conclusion, durationMs));
    return out;
  }

  private verdict(conclusion: RunConclusion | undefined, durationMs: number | undefined): string {
    const p = this.paint;
    const took = durationMs === undefined ? "" : formatDuration(durationMs);
    switch (conclusion) {
      case "success":
        return `${p.green("✓")} ${p.bold("Run succeeded")} in ${took}`;
      case "failure":
        return `${p.red("✗")} ${p.bold("Run failed")} after ${took}`;
      case "cancelled":
        return `${p.yellow("⊘")} ${p.bold("Run cancelled")} after ${took}`;
      case undefined:
        return `${p.yellow("?")} ${p.bold("Run did not finish")} ${p.dim("(the record stops here: the process ended mid-run, or the run is still going)")}`;
    }
  }

  private resultSymbol(result: JobResult | "unfinished"): string {
    const p = this.paint;
    switch (result) {
      case "success":
        return p.green("✓");
      case "failure":
        return p.red("✗");
      case "cancelled":
        return p.yellow("⊘");
      case "skipped":
        return p.dim("⊘");
      case "unfinished":
        return p.yellow("?");
    }
  }

  /** `file:line:col: level: title: message`; the job's name stands in for a missing file. */
  private annotationText(a: Annotation, job: string | undefined): string {
    const p = this.paint;
    const colour = a.level === "error" ? p.red : a.level === "warning" ? p.yellow : p.cyan;
    const where =
      a.file !== undefined
        ? [a.file, a.line, a.line !== undefined ? a.column : undefined]
            .filter((x) => x !== undefined)
            .join(":")
        : job;
    const title = a.title !== undefined && a.title !== "" ? `${clean(a.title, this.options.colour)}: ` : "";
    const message = a.message
      .split("\n")
      .map((m) => clean(m, this.options.colour))
      .join("\n");
    return `${where !== undefined ? `${where}: ` : ""}${colour(a.level)}: ${title}${message}`;
  }

  /** A job's state, created on first sight (a job the engine settled has no `job-started`). */
  private job(id: string, name?: string): JobView {
    let job = this.jobs.get(id);
    if (!job) {
      job = {
        id,
        // The orchestrator names jobs that never started `settled:<display name>`.
        name: name ?? (id.startsWith("settled:") ? id.slice("settled:".length) : id),
        colour: 0,
        running: false,
        step: undefined,
        group: undefined,
        failedStep: undefined,
        finished: undefined,
        annotationsKept: 0,
        stepAnnotations: { error: 0, warning: 0, notice: 0 },
        summariesKept: 0,
      };
      job.colour = this.colourFor(job);
      this.jobs.set(id, job);
    }
    return job;
  }

  /** Stable per job name; moved to the next free colour when a running job already has it. */
  private colourFor(job: JobView): number {
    const preferred = hash(job.name) % JOB_COLOURS.length;
    const taken = new Set([...this.jobs.values()].filter((j) => j.running && j !== job).map((j) => j.colour));
    for (let i = 0; i < JOB_COLOURS.length; i++) {
      const candidate = (preferred + i) % JOB_COLOURS.length;
      if (!taken.has(candidate)) return candidate;
    }
    return preferred;
  }

  /** `[name]` padded to the longest name among the jobs running now, then the text. */
  private line(job: JobView, text: string): string {
    const name = prefixName(job.name);
    const pad = " ".repeat(Math.max(0, this.prefixWidth - visibleLength(name)));
    return `${this.paint.job(job.colour, `[${name}]`)}${pad} ${text}`;
  }

  private updatePrefixWidth(): void {
    this.prefixWidth = 0;
    for (const job of this.jobs.values())
      if (job.running) this.prefixWidth = Math.max(this.prefixWidth, visibleLength(prefixName(job.name)));
  }

  private fits(width: number): boolean {
    return this.options.columns === undefined || width <= this.options.columns;
  }

  /** Notes the lines as printed; the last may be rewritten in place when it carries a key. */
  private emit(lines: string[], key?: string): string[] {
    const last = lines[lines.length - 1];
    this.last =
      key !== undefined && last !== undefined && this.options.interactive
        ? { key, text: last, width: visibleWidth(last) }
        : undefined;
    return lines;
  }
}

function prefixName(name: string): string {
  return name.length <= MAX_PREFIX_NAME ? name : name.slice(0, MAX_PREFIX_NAME - 1) + "…";
}

function visibleLength(s: string): number {
  return [...s].length;
}

/** FNV-1a: a stable colour for a job name across runs. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
/** Escape sequences (OSC, CSI, two-byte ESC) and the other control characters; tab is kept. */
const CONTROLS =
  // eslint-disable-next-line no-control-regex
  /\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-Z\\-_]?|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f]/g;

/**
 * A program's line made safe for our layout: cursor movement, screen clearing, hyperlinks and other
 * control characters are dropped; its colours are kept when we print colour (and reset at the end
 * of the line, so they never bleed into the next prefix), and dropped otherwise.
 */
export function clean(text: string, colour: boolean): string {
  if (!CONTROL.test(text)) return text;
  let coloured = false;
  const kept = text.replace(CONTROLS, (sequence) => {
    if (colour && sequence.startsWith("\u001b[") && sequence.endsWith("m")) {
      coloured = true;
      return sequence;
    }
    return "";
  });
  return coloured ? kept + "\u001b[0m" : kept;
}

/** `0.4s`, `1.2s`, `12s`, `3m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

// ---- Writers: the thin adapters onto a stream --------------------------------------------------

/** What `conveyor run` and `conveyor logs` print a run through. */
export interface RunOutput {
  readonly write: RunEventSink;
  /** Call once the stream ended (after `run-finished`, or when it stopped short). */
  end(): void;
}

export interface TerminalChoice {
  /** False for `--no-color`. */
  readonly color?: boolean;
  /** `conveyor logs --expand`. */
  readonly expandGroups?: boolean;
}

/**
 * The renderer options for a stream: interactive only on a terminal with colour (so `--no-color`
 * and NO_COLOR give the plain, everything-printed form); colour as style.ts decides it.
 */
export function rendererOptionsFor(
  stream: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number },
  env: NodeJS.ProcessEnv = process.env,
  choice: TerminalChoice = {},
): RunRendererOptions {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0";
  const terminal = stream.isTTY === true && env.TERM !== "dumb";
  const colour =
    choice.color !== false && env.NO_COLOR === undefined && (forced || terminal) && env.FORCE_COLOR !== "0";
  return {
    interactive: terminal && colour,
    colour,
    // A terminal of unknown size (a pty nobody sized) reports 0 columns: treat it as unknown.
    ...(stream.columns !== undefined && stream.columns > 0 ? { columns: stream.columns } : {}),
    ...(choice.expandGroups ? { expandGroups: true } : {}),
  };
}

/**
 * Renders events onto a stream. Writes are not awaited: the event sink is synchronous, and
 * process.stdout/stderr write synchronously to files, pipes and terminals on Linux, so nothing
 * piles up in memory here.
 */
export function terminalRunOutput(stream: NodeJS.WritableStream, options: RunRendererOptions): RunOutput {
  const renderer = new RunRenderer(options);
  const write = (lines: readonly string[]): void => {
    if (lines.length > 0) stream.write(lines.join("\n") + "\n");
  };
  return {
    write: (event) => write(renderer.push(event)),
    end: () => write(renderer.end()),
  };
}

/**
 * The terminal output `conveyor run` prints through, set up from the stream (terminal or not,
 * width) and the environment. A `style` without colour (styleFor saw NO_COLOR, a pipe) or
 * `choice.color === false` (`--no-color`) gives the plain form.
 */
export function createRunRenderer(
  stream: NodeJS.WriteStream,
  style?: Style,
  choice: TerminalChoice = {},
  env: NodeJS.ProcessEnv = process.env,
): RunOutput {
  const styleColours = style === undefined || style.bold("x") !== "x";
  const color = choice.color !== false && styleColours;
  return terminalRunOutput(stream, rendererOptionsFor(stream, env, { ...choice, color }));
}

/** `--json`: one event per line, exactly as recorded. */
export function eventJsonLine(event: RunEvent): string {
  return JSON.stringify(event);
}

export function jsonRunOutput(stream: NodeJS.WritableStream): RunOutput {
  return { write: (event) => void stream.write(eventJsonLine(event) + "\n"), end: () => undefined };
}

/** Feeds a recorded stream through an output, e.g. for `conveyor logs`. */
export async function replay(events: AsyncIterable<RunEvent>, output: RunOutput): Promise<void> {
  for await (const event of events) output.write(event);
  output.end();
}
