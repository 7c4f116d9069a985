/**
 * Checks GitHub makes outside its workflow schema (when a run starts, or in the runner), made
 * here at load time so `conveyor validate` catches them before anything runs.
 */
import type { MappingToken } from "@actions/workflow-parser/templates/tokens/index";
import { isMapping } from "@actions/workflow-parser/templates/tokens/type-guards";
import { actionRefProblem } from "../actions/reference.js";
import { error } from "../diagnostic.js";
import type { Diagnostic, SourceLocation } from "../diagnostic.js";
import type { Workflow } from "./model.js";
import { locationOf, mappingAt, sequenceAt, valueAt } from "./tokens.js";

/**
 * Problems GitHub's parser reports poorly or not at all. Where the parser also reports one at the
 * same place, the loader keeps this clearer message and drops the parser's.
 */
export function checkWorkflowSemantics(workflow: Workflow, root: MappingToken): Diagnostic[] {
  const errors: Diagnostic[] = checkStepShapes(workflow, root);
  for (const job of workflow.jobs) {
    if (job.kind === "call") {
      const problem = reusableWorkflowRefProblem(job.uses);
      if (problem) errors.push(error(problem, job.usesLocation));
      continue;
    }
    for (const step of job.steps) {
      if (step.uses === undefined) continue;
      const problem = actionRefProblem(step.uses);
      if (problem) errors.push(error(problem, step.location));
    }
  }
  return errors;
}

/** Why a job's `uses:` is not a reusable workflow reference GitHub accepts, or undefined. */
export function reusableWorkflowRefProblem(uses: string): string | undefined {
  const isYaml = /\.ya?ml$/;
  if (uses.startsWith("./")) {
    if (!uses.startsWith("./.github/workflows/") || !isYaml.test(uses)) {
      return `\`uses: ${uses}\`: a local reusable workflow must be a file in ./.github/workflows/ ending in .yml or .yaml.`;
    }
    return undefined;
  }
  const match = /^([^/@\s]+)\/([^/@\s]+)\/(\.github\/workflows\/[^@\s]+)@(.+)$/.exec(uses);
  if (!match || !isYaml.test(match[3] ?? "")) {
    return `\`uses: ${uses}\` is not a reusable workflow reference: write ./.github/workflows/{file}.yml or {owner}/{repo}/.github/workflows/{file}.yml@{ref}.`;
  }
  return undefined;
}

/** A step runs a script or uses an action: exactly one of `run` and `uses`. */
function checkStepShapes(workflow: Workflow, root: MappingToken): Diagnostic[] {
  const errors: Diagnostic[] = [];
  for (const step of rawSteps(root)) {
    if (valueAt(step, "run") === undefined && valueAt(step, "uses") === undefined) {
      errors.push(
        error(
          "this step has neither `run` (a script to run) nor `uses` (an action to use): give it one of them.",
          locationOf(step, workflow.fileName),
        ),
      );
    }
  }
  return errors;
}

function* rawSteps(root: MappingToken): Generator<MappingToken> {
  for (const pair of mappingAt(root, "jobs") ?? []) {
    if (!isMapping(pair.value)) continue;
    for (const step of sequenceAt(pair.value, "steps") ?? []) if (isMapping(step)) yield step;
  }
}

/**
 * Rewrites parser messages that are correct but cryptic. The parser drops a step's `uses` when
 * the step also has `run` (and the reverse), reporting only "Unexpected value 'uses'".
 */
export function clarifyParserMessage(message: string, at: SourceLocation, root: MappingToken): string {
  const duplicateId = /^The identifier '(.+)' may not be used more than once within the same scope\.$/.exec(
    message,
  );
  if (duplicateId) {
    return `step id '${duplicateId[1]}' is already used by another step of this job: step ids must be unique within a job.`;
  }
  const unexpected = /^Unexpected value '(run|uses)'$/.exec(message);
  if (!unexpected) return message;
  const insideStep = [...rawSteps(root)].some((step) => contains(step, at));
  return insideStep
    ? "this step has both `run` and `uses`: a step either runs a script or uses an action. Split it into two steps."
    : message;
}

function contains(token: MappingToken, at: SourceLocation): boolean {
  const range = token.range;
  if (!range) return false;
  const after =
    at.line > range.start.line || (at.line === range.start.line && at.column >= range.start.column);
  const before = at.line < range.end.line || (at.line === range.end.line && at.column <= range.end.column);
  return after && before;
}
