/**
 * Drives the engine of each run on the server: the same pure `RunEngine` that `conveyor run` uses.
 * What happens to a run (a job finished, the run was cancelled) is appended to the store as an
 * engine input; the engine is rebuilt from the run's definition by replaying those inputs, and its
 * commands are carried out idempotently (queue a job once, settle it once, finish the run once).
 * So a server killed at any point carries on where it was when restarted, and any server process
 * may advance any run.
 */
import { formatDiagnostic, ok } from "../../diagnostic.js";
import type { Diagnostic, Result } from "../../diagnostic.js";
import { evaluateConcurrency, evaluateEnvironment, evaluateEnvironmentUrl } from "../../engine/job-gates.js";
import type { ConcurrencySetting } from "../../engine/job-gates.js";
import { evaluateTemplate } from "../../expressions/template.js";
import { RunEngine } from "../../engine/run-engine.js";
import type { EngineCommand, JobAssignment, JobOutcome } from "../../engine/run-engine.js";
import type { ServerStore } from "../../store/server-store.js";
import type { NewRun, RunRecord } from "../../store/runs.js";
import type { JobRecord } from "../../store/jobs.js";
import { jobHolder, parseHolder, runHolder } from "../../store/concurrency-groups.js";
import type { Enqueued, Holder } from "../../store/concurrency-groups.js";
import type { Deployment } from "../../store/deployments.js";
import { JobGate } from "../deployments/job-gate.js";
import type { GateDecision, GateSettings } from "../deployments/job-gate.js";
import { displacedReason, jobAndDependents, workflowConcurrency } from "../concurrency/run-concurrency.js";
import type { Notifier } from "../notifier.js";
import { CallTreeCache } from "../../workflow/call-tree-cache.js";
import { runContexts } from "./run-definition.js";
import type { RunDefinition } from "./run-definition.js";
import { requiredLabels } from "./runner-labels.js";

/**
 * What a runner needs of a job beyond the run's definition (stored with the job), and what holds
 * it back (its environment and concurrency group).
 */
export interface StoredAssignment extends GateSettings {
  readonly displayName: string;
  readonly instance: JobAssignment["instance"];
  readonly contexts: JobAssignment["contexts"];
}

export interface CoordinatorOptions {
  readonly labelMap: Readonly<Record<string, string>>;
  readonly notifier: Notifier;
  /** Called once when a run's attempt finishes (to start `workflow_run` workflows, say). */
  readonly onRunFinished?: (run: RunRecord) => void;
  /** How long a wait-timer minute lasts (tests shorten it); default a minute. */
  readonly waitTimerMinuteMs?: number;
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
  /** Environments' protection rules and job concurrency: what a waiting job must pass. */
  readonly gate: JobGate;

  constructor(
    private readonly store: ServerStore,
    private readonly options: CoordinatorOptions,
  ) {
    this.gate = new JobGate(store, options.waitTimerMinuteMs);
  }

