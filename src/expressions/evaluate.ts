/**
 * Evaluating one `${{ }}` expression with GitHub's own lexer, parser and evaluator
 * (`@actions/expressions`): operators, coercions, case-insensitive comparisons and the pure
 * functions come from there; the host adds status functions and `hashFiles`.
 */
import {
  Evaluator,
  ExpressionError,
  ExpressionEvaluationError,
  Lexer,
  Parser,
  wellKnownFunctions,
} from "@actions/expressions";
import type { data, Expr } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import { TokenType } from "@actions/expressions/lexer";
import type { Token } from "@actions/expressions/lexer";
import { truthy } from "@actions/expressions/result";
import type { Result, SourceLocation } from "../diagnostic.js";
import { error, failed, ok } from "../diagnostic.js";
import type { JsonValue } from "../json.js";
import type { ExpressionContexts } from "./contexts.js";
import { CONTEXT_NAMES, contextsToDictionary, fromExpressionData, toExpressionData } from "./contexts.js";
import { STATUS_FUNCTION_NAMES } from "./status-functions.js";

export interface EvaluateOptions {
  /** Functions beyond the built-in ones: status functions, `hashFiles`. */
  readonly functions?: readonly FunctionDefinition[];
  /** Where the expression is written, for diagnostics. */
  readonly location?: SourceLocation;
}

export function evaluateExpression(
  expression: string,
  contexts: ExpressionContexts,
  options: EvaluateOptions = {},
): Result<JsonValue> {
  const result = evaluateToData(expression, contexts, options);
  return result.ok ? ok(fromExpressionData(result.value)) : result;
}

/**
 * An `if:` condition: `${{ }}` around it is optional, a condition without a status function means
 * `success() && (condition)`, and the value counts by GitHub's truthiness (false, 0, NaN, '' and null
 * are false; everything else, objects included, true).
 */
export function evaluateCondition(
  condition: string,
  contexts: ExpressionContexts,
  options: EvaluateOptions = {},
): Result<boolean> {
  const result = evaluateToData(withImplicitSuccess(condition), contexts, options);
  return result.ok ? ok(truthy(result.value)) : result;
}

/** GitHub's truthiness for an already evaluated value. */
export function isTruthy(value: JsonValue): boolean {
  if (value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0 && !Number.isNaN(value);
  if (typeof value === "string") return value !== "";
  return true;
}

/** `${{ x }}` -> `x` when the whole text is one expression; anything else unchanged (trimmed). */
export function stripExpressionMarkers(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith("${{") || !trimmed.endsWith("}}")) return trimmed;
  const inner = trimmed.slice(3, -2);
  // `${{ a }} && ${{ b }}` is a string template, not one expression: leave it whole.
  return inner.includes("${{") ? trimmed : inner.trim();
}

/**
 * The condition GitHub actually evaluates: markers stripped, an empty condition is `success()`, and
 * one that calls none of success(), failure(), cancelled(), always() gets `success() && (...)`.
 * Only real calls count: `'success()'` inside a string or `steps.success` do not.
 */
export function withImplicitSuccess(condition: string): string {
  const expression = stripExpressionMarkers(condition);
  if (expression === "") return "success()";
  let tokens: Token[];
  try {
    tokens = new Lexer(expression).lex().tokens;
  } catch {
    // Unlexable: leave it as written so the evaluation error quotes the user's text.
    return expression;
  }
  return callsStatusFunction(tokens) ? expression : `success() && (${expression})`;
}

function callsStatusFunction(tokens: readonly Token[]): boolean {
  const names: ReadonlySet<string> = new Set(STATUS_FUNCTION_NAMES);
  return tokens.some(
    (token, index) =>
      token.type === TokenType.IDENTIFIER &&
      names.has(token.lexeme.toLowerCase()) &&
      tokens[index + 1]?.type === TokenType.LEFT_PAREN &&
      tokens[index - 1]?.type !== TokenType.DOT,
  );
}

// ---------------------------------------------------------------------------------------------

function evaluateToData(
  expression: string,
  contexts: ExpressionContexts,
  options: EvaluateOptions,
): Result<data.ExpressionData> {
  const functions = options.functions ?? [];
  const tree = parseExpression(expression, functions, options.location);
  if (!tree.ok) return tree;
  const byName = new Map([fromJson, ...functions].map((f) => [f.name.toLowerCase(), f]));
  try {
    return ok(new Evaluator(tree.value, contextsToDictionary(contexts), byName).evaluate());
  } catch (cause) {
    return failed([error(`Error evaluating '${expression}': ${describe(cause)}`, options.location)]);
  }
}

function parseExpression(
  expression: string,
  functions: readonly FunctionDefinition[],
  location: SourceLocation | undefined,
): Result<Expr> {
  try {
    const tokens = new Lexer(expression).lex().tokens.map(unescapeQuotes);
    // parse() returns nothing for an expression without tokens, although its type says otherwise.
    const tree: Expr | undefined = new Parser(tokens, [...CONTEXT_NAMES], [...functions]).parse();
    if (tree === undefined) return failed([error("An expression was expected inside '${{ }}'.", location)]);
    return ok(tree);
  } catch (cause) {
    const where = cause instanceof ExpressionError ? `. Located at position ${cause.pos.column + 1}` : "";
    const message = describe(cause);
    // The lexer already says where and quotes the expression; the parser does not.
    const full = message.includes("within expression")
      ? message
      : `${message}${where} within expression: ${expression}`;
    return failed([error(`Invalid expression: ${full}`, location)]);
  }
}

/**
 * The library's fromJSON, building its objects with our dictionaries so that no key is lost
 * (its own drops keys such as `constructor`).
 */
const fromJson: FunctionDefinition = {
  ...wellKnownFunctions["fromjson"],
  name: "fromJSON",
  minArgs: 1,
  maxArgs: 1,
  call: (...args) => {
    const text = args[0]?.coerceString() ?? "";
    if (text.trim() === "") throw new Error("empty input");
    let parsed: JsonValue;
    try {
      parsed = JSON.parse(text) as JsonValue;
    } catch (cause) {
      throw new ExpressionEvaluationError("Error parsing JSON when evaluating fromJson", { cause });
    }
    return toExpressionData(parsed);
  },
};

/**
 * The library's lexer only unescapes the first `''` of a string literal; GitHub's unescapes them all
 * (`'it''s ''x'''` is `it's 'x'`). Recompute string values from their lexemes.
 */
function unescapeQuotes(token: Token): Token {
  if (token.type !== TokenType.STRING) return token;
  return { ...token, value: token.lexeme.slice(1, -1).replaceAll("''", "'") };
}

function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  if (cause.message === "ErrorExceededMaxLength") return "Exceeded max expression length 21000";
  // fromJSON wraps JSON.parse's error; its message says what is wrong with the text.
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : "";
  return `${cause.message}${inner}`;
}
