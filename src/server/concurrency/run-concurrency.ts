/**
 * The concurrency groups of runs and jobs on the server: what group a run or job is in (evaluated as
 * GitHub does), and which holder to wake or cancel when the groups change. The groups themselves
 * live in the store (src/store/concurrency-groups.ts), so every server process sees the same ones.
 */
import type { Result } from "../../diagnostic.js";
import { evaluateConcurrency } from "../../engine/job-gates.js";
import type { ConcurrencySetting } from "../../engine/job-gates.js";
import type { RunContexts } from "../../engine/run-engine.js";
import type { Workflow } from "../../workflow/model.js";

/** The workflow-level `concurrency` of a run: only the github, inputs and vars contexts, as on GitHub. */
export function workflowConcurrency(
  workflow: Workflow,
  contexts: RunContexts,
): Result<ConcurrencySetting | undefined> {
  return evaluateConcurrency(
    workflow.concurrency,
    { github: contexts.github, inputs: contexts.inputs, vars: contexts.vars },
    { fileName: workflow.fileName },
  );
}

/** GitHub's words for a run or job pushed out of its group by a newer one. */
export function displacedReason(group: string): string {
  return `Canceling since a higher priority waiting request for '${group}' exists`;
}

/** The top-level jobs to re-run for `jobId`: it and every job that needs it, directly or not. */
export function jobAndDependents(workflow: Pick<Workflow, "jobs">, jobId: string): Set<string> {
  const chosen = new Set([jobId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const job of workflow.jobs) {
      if (!chosen.has(job.id) && job.needs.some((n) => chosen.has(n))) {
        chosen.add(job.id);
        grew = true;
      }
    }
  }
  return chosen;
}
