/**
 * Typed inputs of `workflow_dispatch` (string, boolean, number, choice, environment) and
 * `workflow_call` (string, number, boolean): checking their definitions, and turning the values a
 * caller provides into the `inputs` context and the `github.event.inputs` strings.
 *
 * GitHub's rules followed here:
 * - A provided name the workflow does not define is an error; so is a missing required input
 *   that has no default.
 * - A boolean is `true` or `false`; a choice must be one of its `options`.
 * - An input left out gets its `default`; without one, `false` for a boolean, `0` for a number and
 *   `""` otherwise (documented for `workflow_call`; applied to `workflow_dispatch` too, see below).
 * - `github.event.inputs` holds the same values as strings (`inputs` keeps booleans and numbers).
 * - `workflow_dispatch` allows at most 25 inputs and 65,535 characters of inputs JSON.
 *
 * Where Conveyor is kinder than GitHub's API: an optional boolean left out without a default is
 * `false` (GitHub's API refuses the dispatch with "Provided value '' ... not in the list of allowed
 * values"), and JSON booleans and numbers are accepted where GitHub's API wants strings.
 */
import { type Diagnostic, type Result, type SourceLocation, error, failed, ok } from "../diagnostic.js";

/**
 * Finds where something is written, for diagnostics. `path` is a list of mapping keys and sequence
 * indexes relative to the mapping the validating function was given (for input definitions:
 * `["logLevel", "default"]` inside `on.workflow_dispatch.inputs`). Undefined when unknown.
 */
export type Locator = (path: readonly (string | number)[]) => SourceLocation | undefined;

export type InputValue = string | number | boolean;
export type InputTrigger = "workflow_dispatch" | "workflow_call";

/**
 * One input as written under `on.<trigger>.inputs`. The parser's `InputConfig` fits this type, but
 * the parser drops `type: number` and that input's default: see `withRawInputTypes`.
 */
export interface InputDefinition {
  /** Absent means string, GitHub's default for `workflow_dispatch`. */
  readonly type?: string;
  readonly description?: string;
  readonly required?: boolean;
  readonly default?: unknown;
  readonly options?: readonly string[];
}

export type InputDefinitions = Readonly<Record<string, InputDefinition>>;

export const MAX_DISPATCH_INPUTS = 25;
export const MAX_DISPATCH_INPUTS_JSON_CHARS = 65_535;

const TYPES_BY_TRIGGER: Readonly<Record<InputTrigger, readonly string[]>> = {
  workflow_dispatch: ["string", "boolean", "number", "choice", "environment"],
  workflow_call: ["string", "number", "boolean"],
};

export function inputType(definition: InputDefinition): string {
  return definition.type ?? "string";
}

export interface ResolveOptions {
  /** Known environment names; when given, an `environment` input must name one of them. */
  readonly environments?: readonly string[];
}

/**
 * The `inputs` context for a run: provided values converted to their types, then defaults and
 * GitHub's values for inputs left out. `provided` holds strings from a command line or JSON values
 * from an API; `null` counts as left out. Defaults that are expressions (`workflow_call` allows
 * `${{ }}` there) must be evaluated by the caller first.
 */
export function resolveInputs(
  trigger: InputTrigger,
  definitions: InputDefinitions | undefined,
  provided: Readonly<Record<string, unknown>>,
  options: ResolveOptions = {},
): Result<Record<string, InputValue>> {
  const defined = definitions ?? {};
  const errors: Diagnostic[] = [];
  for (const name of Object.keys(provided)) {
    if (!Object.hasOwn(defined, name)) errors.push(error(unexpectedInput(name, Object.keys(defined))));
  }
  if (trigger === "workflow_dispatch") {
    const size = JSON.stringify(provided).length;
    if (size > MAX_DISPATCH_INPUTS_JSON_CHARS) {
      errors.push(error(`inputs are too large: ${size} characters of JSON, the limit is 65,535`));
    }
  }

  // Entries, not assignments: an input named `__proto__` must stay an input.
  const values: Array<[string, InputValue]> = [];
  for (const [name, definition] of Object.entries(defined)) {
    const given = Object.hasOwn(provided, name) ? provided[name] : undefined;
    const value = given ?? definition.default;
    if (value === undefined || value === null) {
      if (definition.required) errors.push(error(`required input '${name}' was not provided`));
      else values.push([name, unsetValue(definition)]);
      continue;
    }
    const converted = convertInput(name, definition, value, options);
    if (typeof converted === "object") {
      const problem =
        given === undefined || given === null ? `the default of ${converted.problem}` : converted.problem;
      errors.push(error(problem));
    } else {
      values.push([name, converted]);
    }
  }
  return errors.length > 0 ? failed(errors) : ok(Object.fromEntries(values));
}

/** `github.event.inputs`: every value as a string, as GitHub puts it in the event payload. */
export function eventInputs(values: Readonly<Record<string, InputValue>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, String(value)]));
}

function unexpectedInput(name: string, known: readonly string[]): string {
  const sameLetters = known.find((k) => k.toLowerCase() === name.toLowerCase());
  if (sameLetters)
    return `unexpected input '${name}': did you mean '${sameLetters}'? Input names are case-sensitive`;
  if (known.length === 0) return `unexpected input '${name}': the workflow defines no inputs`;
  return `unexpected input '${name}': the workflow defines ${known.map((k) => `'${k}'`).join(", ")}`;
}

