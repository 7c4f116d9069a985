/**
 * The contexts an expression reads (`github`, `env`, `matrix`, ...) and their conversion to and from
 * the data model of GitHub's evaluator (`@actions/expressions`).
 */
import { data } from "@actions/expressions";
import type { Pair } from "@actions/expressions/data/expressiondata";
import type { JsonObject, JsonValue } from "../json.js";

export type { JsonObject };

/** Every context name an expression may use. The workflow parser decides which are allowed where. */
export const CONTEXT_NAMES = [
  "github",
  "env",
  "vars",
  "secrets",
  "inputs",
  "matrix",
  "strategy",
  "needs",
  "steps",
  "job",
  "jobs",
  "runner",
] as const;

export type ContextName = (typeof CONTEXT_NAMES)[number];

/** The values of the contexts at one point of a run. An absent context reads as `null`. */
export type ExpressionContexts = { readonly [name in ContextName]?: JsonObject };

/**
 * Contexts whose keys are case-sensitive. GitHub's runner builds `env` as a case-sensitive dictionary
 * on Linux and macOS (`CaseSensitiveDictionaryContextData`, Windows excepted), because environment
 * variables are case-sensitive there; every other context ignores case.
 */
const CASE_SENSITIVE_CONTEXTS: ReadonlySet<ContextName> = new Set(["env"]);

/**
 * A dictionary keyed through a Map. The library's own Dictionary indexes keys in a plain object, so
 * keys such as `constructor`, `toString` or `__proto__` silently vanish from it. The evaluator only
 * knows `Kind.Dictionary`, so these keep that kind and replace the lookups. The first of two keys
 * that normalize alike wins, as in the library.
 */
class MapDictionary extends data.Dictionary {
  readonly #entries = new Map<string, Pair>();
  readonly #normalize: (key: string) => string;

  constructor(normalize: (key: string) => string) {
    super();
    this.#normalize = normalize;
  }

  override add(key: string, value: data.ExpressionData): void {
    const normalized = this.#normalize(key);
    if (!this.#entries.has(normalized)) this.#entries.set(normalized, { key, value });
  }

  override get(key: string): data.ExpressionData | undefined {
    return this.#entries.get(this.#normalize(key))?.value;
  }

  override values(): data.ExpressionData[] {
    return [...this.#entries.values()].map((pair) => pair.value);
  }

  override pairs(): Pair[] {
    return [...this.#entries.values()];
  }
}

/** GitHub's contexts ignore the case of keys (`github.EVENT_NAME`). */
export class CaseInsensitiveDictionary extends MapDictionary {
  constructor() {
    super((key) => key.toLowerCase());
  }
}

export class CaseSensitiveDictionary extends MapDictionary {
  constructor() {
    super((key) => key);
  }
}

/** JSON to the evaluator's data. Objects become case-insensitive dictionaries, as GitHub's contexts are. */
export function toExpressionData(value: JsonValue): data.ExpressionData {
  if (value === null) return new data.Null();
  if (typeof value === "boolean") return new data.BooleanData(value);
  if (typeof value === "number") return new data.NumberData(value);
  if (typeof value === "string") return new data.StringData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toExpressionData));
  return fillDictionary(new CaseInsensitiveDictionary(), value);
}

function fillDictionary(dictionary: data.Dictionary, object: JsonObject): data.Dictionary {
  for (const [key, item] of Object.entries(object)) dictionary.add(key, toExpressionData(item));
  return dictionary;
}

/** The evaluator's data back to JSON (filtered arrays from `.*` become plain arrays). */
export function fromExpressionData(value: data.ExpressionData): JsonValue {
  switch (value.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.Boolean:
    case data.Kind.Number:
    case data.Kind.String:
      return value.value;
    case data.Kind.Array:
      return value.values().map(fromExpressionData);
    case data.Kind.Dictionary:
      // fromEntries defines keys as own properties, so a key like `__proto__` stays a key.
      return Object.fromEntries(value.pairs().map(({ key, value: item }) => [key, fromExpressionData(item)]));
  }
}

/** The top-level dictionary the evaluator reads context names from: every name present, absent ones null. */
export function contextsToDictionary(contexts: ExpressionContexts): data.Dictionary {
  const root = new CaseInsensitiveDictionary();
  for (const name of CONTEXT_NAMES) {
    const value = contexts[name];
    if (value === undefined) root.add(name, new data.Null());
    else if (CASE_SENSITIVE_CONTEXTS.has(name))
      root.add(name, fillDictionary(new CaseSensitiveDictionary(), value));
    else root.add(name, toExpressionData(value));
  }
  return root;
}
