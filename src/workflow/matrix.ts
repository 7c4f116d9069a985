/**
 * A job's `strategy`: the matrix expanded into one configuration per job, exactly as GitHub does it,
 * plus `fail-fast` and `max-parallel`.
 *
 * The rules follow GitHub's own workflow parser (actions/runner, `src/Sdk/WorkflowParser`:
 * `Conversion/MatrixBuilder.cs`, `WorkflowTemplateConverter.ConvertToStrategy`,
 * `WorkflowTemplateEvaluator.EvaluateStrategy`, `Conversion/JobNameBuilder.cs`) and the documented
 * examples of "Running variations of jobs in a workflow".
 *
 * The input is the strategy after its expressions were evaluated: plain JSON, often from
 * `fromJSON(needs.x.outputs.y)`, so every shape is checked here. JSON carries no positions, so every
 * diagnostic points at the `strategy` key the caller passes.
 */
import { data } from "@actions/expressions";
import { equals } from "@actions/expressions/result";
import { error, failed, ok, type Diagnostic, type Result, type SourceLocation } from "../diagnostic.js";
import { isJsonObject, isJsonValue, type JsonObject, type JsonValue } from "../json.js";

/** GitHub refuses a strategy that produces more configurations than this. */
export const MAX_MATRIX_CONFIGURATIONS = 256;

/**
 * Above this many cross-product combinations we do not enumerate to count exactly: no realistic
 * `exclude` list brings such a product back under the limit.
 */
const MAX_ENUMERATED_COMBINATIONS = 100_000;

/** GitHub cuts job names longer than this to 97 characters and `...`. */
const MAX_JOB_NAME_LENGTH = 100;

/** One job's `matrix` context. */
export interface MatrixCombination {
  readonly [key: string]: JsonValue;
}

/** One job of the strategy. */
export interface MatrixConfiguration {
  /** The job's `matrix` context; `null` when the job has no matrix (GitHub's `matrix` is null then). */
  readonly matrix: MatrixCombination | null;
  /**
   * The values GitHub shows in the job's name, `build (ubuntu-latest, 18)`. Taken from the
   * combination before `include` adds keys to it, so added keys never show; a combination that an
   * `include` entry created shows all of its values. See {@link matrixJobName}.
   */
  readonly nameValues: readonly string[];
}

export interface JobStrategy {
  /**
   * The jobs to create, in GitHub's order. Never empty: a job without a matrix, and a matrix whose
   * combinations `exclude` removed entirely, run once with a `null` matrix (GitHub's
   * `EvaluateStrategy` falls back to one configuration when there are none).
   */
  readonly configurations: readonly MatrixConfiguration[];
  /** `fail-fast`; GitHub's default is true. */
  readonly failFast: boolean;
  /** `max-parallel`; undefined when there is no limit (absent, or GitHub's zero or negative). */
  readonly maxParallel: number | undefined;
}

/** The `strategy` context of one job. */
export interface StrategyContext {
  readonly "fail-fast": boolean;
  readonly "job-index": number;
  readonly "job-total": number;
  readonly "max-parallel": number;
}

/**
 * Expands an evaluated `strategy` (undefined or null when the job has none). `where` is the
 * location of the job's `strategy` key; every diagnostic points there.
 */
export function expandStrategy(strategy: unknown, where: SourceLocation): Result<JobStrategy> {
  const read = readStrategy(strategy, where);
  if (!read.ok) return read;
  const { matrix, failFast, maxParallel } = read.value;
  if (matrix === undefined) return ok({ configurations: [WITHOUT_MATRIX], failFast, maxParallel });
  const expanded = expandMatrix(matrix, where);
  if (!expanded.ok) return expanded;
  const configurations = expanded.value.length > 0 ? expanded.value : [WITHOUT_MATRIX];
  return ok({ configurations, failFast, maxParallel });
}

/**
 * The name GitHub shows for one job of the strategy.
 *
 * `defaultName` is the job's `name:` when it is plain text, else the job id: GitHub appends the
 * configuration's values in parentheses, `test (3.10)`. `evaluatedName` is the value of a `name:`
 * that holds an expression, evaluated with this job's `matrix`: GitHub shows it as it is, without the
 * values; when it evaluates to the empty string GitHub falls back to the default name.
 */
