/**
 * The JSON the API answers with: store records turned into the shapes documented in the OpenAPI
 * description (src/server/http/openapi.ts). Pure; nothing secret is in a record, and nothing here adds any.
 */
import type { Runner } from "../../store/accounts.js";
import type { JobRecord, StepRecord } from "../../store/jobs.js";
import type { Repository } from "../../store/repositories.js";
import type { RunRecord } from "../../store/runs.js";

export function repositoryView(repository: Repository, cloneUrl: string) {
  return {
    id: repository.id,
    owner: repository.owner,
    name: repository.name,
    fullName: repository.fullName,
    defaultBranch: repository.defaultBranch,
    kind: repository.kind,
    cloneUrl,
    webhooks: repository.hasWebhookSecret,
    createdAt: repository.createdAt,
  };
}

export function runView(run: RunRecord, repository: Repository | undefined) {
  return {
    id: run.id,
    repository: repository?.fullName ?? null,
    workflow: { path: run.workflowPath, name: run.workflowName },
    runNumber: run.runNumber,
    attempt: run.attempt,
    event: run.event,
    ref: run.ref,
    branch: run.ref.startsWith("refs/heads/") ? run.ref.slice("refs/heads/".length) : null,
    sha: run.sha,
    actor: run.actor,
    title: run.title,
    status: run.status,
    conclusion: run.conclusion,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

export function jobView(job: JobRecord, steps: readonly StepRecord[], waitingReason?: string) {
  return {
    id: job.id,
    runId: job.runId,
    attempt: job.attempt,
    key: job.key,
    name: job.name,
    status: job.status,
    conclusion: job.conclusion,
    labels: job.labels,
    runnerId: job.runnerId,
    reason: job.reason,
    waitingReason: waitingReason ?? null,
    kept: job.kept,
    outputs: job.outputs ?? {},
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    steps: steps.map((s) => ({ ...s })),
  };
}

/** A runner is online while it polls: an idle runner asks at least every 25 s. */
const ONLINE_WITHIN_MS = 60_000;

export function runnerView(runner: Runner, busyJobs: readonly number[], now = Date.now()) {
  return {
    id: runner.id,
    name: runner.name,
    labels: runner.labels,
    capacity: runner.capacity,
    os: runner.os,
    arch: runner.arch,
    online: now - Date.parse(runner.lastSeenAt) < ONLINE_WITHIN_MS,
    lastSeenAt: runner.lastSeenAt,
    jobs: busyJobs,
    createdAt: runner.createdAt,
  };
}

export function isOnline(runner: Runner, now = Date.now()): boolean {
  return now - Date.parse(runner.lastSeenAt) < ONLINE_WITHIN_MS;
}

/** Why a queued job waits, in words: no runner has its labels, or they are all busy or offline. */
export function waitingReason(job: JobRecord, runners: readonly Runner[], now = Date.now()): string {
  const fits = runners.filter((r) => job.labels.every((l) => r.labels.includes(l.toLowerCase())));
  const wanted = job.labels.join(", ");
  if (fits.length === 0) {
    return `waiting for a runner with the labels [${wanted}]: no registered runner has them all. Register one with \`conveyor runner --labels ${job.labels.join(",")}\`, or change runs-on.`;
  }
  if (!fits.some((r) => isOnline(r, now))) {
    return `waiting for a runner with the labels [${wanted}]: ${fits.map((r) => r.name).join(", ")} ${fits.length === 1 ? "is" : "are"} offline.`;
  }
  return `waiting for a free runner with the labels [${wanted}].`;
}
