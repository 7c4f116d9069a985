/**
 * The gate a waiting job passes before runners see it: its turn in its concurrency group, then its
 * environment's protection rules (deployment branch and tag policy, required reviewers, wait
 * timer). `reconcile` looks at the store and moves the job on as far as it may go now; it is safe to
 * call again at any time and from any server process (every move is a conditional update).
 */
import type { RunEvent } from "../../engine/events.js";
import type { ConcurrencySetting } from "../../engine/job-gates.js";
import { jobHolder } from "../../store/concurrency-groups.js";
import type { Deployment } from "../../store/deployments.js";
import type { Environment } from "../../store/environments.js";
import type { JobRecord } from "../../store/jobs.js";
import type { RunRecord } from "../../store/runs.js";
import type { ServerStore } from "../../store/server-store.js";
import { timestamp } from "../../store/counters.js";
import { displacedReason } from "../concurrency/run-concurrency.js";
import { needsGate, refusedRef } from "./protection-rules.js";

/** What a job that names an environment or a concurrency group keeps in its stored assignment. */
export interface GateSettings {
  /** The environment the job deploys to. */
  readonly environment?: string;
  /** `environment.url` when it could be evaluated as the job started (the runner's value wins). */
  readonly environmentUrl?: string;
  readonly concurrency?: ConcurrencySetting;
}

export type GateDecision =
  /** Still held back, and why (for people asking). */
  | { readonly kind: "waiting"; readonly reason: string }
  /** Now in the queue for runners. */
  | { readonly kind: "released" }
  /** Ended without running (refused, rejected): the engine must be told. */
  | { readonly kind: "ended"; readonly conclusion: "failure" | "cancelled"; readonly reason: string }
  /** Not waiting (already released or ended): nothing to do. */
  | { readonly kind: "none" };

/** How long one minute of a wait timer lasts: a minute, or less in tests (a server setting). */
export const WAIT_TIMER_MINUTE_MS = 60_000;

export class JobGate {
  constructor(
    private readonly store: ServerStore,
    private readonly waitTimerMinuteMs: number = WAIT_TIMER_MINUTE_MS,
  ) {}

  async reconcile(job: JobRecord, run: RunRecord): Promise<GateDecision> {
    if (job.status !== "waiting") return { kind: "none" };
    const settings = JSON.parse(job.assignment) as GateSettings;
    if (settings.concurrency) {
      const { group } = settings.concurrency;
      const state = await this.store.concurrencyGroups.state(run.repositoryId, group);
      const holder = jobHolder(run.id, job.attempt, job.key);
      if (state.pending === holder) {
        return {
          kind: "waiting",
          reason: `pending in the concurrency group '${group}' until the job running in it ends.`,
        };
      }
      // Neither running nor pending: a newer job took its place while it waited.
      if (state.running !== holder)
        return this.end(job, { kind: "ended", conclusion: "cancelled", reason: displacedReason(group) });
    }
    if (settings.environment !== undefined) {
      const decision = await this.environmentGate(job, run, settings.environment);
      if (decision.kind === "ended") return this.end(job, decision);
      if (decision.kind === "waiting") return decision;
    }
    return (await this.store.jobs.release(job.id)) ? { kind: "released" } : { kind: "none" };
  }

  /** Ends the waiting job with the reason in its log; `none` when it had ended already. */
  private async end(job: JobRecord, decision: GateDecision & { kind: "ended" }): Promise<GateDecision> {
    if (
      !(await this.store.jobs.finish(job.id, { conclusion: decision.conclusion, reason: decision.reason }))
    ) {
      return { kind: "none" };
    }
    await this.store.jobs.noteWithoutRunner(job.id, endedEvents(job, decision.conclusion, decision.reason));
    return decision;
  }

  /** The deployment of the job (recorded the first time), and whether its rules let it go on. */
  private async environmentGate(job: JobRecord, run: RunRecord, name: string): Promise<GateDecision> {
    const environment = await this.store.environments.ensure(run.repositoryId, name);
    const deployment =
      (await this.store.deployments.byJob(run.id, job.attempt, job.key)) ??
      (await this.recordDeployment(job, run, environment));
    if (deployment.jobId === null) await this.store.deployments.setJobId(deployment.id, job.id);
    switch (deployment.status) {
      case "failure":
        return {
          kind: "ended",
          conclusion: "failure",
          reason: deployment.reason ?? `the deployment to ${name} failed.`,
        };
      case "cancelled":
        return {
          kind: "ended",
          conclusion: "cancelled",
          reason: deployment.reason ?? "the deployment was cancelled.",
        };
      case "waiting": {
        // The rules as they are now: reviewers removed meanwhile no longer hold it back.
        if (environment.reviewers.length > 0 && deployment.approver === null) {
          return {
            kind: "waiting",
            reason: `waiting for a review: ${environment.reviewers.join(", ")} may approve the deployment to ${name}.`,
          };
        }
        if (deployment.waitUntil !== null && Date.parse(deployment.waitUntil) > Date.now()) {
          return {
            kind: "waiting",
            reason: `waiting for the wait timer of ${name} (until ${deployment.waitUntil}).`,
          };
        }
        await this.store.deployments.move(deployment.id, ["waiting"], "queued");
        return { kind: "released" };
      }
      default:
        return { kind: "released" };
    }
  }

  private async recordDeployment(
    job: JobRecord,
    run: RunRecord,
    environment: Environment,
  ): Promise<Deployment> {
    const rollback = await this.store.deployments.rollbackFor(run.id, job.attempt, job.key);
    const refused = refusedRef(run.ref, environment.name, environment.policy);
    const gated = needsGate(environment);
    const waitUntil =
      gated && environment.waitTimerMinutes > 0
        ? timestamp(Date.parse(job.createdAt) + environment.waitTimerMinutes * this.waitTimerMinuteMs)
        : null;
    const { deployment, created } = await this.store.deployments.ensure({
      repositoryId: run.repositoryId,
      environmentId: environment.id,
      runId: run.id,
      attempt: job.attempt,
      jobKey: job.key,
      jobName: job.name,
      ref: run.ref,
      sha: run.sha,
      creator: rollback?.actor ?? run.actor,
      status: refused ? "failure" : gated ? "waiting" : "queued",
      rollbackOf: rollback?.targetId ?? null,
      waitUntil: refused ? null : waitUntil,
      reason: refused ?? null,
    });
    if (created) {
      const repository = await this.store.repositories.byId(run.repositoryId);
      await this.store.audit.record({
        actor: deployment.creator,
        action: "deployment.create",
        target: environmentTarget(repository?.fullName ?? `#${run.repositoryId}`, environment.name),
        details: {
          deploymentId: deployment.id,
          environment: environment.name,
          runId: run.id,
          job: job.name,
          ref: deployment.ref,
          sha: deployment.sha,
          status: deployment.status,
          ...(deployment.rollbackOf === null ? {} : { rollbackOf: deployment.rollbackOf }),
        },
      });
    }
    return deployment;
  }
}

/** How the audit log names an environment (as it names an environment's secrets' scope). */
export function environmentTarget(repository: string, environment: string): string {
  return `repo:${repository}/env:${environment}`;
}

/** What the log of a job that ended at its gate says: an error annotation with the reason. */
function endedEvents(job: JobRecord, conclusion: "failure" | "cancelled", reason: string): RunEvent[] {
  return [
    {
      type: "annotation",
      jobId: job.key,
      step: null,
      level: conclusion === "failure" ? "error" : "notice",
      message: reason,
      at: new Date().toISOString(),
    },
  ];
}
