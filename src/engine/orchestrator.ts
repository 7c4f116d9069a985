/**
 * Drives a RunEngine: carries out its commands (start a job on an executor, cancel one), feeds
 * back what happened, and reports the run as events. The executor decides where a job runs: in
 * this process for `conveyor run`, on a remote runner for the server.
 */
import { formatDiagnostic } from "../diagnostic.js";
import { now } from "./events.js";
import type { RunConclusion, RunEventSink } from "./events.js";
import type { EngineCommand, JobAssignment, JobOutcome, RunEngine } from "./run-engine.js";

export interface JobExecutor {
  /** Runs a job to its end; `signal` aborts when the engine cancels it (fail-fast, or the run). */
  execute(assignment: JobAssignment, signal: AbortSignal): Promise<JobOutcome>;
}

export interface OrchestrateOptions {
  readonly engine: RunEngine;
  readonly executor: JobExecutor;
  readonly emit: RunEventSink;
  /** Aborting cancels the run (Ctrl-C). */
  readonly signal?: AbortSignal;
}

export function orchestrateRun(options: OrchestrateOptions): Promise<RunConclusion> {
  const { engine, executor, emit, signal } = options;
  const started = Date.now();
  const running = new Map<string, AbortController>();
  return new Promise((resolve) => {
    let finished = false;
    const carryOut = (commands: readonly EngineCommand[]): void => {
      for (const command of commands) {
        switch (command.kind) {
          case "start":
            launch(command.assignment);
            break;
          case "cancel":
            running.get(command.id)?.abort();
            break;
          case "job-settled":
            settle(command);
            break;
          case "run-finished":
            if (finished) break;
            finished = true;
            signal?.removeEventListener("abort", onCancel);
            emit({
              type: "run-finished",
              conclusion: command.conclusion,
              durationMs: Date.now() - started,
              at: now(),
            });
            resolve(command.conclusion);
            break;
        }
      }
    };
    const launch = (assignment: JobAssignment): void => {
      const controller = new AbortController();
      running.set(assignment.id, controller);
      executor
        .execute(assignment, controller.signal)
        .catch((e: unknown): JobOutcome => {
          emit({
            type: "annotation",
            jobId: assignment.id,
            step: null,
            level: "error",
            message: `the job could not run: ${e instanceof Error ? e.message : String(e)}`,
            at: now(),
          });
          return { conclusion: "failure", outputs: {} };
        })
        .then((outcome) => {
          running.delete(assignment.id);
          carryOut(engine.jobFinished(assignment.id, outcome));
        });
    };
    const settle = (command: Extract<EngineCommand, { kind: "job-settled" }>): void => {
      const jobId = `settled:${command.displayName}`;
      for (const e of command.errors) {
        emit({
          type: "annotation",
          jobId,
          step: null,
          level: "error",
          message: formatDiagnostic(e),
          at: now(),
        });
      }
      emit({
        type: "job-finished",
        jobId,
        name: command.displayName,
        result: command.result,
        ran: false,
        durationMs: 0,
        outputs: {},
        at: now(),
      });
    };
    const onCancel = (): void => carryOut(engine.cancel());
    signal?.addEventListener("abort", onCancel, { once: true });
    carryOut(engine.start());
    if (signal?.aborted) onCancel();
  });
}
