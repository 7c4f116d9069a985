/**
 * Drives the engine of each run on the server: the same pure `RunEngine` that `conveyor run` uses.
 * What happens to a run (a job finished, the run was cancelled) is appended to the store as an
 * engine input; the engine is rebuilt from the run's definition by replaying those inputs, and its
 * commands are carried out idempotently (queue a job once, settle it once, finish the run once).
 * So a server killed at any point carries on where it was when restarted, and any server process
 * may advance any run.
 */
import { formatDiagnostic } from "../../diagnostic.js";
import { evaluateTemplate } from "../../expressions/template.js";
import { RunEngine } from "../../engine/run-engine.js";
import type { EngineCommand, JobAssignment, JobOutcome } from "../../engine/run-engine.js";
import type { ServerStore } from "../../store/server-store.js";
import type { NewRun, RunRecord } from "../../store/runs.js";
import type { JobRecord } from "../../store/jobs.js";
import type { Notifier } from "../notifier.js";
import { CallTreeCache } from "../../workflow/call-tree-cache.js";
import { runContexts } from "./run-definition.js";
import type { RunDefinition } from "./run-definition.js";
import { requiredLabels } from "./runner-labels.js";

/** What a runner needs of a job beyond the run's definition (stored with the job). */
export interface StoredAssignment {
  readonly displayName: string;
  readonly instance: JobAssignment["instance"];
  readonly contexts: JobAssignment["contexts"];
}

export interface CoordinatorOptions {
  readonly labelMap: Readonly<Record<string, string>>;
  readonly notifier: Notifier;
  /** Called once when a run's attempt finishes (to start `workflow_run` workflows, say). */
  readonly onRunFinished?: (run: RunRecord) => void;
}

interface CachedEngine {
  readonly engine: RunEngine;
  /** How many of the attempt's inputs it has applied. */
  applied: number;
  /** Job keys the engine has been told finished. */
  readonly finished: Set<string>;
}

/** Enough for any run: runners, not the engine, limit how many jobs run at once on a server. */
const SERVER_CONCURRENT_JOBS = 100_000;

export class RunCoordinator {
  /** Parsed workflows by content, shared with the run starter: a push's files are parsed once. */
  readonly trees = new CallTreeCache();
  private readonly engines = new Map<string, CachedEngine>();
  private readonly chains = new Map<number, Promise<unknown>>();
  /** Finished jobs' logs being moved into blobs, in the background. */
  private readonly archiving = new Set<Promise<unknown>>();

  constructor(
    private readonly store: ServerStore,
    private readonly options: CoordinatorOptions,
  ) {}

  /** Creates a run and queues its first jobs. */
  async startRun(run: Omit<NewRun, "definition">, definition: RunDefinition): Promise<RunRecord> {
    const created = await this.store.runs.create({ ...run, definition: JSON.stringify(definition) });
    await this.exclusive(created.id, () => this.advance(created.id));
    this.options.notifier.runChanged(created.id);
    return created;
  }

  /** A runner completed the job (already recorded as completed in the store). */
  async jobCompleted(job: JobRecord, outcome: JobOutcome): Promise<void> {
    await this.exclusive(job.runId, async () => {
      const run = await this.store.runs.byId(job.runId);
      if (!run || run.attempt !== job.attempt) return; // an older attempt's job: history only
      await this.store.runs.appendInput(run.id, run.attempt, {
        kind: "finished",
        jobKey: job.key,
        outcome: JSON.stringify(outcome),
      });
      await this.advance(run.id);
    });
    this.options.notifier.runChanged(job.runId);
    const archived: Promise<unknown> = this.store.jobs
      .archiveLog(job.id)
      .catch(() => undefined) // the log stays in the database, readable; a later pass may move it
      .finally(() => this.archiving.delete(archived));
    this.archiving.add(archived);
  }

  /** Settles once the work started in the background (log archiving) is done. */
  async idle(): Promise<void> {
    await Promise.all([...this.archiving]);
  }