export function matrixJobName(
  defaultName: string,
  configuration: MatrixConfiguration,
  evaluatedName?: string,
): string {
  if (evaluatedName !== undefined && evaluatedName !== "") return evaluatedName;
  const values = configuration.nameValues;
  const name = values.length > 0 ? `${defaultName} (${values.join(", ")})` : defaultName;
  return name.length > MAX_JOB_NAME_LENGTH ? `${name.slice(0, MAX_JOB_NAME_LENGTH - 3)}...` : name;
}

/** The `strategy` context of the job at `jobIndex` (zero-based) among `strategy.configurations`. */
export function strategyContext(strategy: JobStrategy, jobIndex: number): StrategyContext {
  const total = strategy.configurations.length;
  // Without a matrix GitHub reports one job that runs alone, whatever max-parallel says.
  const withoutMatrix = total === 1 && strategy.configurations[0]?.matrix === null;
  return {
    "fail-fast": strategy.failFast,
    "job-index": jobIndex,
    "job-total": total,
    "max-parallel": withoutMatrix ? 1 : (strategy.maxParallel ?? total),
  };
}

const WITHOUT_MATRIX: MatrixConfiguration = { matrix: null, nameValues: [] };

// ---------------------------------------------------------------------------------------------
// Reading and checking the shape

type Entry = readonly [key: string, value: JsonValue];

interface Vector {
  readonly name: string;
  readonly values: readonly JsonValue[];
}

interface MatrixSpec {
  readonly vectors: readonly Vector[];
  readonly include: readonly JsonObject[];
  readonly exclude: readonly JsonObject[];
}

interface StrategySpec {
  readonly matrix: MatrixSpec | undefined;
  readonly failFast: boolean;
  readonly maxParallel: number | undefined;
}

const STRATEGY_KEYS = ["fail-fast", "max-parallel", "matrix"];

function readStrategy(strategy: unknown, where: SourceLocation): Result<StrategySpec> {
  if (strategy === undefined || strategy === null) {
    return ok({ matrix: undefined, failFast: true, maxParallel: undefined });
  }
  if (!isJsonObject(strategy)) {
    return failed([
      error(
        `strategy must be a mapping with matrix, fail-fast or max-parallel, but it is ${describe(strategy)}.`,
        where,
      ),
    ]);
  }
  const errors: Diagnostic[] = [];
  for (const key of Object.keys(strategy)) {
    if (!STRATEGY_KEYS.includes(key)) {
      errors.push(
        error(`strategy has an unexpected key '${key}': use matrix, fail-fast or max-parallel.`, where),
      );
    }
  }
  const failFast = readFailFast(strategy["fail-fast"], where, errors);
  const maxParallel = readMaxParallel(strategy["max-parallel"], where, errors);
  const matrix = Object.hasOwn(strategy, "matrix")
    ? readMatrix(strategy["matrix"], where, errors)
    : undefined;
  return errors.length > 0 ? failed(errors) : ok({ matrix, failFast, maxParallel });
}

function readFailFast(value: unknown, where: SourceLocation, errors: Diagnostic[]): boolean {
  if (value === undefined) return true;
  if (typeof value === "boolean") return value;
  errors.push(error(`strategy.fail-fast must be true or false, but it is ${describe(value)}.`, where));
  return true;
}

/**
 * GitHub accepts any number and keeps its integer part (a C# `(Int32)` cast); zero or less means no
 * limit (its `strategy.max-parallel` then reports the job count).
 */
function readMaxParallel(value: unknown, where: SourceLocation, errors: Diagnostic[]): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    errors.push(
      error(
        `strategy.max-parallel must be a number (how many of the matrix jobs may run at once), but it is ${describe(value)}.`,
        where,
      ),
    );
    return undefined;
  }
  const limit = Math.trunc(value);
  return limit > 0 ? limit : undefined;
}

function readMatrix(value: unknown, where: SourceLocation, errors: Diagnostic[]): MatrixSpec | undefined {
  if (!isJsonObject(value)) {
    errors.push(
      error(
        `strategy.matrix must be a mapping of vectors (lists of values), with optional include and exclude, but it is ${describe(value)}.`,
        where,
      ),
    );
    return undefined;
  }
  const firstError = errors.length;
  const vectors: Vector[] = [];
  let include: readonly JsonObject[] = [];
  let exclude: readonly JsonObject[] = [];
  let hasVector = false;
  let hasInclude = false;
  const vectorKeys = Object.keys(value).filter((key) => key !== "include" && key !== "exclude");
  checkKeysDifferInCase(vectorKeys, "strategy.matrix", where, errors);
  for (const [key, item] of Object.entries(value)) {
    // GitHub matches these two names exactly: `Include` is a vector.
    if (key === "include") {
      hasInclude = Array.isArray(item) && item.length > 0;
      include = readFilterList(item, "include", where, errors);
      continue;
    }
    if (key === "exclude") {
      exclude = readFilterList(item, "exclude", where, errors);
      continue;
    }
    hasVector = true;
    const vector = readVector(key, item, where, errors);
    if (vector) vectors.push(vector);
  }
  // As GitHub: an include list with entries counts even when its entries are wrong.
  if (!hasVector && !hasInclude) {
    errors.push(
      error(
        "Matrix must define at least one vector: add a key with a list of values (os: [ubuntu-latest]) or an include list, or remove the matrix.",
        where,
      ),
    );
  }
  checkIncludeEntries(include, where, errors);
  checkExcludeEntries(exclude, vectors, where, errors);
  return errors.length > firstError ? undefined : { vectors, include, exclude };
}

