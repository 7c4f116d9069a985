/**
 * Loads an action's metadata file (`action.yml` / `action.yaml`) the way GitHub's runner does
 * (ActionManifestManager): the bytes are screened, the YAML is read against the loose
 * `action-root` schema that `@actions/workflow-parser` ships (the runner's own schema: `name` and
 * `description` optional, unknown top-level keys ignored), then `runs` is checked by its `using`
 * with the runner's rules. Values GitHub evaluates later (input defaults, output values, composite
 * steps, container args and env) stay template tokens so the caller evaluates them with the right
 * contexts and errors keep their file:line:col.
 */
import { NoOperationTraceWriter } from "@actions/workflow-parser";
import { getActionSchema } from "@actions/workflow-parser/actions/action-schema";
import { convertSteps } from "@actions/workflow-parser/model/converter/steps";
import {
  TemplateContext,
  TemplateValidationErrors,
} from "@actions/workflow-parser/templates/template-context";
import { readTemplate } from "@actions/workflow-parser/templates/template-reader";
import { ExpressionToken } from "@actions/workflow-parser/templates/tokens/index";
import type {
  MappingToken,
  SequenceToken,
  TemplateToken,
} from "@actions/workflow-parser/templates/tokens/index";
import {
  isBoolean,
  isMapping,
  isScalar,
  isSequence,
  isString,
} from "@actions/workflow-parser/templates/tokens/type-guards";
import { TokenType } from "@actions/workflow-parser/templates/tokens/types";
import { YamlObjectReader } from "@actions/workflow-parser/workflows/yaml-object-reader";
import { compareDiagnostics, error, failed, ok } from "../diagnostic.js";
import type { Diagnostic, Result, SourceLocation } from "../diagnostic.js";
import type { StepDefinition } from "../workflow/model.js";
import { cleanYamlMessage, screenYamlBytes } from "../workflow/screen.js";
import type { YamlDocumentKind } from "../workflow/screen.js";
import { keyLocation, locationOf, mappingAt, sequenceAt, valueAt } from "../workflow/tokens.js";
import { actionRefProblem } from "./reference.js";

export const NODE_VERSIONS = ["node12", "node16", "node20", "node24"] as const;
export type NodeVersion = (typeof NODE_VERSIONS)[number];

/** Every `runs.using` GitHub accepts (it compares them ignoring case). */
export const RUNS_USING = ["composite", "docker", ...NODE_VERSIONS] as const;
export type RunsUsing = (typeof RUNS_USING)[number];

export interface ActionInput {
  /** As written; GitHub matches `with:` keys to it ignoring case. */
  readonly id: string;
  readonly description?: string;
  /** `required: true` (GitHub documents it but does not enforce it). */
  readonly required: boolean;
  /** A literal or an expression over github, strategy, matrix, job, runner, hashFiles; absent means ''. */
  readonly default?: TemplateToken;
  readonly deprecationMessage?: string;
  readonly location: SourceLocation;
}

export interface ActionOutput {
  readonly id: string;
  readonly description?: string;
  /** Composite actions: an expression over steps, inputs, github, env... giving the output. */
  readonly value?: TemplateToken;
  readonly location: SourceLocation;
}

/** `pre-if` and `post-if` are conditions without `${{ }}`; GitHub's default for both is `always()`. */
export interface NodeRuns {
  readonly using: NodeVersion;
  /** Path of the script, relative to the action's folder. */
  readonly main: string;
  readonly pre?: string;
  readonly preIf: string;
  readonly post?: string;
  readonly postIf: string;
}

export interface CompositeRuns {
  readonly using: "composite";
  /** The same shape as a workflow's steps; every `run` step has a `shell`. */
  readonly steps: readonly StepDefinition[];
}

export interface DockerRuns {
  readonly using: "docker";
  /** `Dockerfile` (a path in the action) or `docker://image`. */
  readonly image: string;
  readonly entrypoint?: string;
  readonly preEntrypoint?: string;
  readonly postEntrypoint?: string;
  readonly preIf: string;
  readonly postIf: string;
  /** Strings that may hold expressions over `inputs`. */
  readonly args?: SequenceToken;
  readonly env?: MappingToken;
}

