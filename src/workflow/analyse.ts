/**
 * Everything `validate`, `list` and `graph` need from a repository's workflows: load them,
 * resolve the reusable workflows they call, and plan each ahead of the run.
 */
import type { Diagnostic } from "../diagnostic.js";
import { compareDiagnostics } from "../diagnostic.js";
import type { ExpressionContexts } from "../expressions/contexts.js";
import { resolveCalls } from "./calls.js";
import { loadWorkflowFiles, localCallResolver } from "./discover.js";
import type { Workflow } from "./model.js";
import { planWorkflow } from "./plan.js";
import type { PlannedWorkflow } from "./plan.js";

export interface RepositoryAnalysis {
  /** Every workflow file looked at. */
  readonly files: readonly string[];
  /** Workflows that loaded, planned, with their calls resolved. */
  readonly plans: readonly PlannedWorkflow[];
  /** Every problem found, in file order. */
  readonly errors: readonly Diagnostic[];
  /** Problems that do not stop a workflow from running. */
  readonly warnings: readonly Diagnostic[];
}

/**
 * `contextsFor` gives the contexts known before a run (github, inputs, vars) for each workflow;
 * the default knows none, which is enough to expand matrices written without expressions.
 */
export async function analyseRepository(
  root: string,
  paths: readonly string[] = [],
  contextsFor: (workflow: Workflow) => ExpressionContexts = () => ({}),
): Promise<RepositoryAnalysis> {
  const loaded = await loadWorkflowFiles(root, paths);
  const resolver = localCallResolver(root);
  const errors: Diagnostic[] = [...loaded.errors];
  const plans: PlannedWorkflow[] = [];
  for (const workflow of loaded.workflows) {
    const tree = await resolveCalls(workflow, resolver);
    if (!tree.ok) {
      errors.push(...tree.errors);
      continue;
    }
    const plan = planWorkflow(tree.value, contextsFor(workflow));
    if (plan.ok) plans.push(plan.value);
    else errors.push(...plan.errors);
  }
  const warnings = loaded.workflows.flatMap((w) => w.warnings);
  return {
    files: loaded.files,
    plans,
    errors: dedupeAcrossFiles(errors).sort(compareDiagnostics),
    warnings: [...warnings].sort(compareDiagnostics),
  };
}

/** A called workflow that is also validated on its own would report its errors twice. */
function dedupeAcrossFiles(errors: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.location?.file ?? e.file}:${e.location?.line}:${e.location?.column}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