function readVector(
  name: string,
  value: unknown,
  where: SourceLocation,
  errors: Diagnostic[],
): Vector | undefined {
  if (name === "") {
    errors.push(error("strategy.matrix has an empty key: name each vector.", where));
    return undefined;
  }
  if (!Array.isArray(value)) {
    errors.push(
      error(
        `Matrix vector '${name}' must be a list of values, but it is ${describe(value)}. Write ${name}: [${jsonPreview(value)}] for a single value.`,
        where,
      ),
    );
    return undefined;
  }
  if (value.length === 0) {
    errors.push(
      error(
        `Matrix vector '${name}' does not contain any values: give it at least one, or skip the job with an if: condition when the list is empty.`,
        where,
      ),
    );
    return undefined;
  }
  if (!value.every(isJsonValue)) {
    errors.push(error(`Matrix vector '${name}' holds a value that is not JSON.`, where));
    return undefined;
  }
  return { name, values: value };
}

function readFilterList(
  value: unknown,
  list: "include" | "exclude",
  where: SourceLocation,
  errors: Diagnostic[],
): readonly JsonObject[] {
  const path = `strategy.matrix.${list}`;
  if (!Array.isArray(value)) {
    errors.push(error(`${path} must be a list of mappings, but it is ${describe(value)}.`, where));
    return [];
  }
  const entries: JsonObject[] = [];
  value.forEach((entry: unknown, index) => {
    const entryPath = `${path}[${index}]`;
    if (!isJsonObject(entry)) {
      errors.push(
        error(
          `${entryPath} must be a mapping of matrix keys to values, but it is ${describe(entry)}.`,
          where,
        ),
      );
    } else if (!isJsonValue(entry)) {
      errors.push(error(`${entryPath} holds a value that is not JSON.`, where));
    } else {
      if (Object.keys(entry).includes("")) errors.push(error(`${entryPath} has an empty key.`, where));
      checkKeysDifferInCase(Object.keys(entry), entryPath, where, errors);
      entries.push(entry);
    }
  });
  return entries;
}

function checkIncludeEntries(
  include: readonly JsonObject[],
  where: SourceLocation,
  errors: Diagnostic[],
): void {
  include.forEach((entry, index) => {
    if (Object.keys(entry).length === 0) {
      errors.push(
        error(
          `Matrix include mapping does not contain any values (strategy.matrix.include[${index}]): give it keys, or remove it.`,
          where,
        ),
      );
    }
  });
}

function checkExcludeEntries(
  exclude: readonly JsonObject[],
  vectors: readonly Vector[],
  where: SourceLocation,
  errors: Diagnostic[],
): void {
  const vectorNames = vectors.map((vector) => vector.name);
  exclude.forEach((entry, index) => {
    const keys = Object.keys(entry);
    if (keys.length === 0) {
      errors.push(
        error(
          `Matrix exclude filter must not be empty (strategy.matrix.exclude[${index}]): name the values to remove, or remove it.`,
          where,
        ),
      );
    }
    for (const key of keys) {
      if (!vectorNames.some((name) => sameKey(name, key))) {
        errors.push(
          error(
            `Matrix exclude key '${key}' does not match any key within the matrix (strategy.matrix.exclude[${index}]): exclude can only name vectors${listNames(vectorNames)}, not keys added by include.`,
            where,
          ),
        );
      }
    }
  });
}

