/**
 * `conveyor run -n`: walks the run as planned (which jobs, in which order, which steps) without
 * running any step, like act's dry run.
 */
import { now } from "../engine/events.js";
import type { RunEventSink } from "../engine/events.js";
import type { JobExecutor } from "../engine/orchestrator.js";
import type { JobAssignment, JobOutcome } from "../engine/run-engine.js";

export class DryRunExecutor implements JobExecutor {
  constructor(private readonly emit: RunEventSink) {}

  async execute(assignment: JobAssignment): Promise<JobOutcome> {
    const jobId = assignment.id;
    this.emit({ type: "job-started", jobId, name: assignment.displayName, at: now() });
    assignment.job.steps.forEach((step, index) => {
      const name =
        step.name && step.name.isLiteral
          ? String(step.name)
          : step.uses
            ? `Run ${step.uses}`
            : `Run ${firstLine(step)}`;
      const at = now();
      this.emit({ type: "step-started", jobId, step: index + 1, name, at });
      this.emit({
        type: "step-finished",
        jobId,
        step: index + 1,
        name,
        outcome: "success",
        conclusion: "success",
        durationMs: 0,
        at,
      });
    });
    this.emit({
      type: "job-finished",
      jobId,
      name: assignment.displayName,
      result: "success",
      ran: true,
      durationMs: 0,
      outputs: {},
      at: now(),
    });
    return { conclusion: "success", outputs: {} };
  }
}

function firstLine(step: JobAssignment["job"]["steps"][number]): string {
  const source = (step.run as { source?: string } | undefined)?.source ?? (step.run ? String(step.run) : "");
  return (source.split("\n").find((l) => l.trim() !== "") ?? "").trim();
}
