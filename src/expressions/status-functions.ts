/**
 * `success()`, `failure()`, `cancelled()` and `always()`: the status functions the host supplies to
 * GitHub's evaluator, which only knows the pure functions.
 *
 * In a step `if` they read the job's status so far, like the runner (`SuccessFunction.cs` and siblings
 * in actions/runner `src/Runner.Worker/Expressions`): success() = job status is success, failure() =
 * job status is failure, cancelled() = job status is cancelled. A step inside a composite action reads
 * the composite's own status for success()/failure() (`github.action_status`), but the job's for
 * cancelled().
 *
 * In a job `if` they read the results of every ancestor job, transitively through `needs`: a skipped
 * or failed grandparent makes success() false even when the direct needs succeeded
 * (actions/runner#2205 records that behaviour).
 */
import { data } from "@actions/expressions";
import type { FunctionDefinition, FunctionInfo } from "@actions/expressions/funcs/info";

/** The status a job has accumulated while its steps run. */
export type JobStatus = "success" | "failure" | "cancelled";

/** How a finished job ended, as `needs.<id>.result` reports it. */
export type JobResult = "success" | "failure" | "cancelled" | "skipped";

export type StatusState =
  | {
      readonly kind: "step";
      /** Failure once a step failed without continue-on-error; cancelled once the run was cancelled. */
      readonly jobStatus: JobStatus;
      /** Set for a step inside a composite action: that action's status so far. */
      readonly actionStatus?: "success" | "failure";
    }
  | {
      readonly kind: "job";
      /** Results of all ancestor jobs (needs, their needs, and so on). */
      readonly ancestorResults: readonly JobResult[];
      readonly runCancelled: boolean;
    };

export interface StatusValues {
  readonly success: boolean;
  readonly failure: boolean;
  readonly cancelled: boolean;
}

export const STATUS_FUNCTION_NAMES = ["success", "failure", "cancelled", "always"] as const;

/** Names and arities, for parsing conditions before any state exists. None takes arguments. */
export const STATUS_FUNCTION_INFOS: readonly FunctionInfo[] = STATUS_FUNCTION_NAMES.map((name) => ({
  name,
  minArgs: 0,
  maxArgs: 0,
}));

export function statusValues(state: StatusState): StatusValues {
  if (state.kind === "step") {
    const own = state.actionStatus ?? state.jobStatus;
    // A cancelled job is neither successful nor failed, whatever a composite's own status says.
    const jobCancelled = state.jobStatus === "cancelled";
    return {
      success: !jobCancelled && own === "success",
      failure: !jobCancelled && own === "failure",
      cancelled: jobCancelled,
    };
  }
  const cancelled = state.runCancelled;
  return {
    success: !cancelled && state.ancestorResults.every((result) => result === "success"),
    failure: !cancelled && state.ancestorResults.some((result) => result === "failure"),
    cancelled,
  };
}

export function statusFunctions(state: StatusState): FunctionDefinition[] {
  const values = statusValues(state);
  const constant = (name: string, value: boolean): FunctionDefinition => ({
    name,
    minArgs: 0,
    maxArgs: 0,
    call: () => new data.BooleanData(value),
  });
  return [
    constant("success", values.success),
    constant("failure", values.failure),
    constant("cancelled", values.cancelled),
    constant("always", true),
  ];
}