export type ActionRuns = NodeRuns | CompositeRuns | DockerRuns;

export interface ActionMetadata {
  /** The file as named in errors. */
  readonly path: string;
  readonly name?: string;
  readonly description?: string;
  readonly author?: string;
  readonly inputs: readonly ActionInput[];
  readonly outputs: readonly ActionOutput[];
  readonly runs: ActionRuns;
  /** Where `runs:` is written. */
  readonly runsLocation: SourceLocation;
  /** Resolves a token's file id to the path shown in errors (for `evaluateTemplate`'s options). */
  readonly fileName: (fileId: number | undefined) => string;
}

export interface ActionMetadataSource {
  /** The path shown in errors. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** The runner's own default for `pre-if` and `post-if`. */
const DEFAULT_RUNS_CONDITION = "always()";

export function loadActionMetadata(source: ActionMetadataSource): Result<ActionMetadata> {
  const screened = screenActionBytes(source.path, source.bytes);
  if (!screened.ok) return screened;
  return loadActionMetadataText(source.path, screened.value);
}

export function loadActionMetadataText(path: string, text: string): Result<ActionMetadata> {
  try {
    return readMetadata(path, text);
  } catch (e) {
    // GitHub's parser throws on shapes it did not foresee; a bad file must never crash a run.
    const reason = e instanceof Error ? e.message : String(e);
    return failed([
      error(`cannot read this action's metadata: ${reason}`, { file: path, line: 1, column: 1 }),
    ]);
  }
}

function readMetadata(path: string, text: string): Result<ActionMetadata> {
  const context = new TemplateContext(
    new TemplateValidationErrors(),
    getActionSchema(),
    new NoOperationTraceWriter(),
  );
  const fileId = context.getFileId(path);
  const fileName = (id: number | undefined): string =>
    (id === undefined ? undefined : context.getFileName(id)) ?? path;
  const at = (token: TemplateToken): SourceLocation => locationOf(token, fileName);
  const start: SourceLocation = { file: path, line: 1, column: 1 };

  const reader = new YamlObjectReader(fileId, text);
  if (reader.errors.length > 0) {
    // Not YAML: schema errors would only be noise.
    const yamlErrors = reader.errors.map((e) =>
      error(cleanYamlMessage(e.message), {
        file: path,
        line: e.range?.start.line ?? 1,
        column: e.range?.start.column ?? 1,
      }),
    );
    return failed(yamlErrors);
  }
  // `action-root` is the runner's schema; parseAction's `action-root-strict` also demands
  // `name` and `description`, which the runner does not.
  const root = readTemplate(context, "action-root", reader, fileId);
  if (!root || !isMapping(root)) {
    return failed([
      error(
        "not action metadata: expected a mapping with at least `runs:` (and usually `name:`, `description:` and `inputs:`).",
        start,
      ),
    ]);
  }

  const runsToken = valueAt(root, "runs");
  const runsLocation = keyLocation(root, "runs", fileName) ?? start;
  const runs = runsToken ? readRuns(runsToken, runsLocation, context, at) : undefined;
  const found: Diagnostic[] = runs?.errors ?? [];
  if (!runsToken) {
    found.push(
      error("Top level 'runs:' section is required: add `runs:` with `using:` and what it runs.", start),
    );
  }
  // Read after the steps were converted: the converter reports into the same context.
  const parserErrors = context.errors.getErrors().map((e) =>
    error(cleanYamlMessage(e.rawMessage), {
      file: path,
      line: e.range?.start.line ?? 1,
      column: e.range?.start.column ?? 1,
    }),
  );
  const shapes = runsToken && isMapping(runsToken) ? stepShapes(runsToken, at) : [];
  const clarified = parserErrors
    .filter((d) => !isRunsAmbiguity(d, runsToken, at))
    .map((d) => clarifyStepError(d, shapes));
  // Conveyor's findings go first so that, at a place both report, the clearer message is kept.
  const errors = dedupeByPlace([...found, ...clarified]).sort(compareDiagnostics);
  if (errors.length > 0 || !runs?.value) return failed(errors);

  return ok({
    path,
    name: scalarText(valueAt(root, "name")),
    description: scalarText(valueAt(root, "description")),
    author: scalarText(valueAt(root, "author")),
    inputs: readInputs(mappingAt(root, "inputs"), at),
    outputs: readOutputs(mappingAt(root, "outputs"), at),
    runs: runs.value,
    runsLocation,
    fileName,
  });
}

// ---------------------------------------------------------------------------------------------
// Bytes

/**
 * Size and emptiness are checked here, with words about actions; UTF-8 and alias bombs by the
 * workflow screen, whose messages fit any YAML file.
 */
function screenActionBytes(file: string, bytes: Uint8Array): Result<string> {
  return screenYamlBytes(file, bytes, ACTION_DOCUMENT);
}

const ACTION_DOCUMENT: YamlDocumentKind = {
  noun: "action metadata files",
  emptyHint: "action metadata needs at least `runs:` (with `using:` and what it runs).",
};

// ---------------------------------------------------------------------------------------------
// runs

interface RunsReading {
  readonly value?: ActionRuns;
  readonly errors: Diagnostic[];
}

/** The runner's ConvertRuns: `using` decides what else is required. */
function readRuns(
  token: TemplateToken,
  runsLocation: SourceLocation,
  context: TemplateContext,
  at: (token: TemplateToken) => SourceLocation,
): RunsReading {
  if (!isMapping(token)) {
    return {
      errors: [
        error(
          "`runs:` must be a mapping with `using:` (one of " + quotedList(RUNS_USING) + ") and what it runs.",
          at(token),
        ),
      ],
    };
  }
  const usingToken = valueAt(token, "using");
  if (!usingToken || !isString(usingToken)) {
    return {
      errors: [
        error(
          `Missing 'using' value. 'using' requires ${quotedList(RUNS_USING)}.`,
          usingToken ? at(usingToken) : runsLocation,
        ),
      ],
    };
  }
  const using = usingToken.value.toLowerCase();
  const text = (key: string): string | undefined => {
    const value = valueAt(token, key);
    return value && isString(value) && value.value !== "" ? value.value : undefined;
  };
  const conditions = readRunsConditions(token, at);
  if (isNodeVersion(using)) {
    const main = text("main");
    if (!main) {
      return {
        errors: [
          error(
            `You are using a JavaScript Action but there is not an entry JavaScript file provided: add \`main:\`, the file \`using: ${using}\` runs (e.g. \`main: dist/index.js\`).`,
            runsLocation,
          ),
        ],
      };
    }
    return {
      value: { using, main, pre: text("pre"), post: text("post"), ...conditions.value },
      errors: conditions.errors,
    };
  }
  if (using === "docker") {
    const image = text("image");
    if (!image) {
      return {
        errors: [
          error(
            "You are using a Container Action but an image is not provided: add `image:` (`Dockerfile` or `docker://image`).",
            runsLocation,
          ),
        ],
      };
    }
    const args = valueAt(token, "args");
    return {
      value: {
        using: "docker",
        image,
        entrypoint: text("entrypoint"),
        preEntrypoint: text("pre-entrypoint"),
        postEntrypoint: text("post-entrypoint"),
        args: args && isSequence(args) ? args : undefined,
        env: mappingAt(token, "env"),
        ...conditions.value,
      },
      errors: conditions.errors,
    };
  }
  if (using === "composite") {
    const steps = valueAt(token, "steps");
    if (!steps || !isSequence(steps)) {
      return {
        errors: [
          error(
            steps
              ? "`steps:` of a composite action must be a list of steps."
              : "You are using a composite action but there are no steps provided: add `steps:` under `runs:`.",
            steps ? at(steps) : runsLocation,
          ),
        ],
      };
    }
    const read = readCompositeSteps(steps, context, at);
    return { value: { using: "composite", steps: read.steps }, errors: read.errors };
  }
  return {
    errors: [
      error(
        `'using: ${usingToken.value}' is not supported, use ${quotedList(RUNS_USING)} instead.`,
        at(usingToken),
      ),
    ],
  };
}

function isNodeVersion(using: string): using is NodeVersion {
  return (NODE_VERSIONS as readonly string[]).includes(using);
}

/** `pre-if` / `post-if` are evaluated later as conditions; their syntax is checked now. */
function readRunsConditions(
  runs: MappingToken,
  at: (token: TemplateToken) => SourceLocation,
): { value: { preIf: string; postIf: string }; errors: Diagnostic[] } {
  const allowed = getActionSchema().getDefinition("runs-if").readerContext;
  const errors: Diagnostic[] = [];
  const condition = (key: string): string => {
    const token = valueAt(runs, key);
    if (!token || !isString(token) || token.value.trim() === "") return DEFAULT_RUNS_CONDITION;
    try {
      ExpressionToken.validateExpression(token.value, allowed);
    } catch (e) {
      errors.push(
        error(`\`${key}: ${token.value}\`: ${e instanceof Error ? e.message : String(e)}`, at(token)),
      );
    }
    return token.value;
  };
  return { value: { preIf: condition("pre-if"), postIf: condition("post-if") }, errors };
}

// ---------------------------------------------------------------------------------------------
// Composite steps

function readCompositeSteps(
  steps: SequenceToken,
  context: TemplateContext,
  at: (token: TemplateToken) => SourceLocation,
): { steps: StepDefinition[]; errors: Diagnostic[] } {
  // GitHub's converter: generated ids (`__run`, `__actions_checkout`), id checks, `if` with its
  // implicit `success() &&`. It reports into `context`; those errors are collected with the rest.
  const converted = convertSteps(context, steps);
  const errors: Diagnostic[] = [];
  const raw = [...steps].filter(isMapping);
  const result: StepDefinition[] = [];
  for (const step of converted) {
    if (!("if" in step) || !step.if) continue;
    // The converter skips steps it cannot read, so match by the token it kept, not by index.
    const script = "run" in step ? step.run : undefined;
    const action = "uses" in step ? step.uses : undefined;
    const mapping = raw.find((m) => valueAt(m, script ? "run" : "uses") === (script ?? action));
    if (!mapping) continue;
    const usesToken = valueAt(mapping, "uses");
    const uses = usesToken && isString(usesToken) ? usesToken.value : undefined;
    if (usesToken && uses !== undefined) {
      const problem = actionRefProblem(uses);
      if (problem) errors.push(error(problem, at(usesToken)));
    }
    result.push({
      id: step.id,
      hasExplicitId: !step.id.startsWith("__"),
      location: at(mapping),
      name: "name" in step ? step.name : undefined,
      if: step.if,
      run: "run" in step ? step.run : undefined,
      uses,
      with: mappingAt(mapping, "with"),
      env: mappingAt(mapping, "env"),
      shell: valueAt(mapping, "shell"),
      workingDirectory: valueAt(mapping, "working-directory"),
      continueOnError: valueAt(mapping, "continue-on-error"),
    });
  }
  return { steps: result, errors };
}

interface StepShape {
  readonly location: SourceLocation;
  readonly end: SourceLocation;
  /** As read: the reader drops a key it did not expect (the `uses` of a step that has `run`). */
  readonly hasRun: boolean;
  readonly hasUses: boolean;
}

function stepShapes(runs: MappingToken, at: (token: TemplateToken) => SourceLocation): StepShape[] {
  return [...(sequenceAt(runs, "steps") ?? [])].filter(isMapping).map((step) => {
    const location = at(step);
    return {
      location,
      end: {
        ...location,
        line: step.range?.end.line ?? location.line,
        column: step.range?.end.column ?? location.column,
      },
      hasRun: valueAt(step, "run") !== undefined,
      hasUses: valueAt(step, "uses") !== undefined,
    };
  });
}

/**
 * Rewrites the schema's and converter's messages about a step, which are correct but cryptic, and
 * adds the why to GitHub's "Required property is missing: shell".
 */
function clarifyStepError(d: Diagnostic, shapes: readonly StepShape[]): Diagnostic {
  const place = d.location;
  if (!place) return d;
  const step = shapes.find((s) => samePlace(s.location, place));
  if (step && !step.hasRun && !step.hasUses) {
    return error(
      "this step has neither `run` (a script to run) nor `uses` (an action to use): give it one of them.",
      place,
    );
  }
  if (d.message === "Required property is missing: shell") {
    return error(
      "Required property is missing: shell. A `run` step in a composite action has no default shell: add e.g. `shell: bash`.",
      place,
    );
  }
  const duplicateId = /^The identifier '(.+)' may not be used more than once within the same scope\.$/.exec(
    d.message,
  );
  if (duplicateId) {
    return error(
      `step id '${duplicateId[1]}' is already used by another step of this action: step ids must be unique within it.`,
      place,
    );
  }
  const unexpected = /^Unexpected value '(run|uses)'$/.exec(d.message)?.[1];
  const owner = unexpected ? shapes.find((s) => within(place, s.location, s.end)) : undefined;
  // The reader kept the first of the two and dropped the other.
  if (owner && (unexpected === "uses" ? owner.hasRun : owner.hasUses)) {
    return error(
      "this step has both `run` and `uses`: a step either runs a script or uses an action. Split it into two steps.",
      place,
    );
  }
  return d;
}

/** "Not enough info to determine what you meant" at `runs:`: the check by `using` says it better. */
function isRunsAmbiguity(
  d: Diagnostic,
  runs: TemplateToken | undefined,
  at: (token: TemplateToken) => SourceLocation,
): boolean {
  return (
    runs !== undefined &&
    d.location !== undefined &&
    d.message.startsWith("There's not enough info") &&
    samePlace(d.location, at(runs))
  );
}

// ---------------------------------------------------------------------------------------------
// inputs and outputs

function readInputs(
  inputs: MappingToken | undefined,
  at: (token: TemplateToken) => SourceLocation,
): ActionInput[] {
  return [...(inputs ?? [])].flatMap((pair) => {
    if (!isString(pair.key)) return [];
    const spec = isMapping(pair.value) ? pair.value : undefined;
    const required = valueAt(spec, "required");
    return [
      {
        id: pair.key.value,
        description: scalarText(valueAt(spec, "description")),
        required: isTrue(required),
        default: valueAt(spec, "default"),
        deprecationMessage: scalarText(valueAt(spec, "deprecationMessage")),
        location: at(pair.key),
      },
    ];
  });
}

function readOutputs(
  outputs: MappingToken | undefined,
  at: (token: TemplateToken) => SourceLocation,
): ActionOutput[] {
  return [...(outputs ?? [])].flatMap((pair) => {
    if (!isString(pair.key)) return [];
    const spec = isMapping(pair.value) ? pair.value : undefined;
    return [
      {
        id: pair.key.value,
        description: scalarText(valueAt(spec, "description")),
        value: valueAt(spec, "value"),
        location: at(pair.key),
      },
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// Small readers

function scalarText(token: TemplateToken | undefined): string | undefined {
  if (!token || !isScalar(token) || token.templateTokenType === TokenType.Null) return undefined;
  return isString(token) ? token.value : token.toString();
}

/** `required: true` or `required: 'true'` (YAML 1.1 habits survive in action files). */
function isTrue(token: TemplateToken | undefined): boolean {
  if (!token) return false;
  if (isBoolean(token)) return token.value;
  return isString(token) && token.value.trim().toLowerCase() === "true";
}

function quotedList(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1] ?? ""}`;
}

function within(place: SourceLocation, start: SourceLocation, end: SourceLocation): boolean {
  const after = place.line > start.line || (place.line === start.line && place.column >= start.column);
  const before = place.line < end.line || (place.line === end.line && place.column <= end.column);
  return after && before;
}

function samePlace(a: SourceLocation, b: SourceLocation): boolean {
  return a.file === b.file && a.line === b.line && a.column === b.column;
}

/** Keeps the first error at each place: the parser and the converter can report one twice. */
function dedupeByPlace(errors: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}` : `${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
