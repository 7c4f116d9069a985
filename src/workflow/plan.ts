/**
 * Planning a run: which jobs exist, what they need, and into which matrix jobs each expands.
 * The engine calls {@link expandJob} when a job becomes ready (its needs' outputs known); the
 * CLI's `validate` and `graph` call {@link planWorkflow} ahead of time, with what is known then.
 */
import { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { isBasicExpression, isLiteral } from "@actions/workflow-parser/templates/tokens/type-guards";
import { failed, ok } from "../diagnostic.js";
import type { Diagnostic, Result } from "../diagnostic.js";
import type { ExpressionContexts, JsonObject } from "../expressions/contexts.js";
import { evaluateString, evaluateTemplate } from "../expressions/template.js";
import type { JsonValue } from "../json.js";
import type { CallTree } from "./calls.js";
import { expandStrategy, matrixJobName, strategyContext } from "./matrix.js";
import type { MatrixCombination, StrategyContext } from "./matrix.js";
import type { JobDefinition, Workflow } from "./model.js";
import { buildNeedsGraph } from "./needs-graph.js";
import type { NeedsGraph } from "./needs-graph.js";

/** One job the strategy creates: `test (3.10)`. */
export interface JobInstance {
  readonly name: string;
  /** The job's `matrix` context; null without a matrix. */
  readonly matrix: MatrixCombination | null;
  readonly strategy: StrategyContext;
}

/** A job's instances, and what the strategy says about running them. */
export interface ExpandedJob {
  readonly instances: readonly JobInstance[];
  readonly failFast: boolean;
  readonly maxParallel: number | undefined;
}

/**
 * Expands a job into its matrix jobs and names them as GitHub does. `contexts` are those of the
 * job's start (github, needs, vars, inputs); matrix and strategy are added per instance.
 */
export function expandJob(
  workflow: Workflow,
  job: JobDefinition,
  contexts: ExpressionContexts,
): Result<ExpandedJob> {
  let strategyValue: JsonValue = null;
  if (job.strategy) {
    const evaluated = evaluateTemplate(job.strategy, contexts, { fileName: workflow.fileName });
    if (!evaluated.ok) return evaluated;
    strategyValue = evaluated.value;
  }
  const where = job.strategyLocation ?? job.location;
  const strategy = expandStrategy(strategyValue, where);
  if (!strategy.ok) return strategy;
  const instances: JobInstance[] = [];
  const errors: Diagnostic[] = [];
  strategy.value.configurations.forEach((configuration, index) => {
    const strategyCtx = strategyContext(strategy.value, index);
    const name = instanceName(workflow, job, contexts, configuration.matrix, strategyCtx);
    if (!name.ok) {
      errors.push(...name.errors);
      return;
    }
    instances.push({
      name: matrixJobName(name.value.base, configuration, name.value.evaluated),
      matrix: configuration.matrix,
      strategy: strategyCtx,
    });
  });
  if (errors.length > 0) return failed(errors);
  return ok({ instances, failFast: strategy.value.failFast, maxParallel: strategy.value.maxParallel });
}

/**
 * GitHub names a job by its `name:` or its id, adding the matrix values in parentheses unless
 * `name:` is an expression (which then names each instance itself).
 */
function instanceName(
  workflow: Workflow,
  job: JobDefinition,
  contexts: ExpressionContexts,
  matrix: MatrixCombination | null,
  strategy: StrategyContext,
): Result<{ base: string; evaluated?: string }> {
  if (!job.name || isLiteral(job.name)) return ok({ base: job.name ? String(job.name) : job.id });
  const withMatrix: ExpressionContexts = {
    ...contexts,
    strategy: strategy as unknown as JsonObject,
    ...(matrix ? { matrix: matrix as JsonObject } : {}),
  };
  const evaluated = evaluateString(job.name, withMatrix, { fileName: workflow.fileName });
  return evaluated.ok ? ok({ base: job.id, evaluated: evaluated.value }) : evaluated;
}

/** A job of a plan made ahead of the run. */
export interface PlannedJob {
  readonly definition: JobDefinition;
  /** The matrix jobs, or undefined when they depend on what earlier jobs output. */
  readonly expansion?: ExpandedJob;
  /** Why the expansion waits for the run (shown by `graph`). */
  readonly decidedAtRunTime?: string;
  /** For a job that calls a reusable workflow: that workflow's plan. */
  readonly call?: PlannedWorkflow;
}

export interface PlannedWorkflow {
  readonly workflow: Workflow;
  readonly graph: NeedsGraph;
  /** In the graph's topological order. */
  readonly jobs: readonly PlannedJob[];
}

/**
 * Plans a workflow and the workflows it calls before the run, with the contexts known then
 * (github, inputs, vars). A strategy written without expressions must expand now, so its
 * errors (a matrix over 256 jobs, say) are validation errors; one that needs run-time values is
 * left for the run.
 */
export function planWorkflow(tree: CallTree, contexts: ExpressionContexts): Result<PlannedWorkflow> {
  const { workflow } = tree;
  const graph = buildNeedsGraph(
    workflow.jobs.map((j) => ({ id: j.id, needs: j.needs, location: j.location })),
  );
  if (!graph.ok) return graph;
  const byId = new Map(workflow.jobs.map((j) => [j.id, j]));
  const errors: Diagnostic[] = [];
  const jobs: PlannedJob[] = [];
  for (const id of graph.value.order) {
    const definition = byId.get(id) as JobDefinition;
    const callTree = tree.calls.get(id);
    let call: PlannedWorkflow | undefined;
    if (callTree) {
      const planned = planWorkflow(callTree, { ...contexts, inputs: {} });
      if (planned.ok) call = planned.value;
      else errors.push(...planned.errors);
    }
    const expanded = expandJob(workflow, definition, contexts);
    if (expanded.ok) {
      jobs.push({ definition, expansion: expanded.value, call });
    } else if (definition.strategy && containsExpression(definition.strategy)) {
      jobs.push({ definition, decidedAtRunTime: "matrix decided at run time", call });
    } else if (definition.name && !isLiteral(definition.name)) {
      jobs.push({ definition, decidedAtRunTime: "name decided at run time", call });
    } else {
      errors.push(...expanded.errors);
    }
  }
  return errors.length > 0 ? failed(errors) : ok({ workflow, graph: graph.value, jobs });
}

function containsExpression(token: TemplateToken): boolean {
  for (const [, inner] of TemplateToken.traverse(token)) {
    if (isBasicExpression(inner)) return true;
  }
  return false;
}

/** How many jobs a plan will run at least: matrix jobs counted, called workflows' jobs included. */
export function countPlannedJobs(plan: PlannedWorkflow): number {
  let total = 0;
  for (const job of plan.jobs) {
    const instances = job.expansion?.instances.length ?? 1;
    total += job.call ? instances * countPlannedJobs(job.call) : instances;
  }
  return total;
}
