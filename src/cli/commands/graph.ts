import type { Command } from "commander";
import { formatDiagnostic } from "../../diagnostic.js";
import { analyseRepository } from "../../workflow/analyse.js";
import type { PlannedJob, PlannedWorkflow } from "../../workflow/plan.js";
import { levelsOf } from "../../workflow/needs-graph.js";
import { diagnosticsJson } from "../json-output.js";
import { addRepositoryOptions, repositoryOptions } from "../options.js";
import type { RepositoryOptions } from "../options.js";
import { renderWorkflowGraph } from "../render-graph.js";
import { styleFor } from "../style.js";

export function registerGraph(program: Command): void {
  addRepositoryOptions(
    program
      .command("graph")
      .argument("[paths...]", "workflow files or folders (default: the repository's workflows)")
      .description("draw each workflow's job graph from `needs`, matrix jobs expanded"),
  ).action(async (paths: string[], raw: Record<string, unknown>) => {
    await runGraph(repositoryOptions(raw, paths));
  });
}

/** `conveyor graph`, also reached as `conveyor run --graph`. */
export async function runGraph(options: RepositoryOptions): Promise<void> {
  const analysis = await analyseRepository(options.directory, options.workflows);
  if (options.json) {
    process.stdout.write(
      JSON.stringify({
        workflows: analysis.plans.map(graphJson),
        errors: diagnosticsJson(analysis.errors),
      }) + "\n",
    );
  } else {
    const style = styleFor(process.stdout);
    const width = process.stdout.columns ?? 100;
    process.stdout.write(
      analysis.plans.map((plan) => renderWorkflowGraph(plan, style, width)).join("\n\n") + "\n",
    );
    const err = styleFor(process.stderr);
    for (const e of analysis.errors) process.stderr.write(err.red(formatDiagnostic(e)) + "\n");
  }
  process.exitCode = analysis.errors.length === 0 ? 0 : 1;
}

export interface GraphJobJson {
  readonly id: string;
  readonly needs: readonly string[];
  readonly level: number;
  /** Matrix job names; absent when the matrix is decided at run time. */
  readonly jobs?: readonly string[];
  readonly decidedAtRunTime?: string;
  readonly calls?: { readonly uses: string; readonly jobs: readonly GraphJobJson[] };
}

function graphJson(plan: PlannedWorkflow) {
  return {
    path: plan.workflow.path,
    name: plan.workflow.name,
    events: Object.keys(plan.workflow.on),
    jobs: jobsJson(plan),
  };
}

function jobsJson(plan: PlannedWorkflow): GraphJobJson[] {
  const levels = levelsOf(plan.graph);
  return plan.jobs.map((job: PlannedJob) => ({
    id: job.definition.id,
    needs: job.definition.needs,
    level: levels.get(job.definition.id) ?? 0,
    jobs: job.expansion?.instances.map((i) => i.name),
    decidedAtRunTime: job.decidedAtRunTime,
    calls:
      job.definition.kind === "call" && job.call
        ? { uses: job.definition.uses, jobs: jobsJson(job.call) }
        : undefined,
  }));
}
