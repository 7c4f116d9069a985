/**
 * Loads one workflow file: screens its bytes, validates it with GitHub's own parser, adds the
 * checks GitHub makes elsewhere, and builds Conveyor's model. Every error is returned at once.
 */
import { convertWorkflowTemplate, NoOperationTraceWriter } from "@actions/workflow-parser";
import { ErrorPolicy } from "@actions/workflow-parser/model/convert";
import type { WorkflowJob, WorkflowTemplate } from "@actions/workflow-parser/model/workflow-template";
import { isMapping, isString } from "@actions/workflow-parser/templates/tokens/type-guards";
import type { MappingToken, TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import {
  TemplateContext,
  TemplateValidationErrors,
} from "@actions/workflow-parser/templates/template-context";
import { compareDiagnostics, error, failed, ok } from "../diagnostic.js";
import type { Diagnostic, Result, SourceLocation } from "../diagnostic.js";
import type { JobDefinition, Permissions, RunDefaults, StepDefinition, Workflow } from "./model.js";
import { buildNeedsGraph } from "./needs-graph.js";
import { cleanYamlMessage, screenWorkflowBytes } from "./screen.js";
import { withRawInputTypes } from "./inputs.js";
import {
  keyLocation,
  locationOf,
  mappingAt,
  sequenceAt,
  stringAt,
  tokenAtPath,
  tokenToPlain,
  valueAt,
} from "./tokens.js";
import { validateEvents } from "./triggers.js";
import { checkWorkflowSemantics, clarifyParserMessage } from "./semantics.js";
import { workflowSchemaFromSnapshot } from "./schema-snapshot.js";
import { parseWorkflowText } from "./yaml-reader.js";

export interface WorkflowSource {
  /** Repository-relative path, used in errors and as the workflow's identity. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

export async function loadWorkflow(source: WorkflowSource): Promise<Result<Workflow>> {
  const screened = screenWorkflowBytes(source.path, source.bytes);
  if (!screened.ok) return screened;
  return loadWorkflowText(source.path, screened.value);
}

export async function loadWorkflowText(path: string, text: string): Promise<Result<Workflow>> {
  // GitHub's parser in its own context, with its schema restored from a snapshot rather than
  // rebuilt, and the YAML document read by a faster equivalent of its reader (yaml-reader.ts).
  const parserContext = new TemplateContext(
    new TemplateValidationErrors(),
    workflowSchemaFromSnapshot(),
    new NoOperationTraceWriter(),
  );
  const parsed = parseWorkflowText(path, text, parserContext);
  const context = parsed.context;
  let template: WorkflowTemplate | undefined;
  if (parsed.value) {
    // TryConversion keeps going after the first error so the user sees every problem at once.
    template = await convertWorkflowTemplate(context, parsed.value, undefined, {
      errorPolicy: ErrorPolicy.TryConversion,
    });
  }
  const fileName = (fileId: number | undefined): string =>
    (fileId === undefined ? undefined : context.getFileName(fileId)) ?? path;
  const root = parsed.value && isMapping(parsed.value) ? parsed.value : undefined;
  const errors = parserDiagnostics(context, path, root);
  if (!root || !template?.jobs) {
    return failed(
      errors.length > 0
        ? errors
        : [
            error("not a workflow: expected a mapping with `on` and `jobs`.", {
              file: path,
              line: 1,
              column: 1,
            }),
          ],
    );
  }
  const onToken = valueAt(root, "on");
  const eventFindings = onToken
    ? validateEvents(template.events ?? {}, {
        locate: (at) => {
          const token = tokenAtPath(onToken, at);
          return token ? locationOf(token, fileName) : undefined;
        },
        workflowName: stringAt(root, "name") ?? path,
      })
    : [];
  const warnings = eventFindings.filter((d) => d.severity === "warning");
  const workflow = buildWorkflow(path, root, template, fileName, warnings);
  // Conveyor's own findings go first so that, at a place both report, the clearer message is kept.
  const all = [
    ...checkWorkflowSemantics(workflow, root),
    ...eventFindings.filter((d) => d.severity === "error"),
    ...checkNeeds(workflow),
    ...errors,
  ];
  const unique = dedupe(all).sort(compareDiagnostics);
  return unique.length > 0 ? failed(unique) : ok(workflow);
}

// Conveyor reports these itself with better messages (the cycle named in full).
const REPLACED_PARSER_MESSAGES = [
  /creates a cycle in the dependency graph/,
  /depends on unknown job/,
  /^Invalid cron expression/,
];

function parserDiagnostics(
  context: TemplateContext,
  path: string,
  root: MappingToken | undefined,
): Diagnostic[] {
  const result: Diagnostic[] = [];
  for (const e of context.errors.getErrors()) {
    const message = cleanYamlMessage(e.rawMessage);
    if (REPLACED_PARSER_MESSAGES.some((re) => re.test(message))) continue;
    const location: SourceLocation = {
      file: path,
      line: e.range?.start.line ?? 1,
      column: e.range?.start.column ?? 1,
    };
    result.push(error(root ? clarifyParserMessage(message, location, root) : message, location));
  }
  return result;
}

/** The parser reports some problems twice (once parsing, once converting): keep the first at each place. */
function dedupe(errors: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const result: Diagnostic[] = [];
  for (const e of errors) {
    const place = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}` : (e.file ?? "");
    const key = `${place}|${e.message}`;
    const placeOnly = `${place}|`;
    // A conversion error at the exact place of a parse error is the same problem said again.
    if (seen.has(key) || (e.location && seen.has(placeOnly))) continue;
    seen.add(key);
    if (e.location) seen.add(placeOnly);
    result.push(e);
  }
  return result;
}

function checkNeeds(workflow: Workflow): Diagnostic[] {
  const graph = buildNeedsGraph(
    workflow.jobs.map((job) => ({
      id: job.id,
      needs: job.needs,
      location: job.location,
      needsLocations: job.needsLocations,
    })),
  );
  return graph.ok ? [] : graph.errors;
}

function buildWorkflow(
  path: string,
  root: MappingToken,
  template: WorkflowTemplate,
  fileName: (fileId: number | undefined) => string,
  warnings: readonly Diagnostic[],
): Workflow {
  const explicitName = stringAt(root, "name");
  const onToken = valueAt(root, "on");
  const onMapping = onToken && isMapping(onToken) ? onToken : undefined;
  const rawInputs = (trigger: string): unknown => {
    const inputs = mappingAt(mappingAt(onMapping, trigger), "inputs");
    return inputs ? tokenToPlain(inputs) : undefined;
  };
  const events = template.events ?? {};
  const jobsMapping = mappingAt(root, "jobs");
  const jobs = (template.jobs ?? []).map((job) =>
    buildJob(job, mappingAt(jobsMapping, job.id.value), fileName),
  );
  return {
    path,
    name: explicitName ?? path,
    hasExplicitName: explicitName !== undefined,
    runName: valueAt(root, "run-name"),
    on: events,
    dispatchInputs: events.workflow_dispatch
      ? withRawInputTypes(events.workflow_dispatch.inputs, rawInputs("workflow_dispatch"))
      : undefined,
    callInputs: events.workflow_call
      ? withRawInputTypes(events.workflow_call.inputs, rawInputs("workflow_call"))
      : undefined,
    onLocation: onToken
      ? (keyLocation(root, "on", fileName) ?? locationOf(onToken, fileName))
      : locationOf(root, fileName),
    env: valueAt(root, "env"),
    defaults: runDefaults(mappingAt(root, "defaults")),
    permissions: readPermissions(valueAt(root, "permissions")),
    concurrency: valueAt(root, "concurrency"),
    callOutputs: mappingAt(mappingAt(onMapping, "workflow_call"), "outputs"),
    jobs,
    warnings,
    fileName,
  };
}

function buildJob(
  job: WorkflowJob,
  raw: MappingToken | undefined,
  fileName: (fileId: number | undefined) => string,
): JobDefinition {
  const nameToken = valueAt(raw, "name");
  const base = {
    id: job.id.value,
    location: locationOf(job.id, fileName),
    name: nameToken && nameToken.isScalar ? job.name : undefined,
    needs: (job.needs ?? []).map((n) => n.value),
    needsLocations: (job.needs ?? []).map((n) => locationOf(n, fileName)),
    if: job.if,
    strategy: job.strategy,
    strategyLocation: raw ? keyLocation(raw, "strategy", fileName) : undefined,
    outputs: job.outputs,
    concurrency: job.concurrency,
    permissions: readPermissions(valueAt(raw, "permissions")),
  };
  if (job.type === "reusableWorkflowJob") {
    const secrets = valueAt(raw, "secrets");
    return {
      ...base,
      kind: "call",
      uses: job.ref.value,
      usesLocation: locationOf(job.ref, fileName),
      with: job["input-values"],
      secrets: job["inherit-secrets"] ? "inherit" : secrets && isMapping(secrets) ? secrets : undefined,
    };
  }
  const rawSteps = sequenceAt(raw, "steps");
  const steps: StepDefinition[] = job.steps.map((step, index) => {
    const rawStep = rawSteps?.get(index);
    const stepMapping = rawStep && isMapping(rawStep) ? rawStep : undefined;
    const runToken = valueAt(stepMapping, "run");
    const usesToken = valueAt(stepMapping, "uses");
    return {
      id: step.id,
      hasExplicitId: !step.id.startsWith("__"),
      location: stepMapping ? locationOf(stepMapping, fileName) : base.location,
      name: "name" in step ? step.name : undefined,
      if: "if" in step && step.if ? step.if : job.if,
      run: runToken && runToken.isScalar ? ("run" in step ? step.run : undefined) : undefined,
      uses: usesToken && isString(usesToken) ? usesToken.value : undefined,
      with: mappingAt(stepMapping, "with"),
      env: mappingAt(stepMapping, "env"),
      shell: valueAt(stepMapping, "shell"),
      workingDirectory: valueAt(stepMapping, "working-directory"),
      timeoutMinutes: valueAt(stepMapping, "timeout-minutes"),
      continueOnError: valueAt(stepMapping, "continue-on-error"),
    };
  });
  return {
    ...base,
    kind: "steps",
    runsOn: job["runs-on"],
    env: job.env,
    environment: job.environment,
    container: job.container,
    services: job.services,
    defaults: runDefaults(mappingAt(raw, "defaults")),
    timeoutMinutes: valueAt(raw, "timeout-minutes"),
    continueOnError: valueAt(raw, "continue-on-error"),
    steps,
  };
}

function runDefaults(defaults: MappingToken | undefined): RunDefaults | undefined {
  const run = mappingAt(defaults, "run");
  if (!run) return undefined;
  return { shell: valueAt(run, "shell"), workingDirectory: valueAt(run, "working-directory") };
}

function readPermissions(token: TemplateToken | undefined): Permissions | undefined {
  if (!token) return undefined;
  if (isString(token)) return token.value === "write-all" ? "write-all" : "read-all";
  if (!isMapping(token)) return undefined;
  const scopes: Record<string, "read" | "write" | "none"> = {};
  for (const pair of token) {
    if (isString(pair.key) && isString(pair.value)) {
      const level = pair.value.value;
      if (level === "read" || level === "write" || level === "none") scopes[pair.key.value] = level;
    }
  }
  return scopes;
}
