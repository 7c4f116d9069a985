/**
 * An environment's protection rules as pure decisions: may this ref deploy (the deployment branch
 * and tag policy, GitHub's "selected branches and tags"), may this person approve (required
 * reviewers, prevent self-review), and when the gate opens (approval and the wait timer).
 */
import type { DeploymentPolicy, ProtectionRules } from "../../store/environments.js";
import { compileFilter } from "../../workflow/filter-pattern.js";

export type { DeploymentPolicy, ProtectionRules };

/** GitHub's limit on a wait timer: 30 days, in minutes. */
export const MAX_WAIT_TIMER_MINUTES = 43_200;
/** GitHub allows up to six required reviewers. */
export const MAX_REVIEWERS = 6;

/** Why `ref` may not deploy to `environment`, or undefined when it may. */
export function refusedRef(
  ref: string,
  environment: string,
  policy: DeploymentPolicy | null,
): string | undefined {
  if (!policy) return undefined;
  const branch = ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : undefined;
  const tag = ref.startsWith("refs/tags/") ? ref.slice("refs/tags/".length) : undefined;
  const allowed = (patterns: readonly string[], name: string): boolean => {
    const filter = compileFilter(patterns);
    return filter.ok && filter.value.matches(name);
  };
  if (branch !== undefined) {
    if (allowed(policy.branches, branch)) return undefined;
    return `Branch "${branch}" is not allowed to deploy to ${environment} due to environment protection rules (allowed branches: ${listOf(policy.branches)}).`;
  }
  if (tag !== undefined) {
    if (allowed(policy.tags, tag)) return undefined;
    return `Tag "${tag}" is not allowed to deploy to ${environment} due to environment protection rules (allowed tags: ${listOf(policy.tags)}).`;
  }
  return `The ref "${ref}" is neither a branch nor a tag, so it is not allowed to deploy to ${environment} due to environment protection rules.`;
}

/** Problems with a policy's patterns, one message per bad pattern (for the API's answer). */
export function policyProblems(policy: DeploymentPolicy): string[] {
  const problems: string[] = [];
  for (const [field, patterns] of [
    ["branches", policy.branches],
    ["tags", policy.tags],
  ] as const) {
    const compiled = compileFilter(patterns);
    if (!compiled.ok) problems.push(...compiled.errors.map((e) => `deploymentPolicy.${field}: ${e.message}`));
  }
  return problems;
}

/** Whether the environment holds a job back at all (reviewers or a wait timer). */
export function needsGate(rules: ProtectionRules): boolean {
  return rules.reviewers.length > 0 || rules.waitTimerMinutes > 0;
}

/** Why `login` may not review a deployment started by `startedBy`, or undefined when they may. */
export function reviewRefusal(
  rules: ProtectionRules,
  login: string,
  startedBy: string,
  environment: string,
): string | undefined {
  if (rules.reviewers.length === 0) {
    return `${environment} has no required reviewers: its deployments need no approval.`;
  }
  if (!rules.reviewers.some((r) => r.toLowerCase() === login.toLowerCase())) {
    return `${login} is not a required reviewer of ${environment} (reviewers: ${rules.reviewers.join(", ")}).`;
  }
  if (rules.preventSelfReview && login.toLowerCase() === startedBy.toLowerCase()) {
    return `${environment} prevents self-review: ${login} started this run, so another reviewer must approve it.`;
  }
  return undefined;
}

function listOf(patterns: readonly string[]): string {
  return patterns.length === 0 ? "none" : patterns.join(", ");
}
