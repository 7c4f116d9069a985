/**
 * Reviews of deployments waiting for their environment's required reviewers: approve (the job goes
 * on once its wait timer has passed too) or reject (the job fails with the reviewer's comment).
 */
import type { User } from "../../store/accounts.js";
import type { Deployment } from "../../store/deployments.js";
import type { RunRecord } from "../../store/runs.js";
import type { ServerContext } from "../server-context.js";
import { environmentTarget } from "./job-gate.js";
import { reviewRefusal } from "./protection-rules.js";

export type Verdict = "approve" | "reject";

export type ReviewResult =
  | { readonly ok: true; readonly reviewed: readonly Deployment[] }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** The longest review comment kept. */
export const MAX_COMMENT = 2_000;

/**
 * Reviews the run's deployments waiting for review (those to `environment` only, when named) that
 * `user` may review. Refused when there are none, or the user may review none of them (the answer
 * says why for each).
 */
export async function reviewRun(
  context: ServerContext,
  run: RunRecord,
  user: User,
  verdict: Verdict,
  comment: string | null,
  environment: string | undefined,
): Promise<ReviewResult> {
  const { store } = context;
  const waiting = (await store.deployments.waiting(run.id)).filter((d) => d.attempt === run.attempt);
  const candidates: { deployment: Deployment; name: string; refusal: string | undefined }[] = [];
  for (const deployment of waiting) {
    const rules = await store.environments.byId(deployment.environmentId);
    if (!rules) continue;
    if (environment !== undefined && rules.name !== environment) continue;
    const needsReview = rules.reviewers.length > 0 && deployment.approver === null;
    if (!needsReview) continue; // only its wait timer holds it
    candidates.push({
      deployment,
      name: rules.name,
      refusal: reviewRefusal(rules, user.login, deployment.creator, rules.name),
    });
  }
  if (candidates.length === 0) {
    return {
      ok: false,
      status: 409,
      message: `run ${run.id} has no deployment waiting for review${environment === undefined ? "" : ` to ${environment}`}.`,
    };
  }
  const allowed = candidates.filter((c) => c.refusal === undefined);
  if (allowed.length === 0) {
    return { ok: false, status: 403, message: candidates.map((c) => c.refusal).join(" ") };
  }
  const reviewed: Deployment[] = [];
  const repository = await store.repositories.byId(run.repositoryId);
  for (const { deployment, name } of allowed) {
    const done =
      verdict === "approve"
        ? await store.deployments.approve(deployment.id, user.login, comment)
        : await store.deployments.reject(
            deployment.id,
            user.login,
            comment,
            rejectionReason(user.login, name, comment),
          );
    if (!done) continue; // another reviewer was first
    reviewed.push(deployment);
    await store.audit.record({
      actor: user.login,
      action: verdict === "approve" ? "deployment.approve" : "deployment.reject",
      target: environmentTarget(repository?.fullName ?? `#${run.repositoryId}`, name),
      details: {
        deploymentId: deployment.id,
        environment: name,
        runId: run.id,
        job: deployment.jobName,
        comment: comment ?? "",
      },
    });
    if (deployment.jobId !== null) await context.coordinator.reconsiderJob(deployment.jobId);
  }
  if (reviewed.length === 0) {
    return {
      ok: false,
      status: 409,
      message: `run ${run.id}'s deployments were reviewed by someone else meanwhile.`,
    };
  }
  return { ok: true, reviewed };
}

/** What the rejected job's log and the deployment say. */
export function rejectionReason(reviewer: string, environment: string, comment: string | null): string {
  return `The deployment to ${environment} was rejected by ${reviewer}${comment ? `: ${comment}` : "."}`;
}
