/**
 * Rebuilds on the runner the `JobAssignment` the server's engine made (src/engine/run-engine.ts):
 * the lease carries the run's workflow files, the job's key, its matrix instance and contexts; the
 * runner parses the files itself (template tokens do not travel) and finds the job by its key.
 */
import { error, failed, fileError, ok } from "../diagnostic.js";
import type { Result } from "../diagnostic.js";
import type { JobAssignment } from "../engine/run-engine.js";
import type { JobLease } from "../protocol/runner.js";
import type { CallTree } from "../workflow/calls.js";
import type { StepsJob, Workflow } from "../workflow/model.js";

/** One step of a job key: `build#0` is instance 0 of the job `build`. */
export interface JobKeySegment {
  readonly job: string;
  readonly instance: number;
}

/** `build#0/compile#1`: the call job `build` (instance 0), then the job `compile` (instance 1) inside it. */
export function parseJobKey(key: string): Result<JobKeySegment[]> {
  const segments: JobKeySegment[] = [];
  for (const part of key.split("/")) {
    const match = /^(.+)#(0|[1-9][0-9]*)$/.exec(part);
    if (!match) {
      return failed([
        error(
          `the lease's job key '${key}' is not of the form job#n or call#n/job#n (the server sent a key this runner cannot read).`,
        ),
      ]);
    }
    segments.push({ job: match[1] as string, instance: Number(match[2]) });
  }
  return ok(segments);
}

/** The workflow and job a key names, walking down through the call jobs. */
export function findJob(tree: CallTree, key: string): Result<{ workflow: Workflow; job: StepsJob }> {
  const parsed = parseJobKey(key);
  if (!parsed.ok) return parsed;
  let scope = tree;
  const segments = parsed.value;
  for (const [index, segment] of segments.entries()) {
    const job = scope.workflow.jobs.find((j) => j.id === segment.job);
    const last = index === segments.length - 1;
    if (!job) {
      return failed([
        fileError(scope.workflow.path, `has no job '${segment.job}' (the lease's job key is '${key}').`),
      ]);
    }
    if (last) {
      if (job.kind !== "steps") {
        return failed([
          fileError(
            scope.workflow.path,
            `job '${job.id}' calls a workflow: it has no steps to run (key '${key}').`,
          ),
        ]);
      }
      return ok({ workflow: scope.workflow, job });
    }
    const called = scope.calls.get(job.id);
    if (job.kind !== "call" || !called) {
      return failed([
        fileError(
          scope.workflow.path,
          `job '${job.id}' does not call a workflow, but the key '${key}' goes inside it.`,
        ),
      ]);
    }
    scope = called;
  }
  return failed([error(`the lease's job key is empty.`)]);
}

/**
 * The assignment for a lease. `eventPath` is where this runner wrote the event payload:
 * `github.event_path` must name this machine's file, not the server's.
 */
export function rebuildAssignment(
  tree: CallTree,
  lease: Pick<JobLease, "key" | "displayName" | "instance" | "contexts">,
  eventPath: string,
): Result<JobAssignment> {
  const found = findJob(tree, lease.key);
  if (!found.ok) return found;
  const github = lease.contexts.github;
  const contexts =
    github && typeof github === "object" && !Array.isArray(github)
      ? { ...lease.contexts, github: { ...github, event_path: eventPath } }
      : lease.contexts;
  return ok({
    id: lease.key,
    displayName: lease.displayName,
    workflow: found.value.workflow,
    job: found.value.job,
    instance: lease.instance,
    contexts,
  });
}