  /** Cancels a run: queued jobs end cancelled, running ones are told to stop; `always()` jobs still run. */
  async cancelRun(runId: number): Promise<boolean> {
    const cancelled = await this.exclusive(runId, async () => {
      const run = await this.store.runs.byId(runId);
      if (!run || run.status === "completed") return false;
      await this.store.runs.appendInput(run.id, run.attempt, { kind: "cancel", jobKey: null, outcome: null });
      await this.advance(run.id);
      return true;
    });
    this.options.notifier.runChanged(runId);
    return cancelled;
  }

  /**
   * A new attempt of a finished run: every job again, or (`onlyFailed`) the failed ones and those
   * that need them, keeping the others' results. The old attempt's jobs and logs stay.
   */
  async rerun(runId: number, onlyFailed: boolean): Promise<number | undefined> {
    const attempt = await this.exclusive(runId, async () => {
      const run = await this.store.runs.byId(runId);
      if (!run || run.status !== "completed") return undefined;
      const previous = await this.store.jobs.forRun(run.id, run.attempt);
      const kept = onlyFailed
        ? previous.filter((j) => j.conclusion === "success" && !j.key.includes("/"))
        : [];
      const attempt = await this.store.runs.newAttempt(
        run.id,
        kept.map((j) => j.key),
      );
      for (const job of kept) {
        await this.store.jobs.keep(job, attempt);
        await this.store.runs.appendInput(run.id, attempt, {
          kind: "finished",
          jobKey: job.key,
          outcome: JSON.stringify({ conclusion: "success", outputs: job.outputs ?? {} } satisfies JobOutcome),
        });
      }
      await this.advance(run.id);
      return attempt;
    });
    this.options.notifier.runChanged(runId);
    return attempt;
  }

  /** Brings every unfinished run forward (after a restart). */
  async recover(): Promise<void> {
    for (const run of await this.store.runs.unfinished()) {
      await this.exclusive(run.id, () => this.advance(run.id));
    }
  }

