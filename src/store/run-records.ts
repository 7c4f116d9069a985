/**
 * Where finished and running runs are recorded, behind an interface: `conveyor run` records into
 * files under `.conveyor/`; the server (later) records into its database. What is recorded is the
 * run's event stream (src/engine/events.ts), already masked.
 */
import type { RunConclusion, RunEvent } from "../engine/events.js";

export interface RunRecorder {
  /** Appends an event; writes are buffered and ordered. */
  record(event: RunEvent): void;
  /** Flushes and closes; the run's summary is updated from the events seen. */
  close(): Promise<void>;
}

export interface RunRecordSummary {
  readonly runId: string;
  readonly runNumber: number;
  readonly workflow: string;
  readonly workflowPath: string;
  readonly event: string;
  readonly startedAt: string;
  /** Undefined while running (or when the process died mid-run). */
  readonly conclusion?: RunConclusion;
  readonly durationMs?: number;
}

export interface NewRun {
  readonly workflow: string;
  readonly workflowPath: string;
  readonly event: string;
}

export interface RunRecordStore {
  /** Allocates the next run number for the workflow (GitHub numbers runs per workflow) and opens its record. */
  startRun(
    run: NewRun,
  ): Promise<{ readonly runId: string; readonly runNumber: number; readonly recorder: RunRecorder }>;
  /** Recorded runs, newest first. */
  listRuns(): Promise<RunRecordSummary[]>;
  /** The events of a run, by run id, or undefined when there is no such run. */
  readEvents(runId: string): AsyncIterable<RunEvent> | undefined;
}
