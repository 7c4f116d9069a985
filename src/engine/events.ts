/**
 * What happens during a run, as a stream of plain, serialisable events. The terminal renderer,
 * `--json`, the run record under `.conveyor/` and (later) the server's live logs all read this
 * one stream. Every text in it has already been masked.
 */
import type { JobResult } from "../expressions/status-functions.js";

export type StepOutcome = "success" | "failure" | "cancelled" | "skipped";
export type RunConclusion = "success" | "failure" | "cancelled";
export type AnnotationLevel = "error" | "warning" | "notice";

export interface RunStarted {
  readonly type: "run-started";
  readonly runId: string;
  readonly runNumber: number;
  readonly workflow: string;
  readonly workflowPath: string;
  readonly event: string;
  readonly ref: string;
  readonly sha: string;
  readonly at: string;
}

export interface JobStarted {
  readonly type: "job-started";
  readonly jobId: string;
  readonly name: string;
  readonly at: string;
}

export interface StepStarted {
  readonly type: "step-started";
  readonly jobId: string;
  /** 1-based, in the order steps ran (set-up and post steps included). */
  readonly step: number;
  readonly name: string;
  readonly at: string;
}

export type LogKind = "output" | "group" | "endgroup" | "command" | "debug" | "info";

export interface LogLine {
  readonly type: "log";
  readonly jobId: string;
  /** The step the line belongs to, or null for the job's own lines. */
  readonly step: number | null;
  readonly text: string;
  readonly kind: LogKind;
  readonly stream: "stdout" | "stderr" | "runner";
  readonly at: string;
}

export interface Annotation {
  readonly type: "annotation";
  readonly jobId: string;
  readonly step: number | null;
  readonly level: AnnotationLevel;
  readonly message: string;
  readonly title?: string;
  readonly file?: string;
  readonly line?: number;
  readonly endLine?: number;
  readonly column?: number;
  readonly endColumn?: number;
  readonly at: string;
}

export interface StepFinished {
  readonly type: "step-finished";
  readonly jobId: string;
  readonly step: number;
  readonly name: string;
  /** Before continue-on-error. */
  readonly outcome: StepOutcome;
  /** After continue-on-error. */
  readonly conclusion: StepOutcome;
  readonly durationMs: number;
  readonly at: string;
}

export interface StepSummary {
  readonly type: "step-summary";
  readonly jobId: string;
  readonly step: number;
  readonly markdown: string;
  readonly at: string;
}

export interface JobFinished {
  readonly type: "job-finished";
  readonly jobId: string;
  readonly name: string;
  readonly result: JobResult;
  /** False for a job that ended without running (skipped by `if`, say). */
  readonly ran: boolean;
  readonly durationMs: number;
  readonly outputs: Readonly<Record<string, string>>;
  readonly at: string;
}

export interface RunFinished {
  readonly type: "run-finished";
  readonly conclusion: RunConclusion;
  readonly durationMs: number;
  readonly at: string;
}

export type RunEvent =
  | RunStarted
  | JobStarted
  | StepStarted
  | LogLine
  | Annotation
  | StepFinished
  | StepSummary
  | JobFinished
  | RunFinished;

export type RunEventSink = (event: RunEvent) => void;

let lastMs = Number.NaN;
let lastIso = "";

/** The time as an ISO string. Every log line takes one: within a millisecond it is made once. */
export function now(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