/** What GitHub gives an input nobody set and that has no default. */
function unsetValue(definition: InputDefinition): InputValue {
  switch (inputType(definition)) {
    case "boolean":
      return false;
    case "number":
      return 0;
    default:
      return "";
  }
}

interface Problem {
  readonly problem: string;
}

function convertInput(
  name: string,
  definition: InputDefinition,
  value: unknown,
  options: ResolveOptions,
): InputValue | Problem {
  const shown = describeValue(value);
  switch (inputType(definition)) {
    case "boolean":
      if (value === true || value === "true") return true;
      if (value === false || value === "false") return false;
      return { problem: `input '${name}' must be true or false, got ${shown}` };
    case "number": {
      const number = toNumber(value);
      return number ?? { problem: `input '${name}' must be a number, got ${shown}` };
    }
    case "choice": {
      const text = toText(value);
      const choices = definition.options ?? [];
      if (text !== undefined && choices.includes(text)) return text;
      return {
        problem: `input '${name}' must be one of ${choices.map((c) => `'${c}'`).join(", ")}; got ${shown}`,
      };
    }
    case "environment": {
      const text = toText(value);
      if (text === undefined) return { problem: `input '${name}' must be an environment name, got ${shown}` };
      const known = options.environments;
      if (known && !known.includes(text)) {
        const list = known.length > 0 ? known.map((e) => `'${e}'`).join(", ") : "none are defined";
        return { problem: `input '${name}' must name an environment (${list}); got ${shown}` };
      }
      return text;
    }
    default: {
      const text = toText(value);
      return text ?? { problem: `input '${name}' must be a string, got ${shown}` };
    }
  }
}

const NUMBER_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/u;

function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return NUMBER_TEXT.test(trimmed) ? Number(trimmed) : undefined;
}

/** Scalars become text the way GitHub writes them; objects and lists do not. */
function toText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return `'${value}'`;
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/**
 * Checks input definitions where GitHub's parser does not: a choice default outside its options,
 * a boolean default that is not a boolean, a number default that is not a number, a type the
 * trigger does not allow, and more than 25 `workflow_dispatch` inputs. Each diagnostic is located
 * through `locate` with a path relative to the `inputs` mapping (`[]` for the mapping itself).
 */
export function validateInputDefinitions(
  trigger: InputTrigger,
  definitions: InputDefinitions | undefined,
  locate: Locator = () => undefined,
): Diagnostic[] {
  const entries = Object.entries(definitions ?? {});
  const diagnostics: Diagnostic[] = [];
  const at = (path: readonly (string | number)[], message: string): void => {
    diagnostics.push(error(message, locate(path)));
  };
  if (trigger === "workflow_dispatch" && entries.length > MAX_DISPATCH_INPUTS) {
    at(
      [],
      `you may only define up to 25 \`inputs\` for a \`workflow_dispatch\` event; found ${entries.length}`,
    );
  }
  const allowed = TYPES_BY_TRIGGER[trigger];
  for (const [name, definition] of entries) {
    const type = inputType(definition);
    if (!allowed.includes(type)) {
      at(
        [name, "type"],
        `input '${name}' has type '${type}'; ${trigger} inputs may be ${allowed.join(", ")}`,
      );
      continue;
    }
    const problem = defaultProblem(name, type, definition);
    if (problem) at([name, "default"], problem);
  }
  return diagnostics;
}

function defaultProblem(name: string, type: string, definition: InputDefinition): string | undefined {
  const value = definition.default;
  // `workflow_call` defaults may be expressions, evaluated when the workflow is called.
  if (value === undefined || (typeof value === "string" && value.includes("${{"))) return undefined;
  const shown = describeValue(value);
  switch (type) {
    case "boolean":
      return typeof value === "boolean"
        ? undefined
        : `the default of boolean input '${name}' must be true or false (unquoted), got ${shown}`;
    case "number":
      return toNumber(value) !== undefined
        ? undefined
        : `the default of number input '${name}' must be a number, got ${shown}`;
    case "choice": {
      const choices = definition.options ?? [];
      if (typeof value === "string" && choices.includes(value)) return undefined;
      return `the default of choice input '${name}' must be one of its options (${choices.map((c) => `'${c}'`).join(", ")}), got ${shown}`;
    }
    default:
      return undefined;
  }
}

/**
 * The parser's `InputType` has no `number`: it leaves such an input without `type` and drops its
 * `default`. This takes both back from the raw `inputs` mapping as plain data (for example from
 * `yaml`'s `toJS()`), for every input the parser left without a type.
 */
export function withRawInputTypes(parsed: InputDefinitions | undefined, raw: unknown): InputDefinitions {
  const repaired = Object.entries(parsed ?? {}).map(([name, definition]): [string, InputDefinition] => {
    const rawDefinition = isRecord(raw) && Object.hasOwn(raw, name) ? raw[name] : undefined;
    if (definition.type !== undefined || !isRecord(rawDefinition) || typeof rawDefinition.type !== "string") {
      return [name, definition];
    }
    const withDefault = rawDefinition.default === undefined ? {} : { default: rawDefinition.default };
    return [name, { ...definition, type: rawDefinition.type, ...withDefault }];
  });
  return Object.fromEntries(repaired);
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
