/**
 * Evaluating a piece of a workflow (a token tree from `@actions/workflow-parser`) into plain JSON:
 * what the planner does to `runs-on`, `env`, `strategy`, `container`, `environment` when a job starts
 * and to a step's fields before it runs.
 *
 * The parser has already turned `a ${{ x }} b` into the expression `format('a {0} b', x)`, so every
 * expression is one token. A token that is a whole `${{ }}` keeps the type of its value
 * (`${{ fromJSON('[1,2]') }}` is an array, `${{ true }}` a boolean); string fields convert it the way
 * GitHub's template evaluator does (`evaluateStringToken`): null is '', booleans 'true'/'false',
 * numbers as GitHub prints them, objects and arrays are an error ("Expected a string").
 */
import { data } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import type { MappingToken, TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import {
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
} from "@actions/workflow-parser/templates/tokens/type-guards";
import { TokenType } from "@actions/workflow-parser/templates/tokens/types";
import type { Diagnostic, Result } from "../diagnostic.js";
import { error, failed, ok } from "../diagnostic.js";
import type { JsonObject, JsonValue } from "../json.js";
import type { ExpressionContexts } from "./contexts.js";
import { locationOf } from "../workflow/tokens.js";
import { expressionOf } from "./block-scalar.js";
import { evaluateExpression } from "./evaluate.js";

export interface TemplateOptions {
  /** The file a token came from, by the parser's file id (`TemplateContext.getFileName`). */
  readonly fileName: (fileId: number | undefined) => string;
  readonly functions?: readonly FunctionDefinition[];
}

/** A token tree to JSON. All errors are reported, each at its token. */
export function evaluateTemplate(
  token: TemplateToken,
  contexts: ExpressionContexts,
  options: TemplateOptions,
): Result<JsonValue> {
  const errors: Diagnostic[] = [];
  const value = walk(token, { contexts, options, errors });
  return errors.length > 0 ? failed(errors) : ok(value);
}

/** A string field: a literal, or an expression whose value GitHub would accept as a string. */
export function evaluateString(
  token: TemplateToken,
  contexts: ExpressionContexts,
  options: TemplateOptions,
): Result<string> {
  const errors: Diagnostic[] = [];
  const value = walkString(token, { contexts, options, errors });
  return errors.length > 0 || value === undefined ? failed(errors) : ok(value);
}

/** A mapping of strings (`env`, `with`, `outputs`): every key and value as a string. */
export function evaluateStringMap(
  token: TemplateToken,
  contexts: ExpressionContexts,
  options: TemplateOptions,
): Result<Record<string, string>> {
  if (isMapping(token)) {
    const errors: Diagnostic[] = [];
    const entries = walkEntries(token, { contexts, options, errors }, walkString);
    return errors.length > 0 ? failed(errors) : ok(Object.fromEntries(entries));
  }
  // A whole-value expression such as `${{ fromJSON(inputs.env) }}`.
  const evaluated = evaluateTemplate(token, contexts, options);
  if (!evaluated.ok) return evaluated;
  const value = evaluated.value;
  const location = locationOf(token, options.fileName);
  if (value === null) return ok({});
  if (typeof value !== "object" || Array.isArray(value)) {
    return failed([error(`Expected a mapping, found ${describeKind(value)}.`, location)]);
  }
  const entries: [string, string][] = [];
  const errors: Diagnostic[] = [];
  for (const [key, item] of Object.entries(value)) {
    const text = expressionString(item);
    if (text === undefined)
      errors.push(error(`Expected a string for '${key}', found ${describeKind(item)}.`, location));
    else entries.push([key, text]);
  }
  return errors.length > 0 ? failed(errors) : ok(Object.fromEntries(entries));
}

/**
 * A value as GitHub turns it into a string (`ConvertToString`): null is '', booleans 'true'/'false',
 * numbers in GitHub's format (at most 15 significant digits); `undefined` for objects and arrays.
 */
export function expressionString(value: JsonValue): string | undefined {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return new data.NumberData(value).coerceString();
  return undefined;
}

// ---------------------------------------------------------------------------------------------

interface Walk {
  readonly contexts: ExpressionContexts;
  readonly options: TemplateOptions;
  readonly errors: Diagnostic[];
}

/** The value of a token; on error the error is recorded and null stands in for the value. */
function walk(token: TemplateToken, state: Walk): JsonValue {
  if (isString(token) || isNumber(token) || isBoolean(token)) return token.value;
  if (token.templateTokenType === TokenType.Null) return null;
  if (isBasicExpression(token)) {
    const result = evaluateExpression(expressionOf(token), state.contexts, {
      functions: state.options.functions,
      location: locationOf(token, state.options.fileName),
    });
    if (result.ok) return result.value;
    state.errors.push(...result.errors);
    return null;
  }
  if (isSequence(token)) return [...token].map((item) => walk(item, state));
  if (isMapping(token)) return walkMapping(token, state);
  state.errors.push(
    error("A '${{ insert }}' directive is not allowed here.", locationOf(token, state.options.fileName)),
  );
  return null;
}

function walkMapping(token: MappingToken, state: Walk): JsonObject {
  // fromEntries defines own properties, so a `__proto__` key stays a key.
  return Object.fromEntries(walkEntries(token, state, walk));
}

/** Keys as strings, values by `valueOf`; a key seen before is an error. */
function walkEntries<T>(
  token: MappingToken,
  state: Walk,
  valueOf: (token: TemplateToken, state: Walk) => T | undefined,
): [string, T][] {
  const entries: [string, T][] = [];
  // GitHub compares mapping keys ignoring case when it looks for duplicates.
  const seen = new Set<string>();
  for (const pair of token) {
    const key = walkString(pair.key, state);
    const value = valueOf(pair.value, state);
    if (key === undefined || value === undefined) continue;
    if (seen.has(key.toLowerCase())) {
      state.errors.push(error(`'${key}' is already defined`, locationOf(pair.key, state.options.fileName)));
      continue;
    }
    seen.add(key.toLowerCase());
    entries.push([key, value]);
  }
  return entries;
}

function walkString(token: TemplateToken, state: Walk): string | undefined {
  const location = locationOf(token, state.options.fileName);
  if (isSequence(token) || isMapping(token)) {
    state.errors.push(
      error(`Expected a string, found ${isMapping(token) ? "a mapping" : "a sequence"}.`, location),
    );
    return undefined;
  }
  const value = walk(token, state);
  const text = expressionString(value);
  if (text === undefined) {
    const shown = isBasicExpression(token) ? `'\${{ ${token.expression} }}'` : "the value";
    state.errors.push(
      error(`Expected a string, but ${shown} evaluated to ${describeKind(value)}.`, location),
    );
  }
  return text;
}

function describeKind(value: JsonValue): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