  /** One run's work at a time in this process; other processes are kept safe by idempotence. */
  private exclusive<T>(runId: number, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(runId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(runId, settled);
    void settled.then(() => {
      if (this.chains.get(runId) === settled) this.chains.delete(runId);
    });
    return next;
  }

  /** Replays the attempt's new inputs into its engine and carries out what it says, until quiet. */
  private async advance(runId: number): Promise<void> {
    for (;;) {
      const run = await this.store.runs.byId(runId);
      if (!run) return;
      const definition = JSON.parse((await this.store.runs.definition(runId)) as string) as RunDefinition;
      const cacheKey = `${run.id}:${run.attempt}`;
      const inputs = await this.store.runs.inputs(run.id, run.attempt);
      let cached = this.engines.get(cacheKey);
      const commands: EngineCommand[] = [];
      if (!cached || cached.applied > inputs.length) {
        const tree = await this.trees.load(definition.workflowPath, definition.workflowFiles);
        if (!tree.ok) {
          // The files were valid when the run was created; this is a bug, but the run must still end.
          await this.store.runs.markFinished(run.id, run.attempt, "failure");
          return;
        }
        const engine = new RunEngine(tree.value, runContexts(definition, run), {
          concurrentJobs: SERVER_CONCURRENT_JOBS,
        });
        cached = { engine, applied: 0, finished: new Set() };
        this.engines.set(cacheKey, cached);
        commands.push(...engine.start());
      }
      for (const input of inputs.slice(cached.applied)) {
        if (input.kind === "cancel") {
          commands.push(...cached.engine.cancel());
        } else if (input.jobKey !== null) {
          cached.finished.add(input.jobKey);
          commands.push(
            ...cached.engine.jobFinished(input.jobKey, JSON.parse(input.outcome ?? "{}") as JobOutcome),
          );
        }
      }
      cached.applied = inputs.length;
      const followUps = await this.carryOut(run, commands, cached.finished);
      if (cached.engine.conclusion !== undefined) this.engines.delete(cacheKey);
      if (followUps.length === 0) return;
      for (const followUp of followUps) {
        await this.store.runs.appendInput(run.id, run.attempt, {
          kind: "finished",
          jobKey: followUp.key,
          outcome: JSON.stringify(followUp.outcome),
        });
      }
    }
  }

  /**
   * Carries out engine commands against the store. Returns outcomes the engine must still be told
   * (a job that ended without a runner: cancelled while queued, a `runs-on` that cannot be
   * evaluated, a job already completed before a restart).
   */
  private async carryOut(
    run: RunRecord,
    commands: readonly EngineCommand[],
    finished: ReadonlySet<string>,
  ): Promise<{ key: string; outcome: JobOutcome }[]> {
    const followUps: { key: string; outcome: JobOutcome }[] = [];
    let queued = false;
    for (const command of commands) {
      switch (command.kind) {
        case "start": {
          const { assignment } = command;
          const existing = await this.store.jobs.byKey(run.id, run.attempt, assignment.id);
          if (existing?.status === "completed") {
            if (!finished.has(assignment.id))
              followUps.push({ key: assignment.id, outcome: outcomeOf(existing) });
            break;
          }
          if (existing) break;
          const labels = this.labelsOf(assignment);
          if (!labels.ok) {
            await this.store.jobs.settle(
              { runId: run.id, attempt: run.attempt, key: assignment.id, name: assignment.displayName },
              { conclusion: "failure", reason: labels.message },
            );
            followUps.push({ key: assignment.id, outcome: { conclusion: "failure", outputs: {} } });
            break;
          }
          const stored: StoredAssignment = {
            displayName: assignment.displayName,
            instance: assignment.instance,
            contexts: assignment.contexts,
          };
          await this.store.jobs.ensureQueued({
            runId: run.id,
            attempt: run.attempt,
            key: assignment.id,
            name: assignment.displayName,
            labels: labels.labels,
            assignment: JSON.stringify(stored),
          });
          queued = true;
          break;
        }
        case "cancel": {
          const job = await this.store.jobs.byKey(run.id, run.attempt, command.id);
          if (!job || job.status === "completed") break;
          if (job.status === "queued") {
            if (
              await this.store.jobs.finish(job.id, {
                conclusion: "cancelled",
                reason: "cancelled before a runner took it",
              })
            ) {
              followUps.push({ key: job.key, outcome: { conclusion: "cancelled", outputs: {} } });
            }
          } else {
            await this.store.jobs.requestCancel([job.id]);
            this.options.notifier.jobCancelRequested(job.id, job.runnerId);
          }
          break;
        }
        case "job-settled":
          await this.store.jobs.settle(
            { runId: run.id, attempt: run.attempt, key: command.key, name: command.displayName },
            {
              conclusion: command.result,
              reason: command.errors.length > 0 ? command.errors.map(formatDiagnostic).join("\n") : undefined,
            },
          );
          break;
        case "run-finished":
          if (await this.store.runs.markFinished(run.id, run.attempt, command.conclusion)) {
            const finishedRun = await this.store.runs.byId(run.id);
            if (finishedRun) this.options.onRunFinished?.(finishedRun);
          }
          break;
      }
    }
    if (queued) this.options.notifier.jobsQueued();
    return followUps;
  }

  private labelsOf(
    assignment: JobAssignment,
  ): { ok: true; labels: string[] } | { ok: false; message: string } {
    const runsOn = assignment.job.runsOn;
    if (!runsOn)
      return { ok: false, message: `job '${assignment.job.id}' has no runs-on: say which runner it needs.` };
    const value = evaluateTemplate(runsOn, assignment.contexts, { fileName: assignment.workflow.fileName });
    if (!value.ok) return { ok: false, message: value.errors.map(formatDiagnostic).join("\n") };
    return requiredLabels(value.value, this.options.labelMap);
  }
}

/** The outcome the engine is told for a job the store has as completed. */
export function outcomeOf(job: JobRecord): JobOutcome {
  const conclusion =
    job.conclusion === "success" || job.conclusion === "skipped" ? "success" : (job.conclusion ?? "failure");
  return { conclusion, outputs: job.outputs ?? {} };
}