/** GitHub's matrix keys ignore case, so two keys that differ only in case are the same key twice. */
function checkKeysDifferInCase(
  keys: readonly string[],
  path: string,
  where: SourceLocation,
  errors: Diagnostic[],
): void {
  keys.forEach((key, index) => {
    const twin = keys.slice(0, index).find((earlier) => sameKey(earlier, key));
    if (twin !== undefined) {
      errors.push(
        error(
          `${path} has keys '${twin}' and '${key}' that differ only in case; GitHub ignores case in matrix keys, so rename one.`,
          where,
        ),
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Expansion

/**
 * A filter is one `include` or `exclude` entry as GitHub compiles it: one comparison
 * `matrix.<path> == <leaf>` per scalar leaf, all of which must hold. A nested mapping therefore
 * matches any value that has at least those leaves, and `==` is GitHub's expression equality
 * (strings ignore case, a string and a number compare as numbers).
 */
type Filter = readonly FilterLeaf[];

interface FilterLeaf {
  readonly path: readonly PathStep[];
  readonly expected: null | boolean | number | string;
}

type PathStep = string | number;

interface IncludeEntry {
  /** The pairs whose key is a vector: they select the combinations the entry extends. */
  readonly selector: readonly Entry[];
  readonly filter: Filter;
  /** The other pairs: added to every combination the entry selects. */
  readonly extra: readonly Entry[];
}

function expandMatrix(spec: MatrixSpec, where: SourceLocation): Result<MatrixConfiguration[]> {
  const productSize = spec.vectors.reduce(
    (size, vector) => size * vector.values.length,
    spec.vectors.length > 0 ? 1 : 0,
  );
  if (productSize > MAX_ENUMERATED_COMBINATIONS) {
    return failed([
      error(
        `The matrix's vectors multiply to ${productSize} combinations, far more than GitHub's limit of ${MAX_MATRIX_CONFIGURATIONS} jobs per matrix: ${tooManyAdvice}`,
        where,
      ),
    ]);
  }
  const vectorNames = spec.vectors.map((vector) => vector.name);
  const excludes = spec.exclude.map((entry) => compileFilter(Object.entries(entry)));
  const includes = spec.include.map((entry) => compileInclude(entry, vectorNames));
  const matched = includes.map(() => false);
  const configurations: MatrixConfiguration[] = [];

  for (const combination of crossProduct(spec.vectors, productSize)) {
    // `exclude` applies first, so `include` can add back a combination it removed.
    if (excludes.some((filter) => matches(filter, combination))) continue;
    const extra: Entry[] = [];
    includes.forEach((include, index) => {
      if (!matches(include.filter, combination)) return;
      matched[index] = true;
      for (const pair of include.extra) mergeEntry(extra, pair);
    });
    // The name comes from the combination before include extends it.
    configurations.push(configuration([...combination, ...extra], nameValues(combination)));
  }

  // Entries that extended no combination become combinations of their own, in the order written.
  includes.forEach((include, index) => {
    if (matched[index]) return;
    const entries = [...include.selector, ...include.extra];
    configurations.push(configuration(entries, nameValues(entries)));
  });

  if (configurations.length > MAX_MATRIX_CONFIGURATIONS) {
    return failed([
      error(
        `The strategy produced ${configurations.length} configurations, which exceeds GitHub's maximum of ${MAX_MATRIX_CONFIGURATIONS}: ${tooManyAdvice}`,
        where,
      ),
    ]);
  }
  return ok(configurations);
}

const tooManyAdvice = "remove values, add exclude entries, or split the matrix across several jobs.";

function configuration(entries: readonly Entry[], values: readonly string[]): MatrixConfiguration {
  // fromEntries defines own properties, so a key such as `__proto__` stays a key.
  return { matrix: Object.fromEntries(entries), nameValues: values };
}

/** Every combination of one value per vector, the first vector varying slowest. */
function* crossProduct(vectors: readonly Vector[], productSize: number): Generator<Entry[]> {
  for (let index = 0; index < productSize; index++) {
    let blockSize = productSize;
    yield vectors.map((vector): Entry => {
      blockSize /= vector.values.length;
      return [vector.name, vector.values[Math.floor(index / blockSize) % vector.values.length] as JsonValue];
    });
  }
}

function compileInclude(entry: JsonObject, vectorNames: readonly string[]): IncludeEntry {
  const pairs = Object.entries(entry);
  const isVector = ([key]: Entry): boolean => vectorNames.some((name) => sameKey(name, key));
  const selector = pairs.filter(isVector);
  return { selector, filter: compileFilter(selector), extra: pairs.filter((pair) => !isVector(pair)) };
}

function compileFilter(pairs: readonly Entry[]): Filter {
  return pairs.flatMap(([key, value]) => leaves([key], value));
}

function leaves(path: readonly PathStep[], value: JsonValue): FilterLeaf[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => leaves([...path, index], item));
  if (isJsonObject(value))
    return Object.entries(value).flatMap(([key, item]) => leaves([...path, key], item));
  return [{ path, expected: value }];
}

function matches(filter: Filter, combination: readonly Entry[]): boolean {
  return filter.every(({ path, expected }) => {
    const [first, ...rest] = path;
    const top = combination.find(([key]) => sameKey(key, String(first)))?.[1];
    const actual = rest.reduce<JsonValue | undefined>((value, step) => indexInto(value, step), top);
    return expressionEquals(actual ?? null, expected);
  });
}

/** `value[step]` as GitHub's expressions read it; undefined where they read null. */
function indexInto(value: JsonValue | undefined, step: PathStep): JsonValue | undefined {
  if (Array.isArray(value)) {
    const index = Number(step);
    return Number.isFinite(index) && index >= 0 ? value[Math.floor(index)] : undefined;
  }
  if (isJsonObject(value)) {
    const key = Object.keys(value).find((candidate) => sameKey(candidate, String(step)));
    return key === undefined ? undefined : value[key];
  }
  return undefined;
}

/** GitHub's `==`. Arrays and objects never equal a scalar. */
function expressionEquals(actual: JsonValue, expected: null | boolean | number | string): boolean {
  if (typeof actual === "object" && actual !== null) return false;
  return equals(toScalarData(actual), toScalarData(expected));
}

function toScalarData(value: null | boolean | number | string): data.ExpressionData {
  if (value === null) return new data.Null();
  if (typeof value === "boolean") return new data.BooleanData(value);
  if (typeof value === "number") return new data.NumberData(value);
  return new data.StringData(value);
}

/** Sets `pair` in `entries`: a later include overwrites an added value in place, keeping the first spelling of its key. */
function mergeEntry(entries: Entry[], pair: Entry): void {
  const index = entries.findIndex(([key]) => sameKey(key, pair[0]));
  if (index === -1) entries.push(pair);
  else entries[index] = [(entries[index] as Entry)[0], pair[1]];
}

function sameKey(a: string, b: string): boolean {
  // Lower case, as the expression evaluator's dictionaries compare keys.
  return a.toLowerCase() === b.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Names

/** The scalar values of `entries`, depth first, as GitHub writes them; nulls and empty strings are left out. */
function nameValues(entries: readonly Entry[]): string[] {
  return entries.flatMap(([, value]) => scalarTexts(value));
}

function scalarTexts(value: JsonValue): string[] {
  if (Array.isArray(value)) return value.flatMap(scalarTexts);
  if (isJsonObject(value)) return Object.values(value).flatMap(scalarTexts);
  if (value === null || value === "") return [];
  if (typeof value === "number") return [formatNumber(value)];
  return [String(value)];
}

/**
 * A number as GitHub writes it: .NET's `ToString("G15")`. Fifteen significant digits, no trailing
 * zeros, and scientific notation (`1E+15`, `1E-05`) below 1e-4 or from 1e15 on. YAML's `3.10` is
 * the number 3.1, so `python: [3.10]` names the job `test (3.1)`.
 */
function formatNumber(value: number): string {
  if (Object.is(value, -0)) return "-0";
  if (value === 0) return "0";
  const [mantissa = "", exponentText = "0"] = value.toExponential(14).split("e");
  const exponent = Number(exponentText);
  const sign = value < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "").replace(/0+$/, "");
  if (exponent < -4 || exponent >= 15) {
    const significand = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exponentSign = exponent < 0 ? "-" : "+";
    return `${sign}${significand}E${exponentSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const integer = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fraction = digits.slice(exponent + 1);
  return fraction === "" ? `${sign}${integer}` : `${sign}${integer}.${fraction}`;
}

// ---------------------------------------------------------------------------------------------
// Messages

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (isJsonObject(value)) return "a mapping";
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value)}`;
    case "number":
      return Number.isFinite(value) ? `the number ${value}` : `the non-JSON number ${value}`;
    case "boolean":
      return `the boolean ${value}`;
    case "undefined":
      return "undefined";
    default:
      return `a ${typeof value}, which is not JSON`;
  }
}

function jsonPreview(value: unknown): string {
  return isJsonValue(value) && typeof value !== "object" ? JSON.stringify(value) : "...";
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? " (this matrix has none)" : ` (${names.map((name) => `'${name}'`).join(", ")})`;
}
