/** The JSON shapes of environments, deployments and pending reviews in the API. Pure. */
import type { Deployment } from "../../store/deployments.js";
import type { Environment } from "../../store/environments.js";

export function environmentView(environment: Environment, live: Deployment | undefined) {
  return {
    id: environment.id,
    name: environment.name,
    reviewers: environment.reviewers,
    preventSelfReview: environment.preventSelfReview,
    waitTimer: environment.waitTimerMinutes,
    deploymentPolicy: environment.policy,
    live: live ? deploymentView(live, environment.name) : null,
    createdAt: environment.createdAt,
    updatedAt: environment.updatedAt,
  };
}

export function deploymentView(deployment: Deployment, environment: string) {
  return {
    id: deployment.id,
    environment,
    runId: deployment.runId,
    attempt: deployment.attempt,
    jobId: deployment.jobId,
    job: deployment.jobName,
    ref: deployment.ref,
    sha: deployment.sha,
    creator: deployment.creator,
    approver: deployment.approver,
    comment: deployment.reviewComment,
    status: deployment.status,
    url: deployment.url,
    rollbackOf: deployment.rollbackOf,
    waitUntil: deployment.waitUntil,
    reason: deployment.reason,
    createdAt: deployment.createdAt,
    updatedAt: deployment.updatedAt,
  };
}

/** A deployment waiting for review, as a reviewer sees it: who may approve, and whether they may. */
export function pendingView(
  deployment: Deployment,
  environment: Environment,
  repository: string | null,
  refusal: string | undefined,
) {
  return {
    ...deploymentView(deployment, environment.name),
    repository,
    reviewers: environment.reviewers,
    preventSelfReview: environment.preventSelfReview,
    canApprove: refusal === undefined,
    whyNot: refusal ?? null,
  };
}
