import type { Command } from "commander";
import { formatDiagnostic } from "../../diagnostic.js";
import { matchTrigger } from "../../workflow/triggers.js";
import { readEventPayload } from "../event-file.js";
import { analyseRepository } from "../../workflow/analyse.js";
import { levelsOf } from "../../workflow/needs-graph.js";
import type { PlannedWorkflow } from "../../workflow/plan.js";
import { diagnosticsJson } from "../json-output.js";
import { addRepositoryOptions, repositoryOptions } from "../options.js";
import type { RepositoryOptions } from "../options.js";
import { formatTable, styleFor } from "../style.js";

interface ListRow {
  readonly workflow: string;
  readonly file: string;
  readonly job: string;
  readonly name: string;
  readonly stage: number;
  readonly needs: readonly string[];
  readonly jobs: readonly string[] | null;
  readonly events: readonly string[];
}

export function registerList(program: Command): void {
  addRepositoryOptions(
    program
      .command("list")
      .argument("[paths...]", "workflow files or folders (default: the repository's workflows)")
      .option(
        "--event <name>",
        "only the workflows this event starts (push, pull_request, workflow_dispatch, ...)",
      )
      .option(
        "-e, --eventpath <file>",
        "with --event: the event's JSON payload, so branch, tag, path and type filters apply as on GitHub",
      )
      .description("list workflows and their jobs, like `act -l`"),
  ).action(async (paths: string[], raw: Record<string, unknown>) => {
    await runList({
      ...repositoryOptions(raw, paths),
      event: typeof raw.event === "string" ? raw.event : undefined,
      eventPath: typeof raw.eventpath === "string" ? raw.eventpath : undefined,
    });
  });
}

/** `conveyor list`, also reached as `conveyor run --list`. */
export async function runList(
  options: RepositoryOptions & { event?: string; eventPath?: string },
): Promise<void> {
  const event = options.event;
  const analysis = await analyseRepository(options.directory, options.workflows);
  const payload = options.eventPath !== undefined ? await readEventPayload(options.eventPath) : undefined;
  if (payload && !payload.ok) {
    for (const e of payload.errors) process.stderr.write(formatDiagnostic(e) + "\n");
    process.exitCode = 1;
    return;
  }
  const plans = event
    ? analysis.plans.filter((p) =>
        payload
          ? matchTrigger(p.workflow.on, { name: event, payload: payload.value }).runs
          : event in p.workflow.on,
      )
    : analysis.plans;
  const rows = plans.flatMap(rowsOf);
  if (options.json) {
    process.stdout.write(JSON.stringify({ jobs: rows, errors: diagnosticsJson(analysis.errors) }) + "\n");
  } else {
    const style = styleFor(process.stdout);
    const header = ["Stage", "Job ID", "Job name", "Needs", "Workflow name", "Workflow file", "Events"].map(
      style.bold,
    );
    const body = rows.map((r) => [
      String(r.stage),
      r.job,
      r.jobs && r.jobs.length > 1 ? `${r.name} ${style.dim(`(${r.jobs.length} matrix jobs)`)}` : r.name,
      r.needs.join(",") || "-",
      r.workflow,
      r.file,
      r.events.join(","),
    ]);
    if (rows.length > 0) process.stdout.write(formatTable([header, ...body]) + "\n");
    else process.stdout.write(event ? `no workflow starts on ${event}\n` : "no jobs\n");
    const err = styleFor(process.stderr);
    for (const e of analysis.errors) process.stderr.write(err.red(formatDiagnostic(e)) + "\n");
  }
  process.exitCode = analysis.errors.length === 0 ? 0 : 1;
}

function rowsOf(plan: PlannedWorkflow): ListRow[] {
  const levels = levelsOf(plan.graph);
  return plan.jobs.map((job) => {
    const def = job.definition;
    return {
      workflow: plan.workflow.name,
      file: plan.workflow.path,
      job: def.id,
      name: def.name && def.name.isLiteral ? String(def.name) : def.id,
      stage: levels.get(def.id) ?? 0,
      needs: def.needs,
      jobs: job.expansion ? job.expansion.instances.map((i) => i.name) : null,
      events: Object.keys(plan.workflow.on),
    };
  });
}