  /** Creates a run and queues its first jobs. */
  async startRun(run: Omit<NewRun, "definition">, definition: RunDefinition): Promise<RunRecord> {
    const created = await this.store.runs.create({ ...run, definition: JSON.stringify(definition) });
    await this.enterRunGroup(created);
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
   * `onlyJobs` (top-level job ids: one job and those that need it) re-runs just those, keeping
   * every other job's result as it was, failed ones included (as GitHub's "re-run job" does).
   */
  async rerun(
    runId: number,
    onlyFailed: boolean,
    onlyJobs?: ReadonlySet<string>,
    /** Called with the new attempt before its jobs start (a rollback notes what it redeploys). */
    beforeStart?: (attempt: number) => Promise<void>,
  ): Promise<number | undefined> {
    const attempt = await this.exclusive(runId, async () => {
      const run = await this.store.runs.byId(runId);
      if (!run || run.status !== "completed") return undefined;
      const previous = await this.store.jobs.forRun(run.id, run.attempt);
      const kept = onlyJobs
        ? previous.filter(
            (j) =>
              (j.conclusion === "success" || j.conclusion === "failure" || j.conclusion === "cancelled") &&
              j.key.includes("#") &&
              !j.key.includes("/") &&
              !onlyJobs.has(j.key.slice(0, j.key.indexOf("#"))),
          )
        : onlyFailed
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
          outcome: JSON.stringify({
            conclusion:
              job.conclusion === "failure" || job.conclusion === "cancelled" ? job.conclusion : "success",
            outputs: job.outputs ?? {},
          } satisfies JobOutcome),
        });
      }
      await beforeStart?.(attempt);
      await this.enterRunGroup({ ...run, attempt });
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
      // A run pending in its concurrency group starts nothing until it holds the group.
      if (!cached && run.status !== "completed" && !(await this.holdsRunGroup(run, definition, inputs)))
        return;
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
      const ended: { key: string; outcome: JobOutcome }[] = [];
      for (const input of inputs.slice(cached.applied)) {
        if (input.kind === "cancel") {
          commands.push(...cached.engine.cancel());
        } else if (input.jobKey !== null) {
          cached.finished.add(input.jobKey);
          const outcome = JSON.parse(input.outcome ?? "{}") as JobOutcome;
          ended.push({ key: input.jobKey, outcome });
          commands.push(...cached.engine.jobFinished(input.jobKey, outcome));
        }
      }
      cached.applied = inputs.length;
      for (const { key, outcome } of ended) await this.jobEnded(run, key, outcome);
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
          const gates = gateSettingsOf(assignment);
          if (!gates.ok) {
            await this.store.jobs.settle(
              { runId: run.id, attempt: run.attempt, key: assignment.id, name: assignment.displayName },
              { conclusion: "failure", reason: gates.errors.map(formatDiagnostic).join("\n") },
            );
            followUps.push({ key: assignment.id, outcome: { conclusion: "failure", outputs: {} } });
            break;
          }
          const stored: StoredAssignment = {
            displayName: assignment.displayName,
            instance: assignment.instance,
            contexts: assignment.contexts,
            ...gates.value,
          };
          // A job with an environment or a concurrency group waits, without a runner, for its gate.
          const gated = gates.value.environment !== undefined || gates.value.concurrency !== undefined;
          const job = await this.store.jobs.ensureQueued({
            runId: run.id,
            attempt: run.attempt,
            key: assignment.id,
            name: assignment.displayName,
            labels: labels.labels,
            assignment: JSON.stringify(stored),
            waiting: gated,
          });
          if (!gated) {
            queued = true;
            break;
          }
          if (gates.value.concurrency) {
            const { group, cancelInProgress } = gates.value.concurrency;
            const holder = jobHolder(run.id, run.attempt, assignment.id);
            this.displace(
              await this.store.concurrencyGroups.enqueue(run.repositoryId, group, holder, cancelInProgress),
            );
          }
          const decision = await this.gate.reconcile(job, run);
          if (decision.kind === "released") queued = true;
          else if (decision.kind === "ended")
            followUps.push({ key: assignment.id, outcome: { conclusion: decision.conclusion, outputs: {} } });
          break;
        }
        case "cancel": {
          const job = await this.store.jobs.byKey(run.id, run.attempt, command.id);
          if (!job || job.status === "completed") break;
          if (job.status === "queued" || job.status === "waiting") {
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
          await this.finishRun(run, command.conclusion);
          break;
      }
    }
    if (queued) this.options.notifier.jobsQueued();
    return followUps;
  }

  /**
   * Looks again at a waiting job's gate (approved, rejected, its wait timer passed, its turn in its
   * concurrency group came) and moves it on: to the queue, or to its end, which the engine is told.
   */
  async reconsiderJob(jobId: number): Promise<GateDecision> {
    const first = await this.store.jobs.byId(jobId);
    if (!first || first.status !== "waiting") return { kind: "none" };
    const decision = await this.exclusive(first.runId, async () => {
      const job = await this.store.jobs.byId(jobId);
      const run = await this.store.runs.byId(first.runId);
      if (!job || !run) return { kind: "none" } as const;
      const decided = await this.gate.reconcile(job, run);
      if (decided.kind === "ended" && run.attempt === job.attempt) {
        await this.store.runs.appendInput(run.id, run.attempt, {
          kind: "finished",
          jobKey: job.key,
          outcome: JSON.stringify({ conclusion: decided.conclusion, outputs: {} } satisfies JobOutcome),
        });
        await this.advance(run.id);
      }
      return decided;
    });
    if (decision.kind === "released") this.options.notifier.jobsQueued();
    if (decision.kind === "released" || decision.kind === "ended") {
      this.options.notifier.runChanged(first.runId);
      this.options.notifier.jobEvents(jobId);
    }
    return decision;
  }

  /**
   * Redeploys `target`: a new attempt of its run that re-runs its job (and the jobs that need it)
   * with the run's commit, event and artifacts, keeping the other jobs' results. The job passes its
   * environment's rules again and its deployment is recorded as a rollback by `actor`.
   */
  async rollback(
    target: Deployment,
    actor: string,
  ): Promise<{ ok: true; runId: number; attempt: number } | { ok: false; status: number; message: string }> {
    const run = await this.store.runs.byId(target.runId);
    const definitionText = await this.store.runs.definition(target.runId);
    if (!run || !definitionText)
      return { ok: false, status: 404, message: `run ${target.runId} no longer exists.` };
    if (run.status !== "completed") {
      return {
        ok: false,
        status: 409,
        message: `run ${run.id} (of deployment ${target.id}) is still running: wait for it to finish, or cancel it, then roll back.`,
      };
    }
    const definition = JSON.parse(definitionText) as RunDefinition;
    const tree = await this.trees.load(definition.workflowPath, definition.workflowFiles);
    if (!tree.ok)
      return { ok: false, status: 409, message: `the workflow of run ${run.id} no longer loads.` };
    const topJob = target.jobKey.split("/")[0]?.split("#")[0] ?? target.jobKey;
    const attempt = await this.rerun(
      run.id,
      false,
      jobAndDependents(tree.value.workflow, topJob),
      (attempt) =>
        this.store.deployments.requestRollback({
          runId: run.id,
          attempt,
          jobKey: target.jobKey,
          targetId: target.id,
          actor,
        }),
    );
    if (attempt === undefined) {
      return {
        ok: false,
        status: 409,
        message: `run ${run.id} started again meanwhile: try the rollback when it ends.`,
      };
    }
    return { ok: true, runId: run.id, attempt };
  }

  /** Work started in the background (waking another run), awaited by `idle`. */
  private track(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work
      .catch(() => undefined) // the sweeper and the next change retry what failed here
      .finally(() => this.archiving.delete(tracked));
    this.archiving.add(tracked);
  }

  /** The workflow's concurrency for this attempt of the run. */
  private async runConcurrency(
    run: RunRecord,
    definition: RunDefinition,
  ): Promise<Result<ConcurrencySetting | undefined>> {
    const tree = await this.trees.load(definition.workflowPath, definition.workflowFiles);
    if (!tree.ok) return ok(undefined);
    return workflowConcurrency(tree.value.workflow, runContexts(definition, run));
  }

  /** Puts a new attempt in its workflow's concurrency group (once, as it is created). */
  private async enterRunGroup(run: RunRecord): Promise<void> {
    const definitionText = await this.store.runs.definition(run.id);
    if (!definitionText) return;
    const setting = await this.runConcurrency(run, JSON.parse(definitionText) as RunDefinition);
    if (!setting.ok || !setting.value) return; // an error ends the run as it advances
    const { group, cancelInProgress } = setting.value;
    this.displace(
      await this.store.concurrencyGroups.enqueue(
        run.repositoryId,
        group,
        runHolder(run.id, run.attempt),
        cancelInProgress,
      ),
    );
  }

  /**
   * Whether the run may start its jobs: it has no workflow concurrency or holds its group. A run
   * still pending waits (or ends, cancelled while pending); one pushed out by a newer run ends
   * cancelled; a group that cannot be evaluated fails the run with the reason.
   */
  private async holdsRunGroup(
    run: RunRecord,
    definition: RunDefinition,
    inputs: readonly { readonly kind: string }[],
  ): Promise<boolean> {
    const setting = await this.runConcurrency(run, definition);
    if (!setting.ok) {
      await this.store.jobs.settle(
        { runId: run.id, attempt: run.attempt, key: "concurrency", name: "concurrency" },
        { conclusion: "failure", reason: setting.errors.map(formatDiagnostic).join("\n") },
      );
      await this.finishRun(run, "failure");
      return false;
    }
    if (!setting.value) return true;
    const { group } = setting.value;
    const holder = runHolder(run.id, run.attempt);
    const state = await this.store.concurrencyGroups.state(run.repositoryId, group);
    if (state.running === holder) return true;
    if (state.pending === holder && !inputs.some((i) => i.kind === "cancel")) {
      // The running holder may have ended without letting go (a server stopped in between).
      if (state.running !== null && (await this.holderEnded(state.running))) {
        const promoted = await this.store.concurrencyGroups.release(run.repositoryId, group, state.running);
        if (promoted === holder) return true;
      }
      return false;
    }
    await this.store.concurrencyGroups.release(run.repositoryId, group, holder);
    await this.store.jobs.settle(
      { runId: run.id, attempt: run.attempt, key: "concurrency", name: "concurrency" },
      {
        conclusion: "cancelled",
        reason:
          state.pending === holder
            ? "cancelled while pending in its concurrency group."
            : displacedReason(group),
      },
    );
    await this.finishRun(run, "cancelled");
    return false;
  }

  /** Whether a group's holder is over (its run attempt or job completed), so it holds nothing. */
  private async holderEnded(holder: Holder): Promise<boolean> {
    const parsed = parseHolder(holder);
    if (!parsed) return true;
    if (parsed.kind === "job") {
      const job = await this.store.jobs.byKey(parsed.runId, parsed.attempt, parsed.jobKey);
      return !job || job.status === "completed";
    }
    const run = await this.store.runs.byId(parsed.runId);
    return !run || run.attempt !== parsed.attempt || run.status === "completed";
  }

  /** Ends the run's attempt once; lets go of its concurrency group and tells who waits on it. */
  private async finishRun(run: RunRecord, conclusion: "success" | "failure" | "cancelled"): Promise<void> {
    if (!(await this.store.runs.markFinished(run.id, run.attempt, conclusion))) return;
    const definitionText = await this.store.runs.definition(run.id);
    if (definitionText) {
      const setting = await this.runConcurrency(run, JSON.parse(definitionText) as RunDefinition);
      if (setting.ok && setting.value) {
        const promoted = await this.store.concurrencyGroups.release(
          run.repositoryId,
          setting.value.group,
          runHolder(run.id, run.attempt),
        );
        if (promoted) this.track(this.wake(promoted));
      }
    }
    this.options.notifier.runChanged(run.id);
    const finishedRun = await this.store.runs.byId(run.id);
    if (finishedRun) this.options.onRunFinished?.(finishedRun);
  }

  /** A job of the run ended: its deployment ends with it, and it lets go of its concurrency group. */
  private async jobEnded(run: RunRecord, key: string, outcome: JobOutcome): Promise<void> {
    const job = await this.store.jobs.byKey(run.id, run.attempt, key);
    if (!job) return;
    const settings = JSON.parse(job.assignment) as StoredAssignment;
    const deployment = await this.store.deployments.byJob(run.id, run.attempt, key);
    if (deployment) {
      await this.store.deployments.finish(
        deployment.id,
        outcome.conclusion,
        outcome.environmentUrl ?? settings.environmentUrl ?? null,
        job.reason ?? undefined,
      );
    }
    if (settings.concurrency) {
      const promoted = await this.store.concurrencyGroups.release(
        run.repositoryId,
        settings.concurrency.group,
        jobHolder(run.id, run.attempt, key),
      );
      if (promoted) this.track(this.wake(promoted));
    }
  }

  /** Acts on a newcomer's entry into a group: the pending one it displaced ends, a cancelled one stops. */
  private displace(entered: Enqueued): void {
    if (entered.displaced) this.track(this.wake(entered.displaced));
    if (entered.cancelRunning) this.track(this.cancelHolder(entered.cancelRunning));
  }

  /** Moves a holder on after its group changed: a run advances, a job's gate is looked at again. */
  private async wake(holder: Holder): Promise<void> {
    const parsed = parseHolder(holder);
    if (!parsed) return;
    if (parsed.kind === "run") {
      await this.exclusive(parsed.runId, () => this.advance(parsed.runId));
      this.options.notifier.runChanged(parsed.runId);
      return;
    }
    const job = await this.store.jobs.byKey(parsed.runId, parsed.attempt, parsed.jobKey);
    if (job) await this.reconsiderJob(job.id);
  }

  /** cancel-in-progress: cancels the holder running in the group. */
  private async cancelHolder(holder: Holder): Promise<void> {
    const parsed = parseHolder(holder);
    if (!parsed) return;
    if (parsed.kind === "run") {
      const run = await this.store.runs.byId(parsed.runId);
      if (run && run.attempt === parsed.attempt) await this.cancelRun(run.id);
      return;
    }
    const job = await this.store.jobs.byKey(parsed.runId, parsed.attempt, parsed.jobKey);
    if (!job || job.status === "completed") return;
    if (job.status === "in_progress") {
      await this.store.jobs.requestCancel([job.id]);
      this.options.notifier.jobCancelRequested(job.id, job.runnerId);
      return;
    }
    const reason = "cancelled: a newer job in its concurrency group has cancel-in-progress.";
    if (await this.store.jobs.finish(job.id, { conclusion: "cancelled", reason })) {
      await this.jobCompleted(job, { conclusion: "cancelled", outputs: {} });
    }
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

/**
 * A job's environment and concurrency group, evaluated as it starts (with its needs, matrix and
 * strategy), and `environment.url` when it can be evaluated already.
 */
function gateSettingsOf(assignment: JobAssignment): Result<GateSettings> {
  const options = { fileName: assignment.workflow.fileName };
  const errors: Diagnostic[] = [];
  const environment = evaluateEnvironment(assignment.job.environment, assignment.contexts, options);
  if (!environment.ok) errors.push(...environment.errors);
  const concurrency = evaluateConcurrency(assignment.job.concurrency, assignment.contexts, options);
  if (!concurrency.ok) errors.push(...concurrency.errors);
  if (!environment.ok || !concurrency.ok) return { ok: false, errors };
  // The runner evaluates the url again after the steps (with their outputs); this value is a fallback.
  const url = evaluateEnvironmentUrl(environment.value?.url, assignment.contexts, options);
  return ok({
    ...(environment.value ? { environment: environment.value.name } : {}),
    ...(url.ok && url.value !== undefined ? { environmentUrl: url.value } : {}),
    ...(concurrency.value ? { concurrency: concurrency.value } : {}),
  });
}
