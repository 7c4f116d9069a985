/** Small readers over GitHub's template tokens, for the fields its model leaves out. */
import {
  isBasicExpression,
  isLiteral,
  isMapping,
  isSequence,
  isString,
} from "@actions/workflow-parser/templates/tokens/type-guards";
import type {
  MappingToken,
  SequenceToken,
  TemplateToken,
} from "@actions/workflow-parser/templates/tokens/index";
import type { SourceLocation } from "../diagnostic.js";

/** The value under `key` in a mapping (keys compared exactly, as YAML does). */
export function valueAt(mapping: MappingToken | undefined, key: string): TemplateToken | undefined {
  if (!mapping) return undefined;
  for (const pair of mapping) {
    if (isString(pair.key) && pair.key.value === key) return pair.value;
  }
  return undefined;
}

export function mappingAt(mapping: MappingToken | undefined, key: string): MappingToken | undefined {
  const value = valueAt(mapping, key);
  return value && isMapping(value) ? value : undefined;
}

export function sequenceAt(mapping: MappingToken | undefined, key: string): SequenceToken | undefined {
  const value = valueAt(mapping, key);
  return value && isSequence(value) ? value : undefined;
}

export function stringAt(mapping: MappingToken | undefined, key: string): string | undefined {
  const value = valueAt(mapping, key);
  return value && isString(value) ? value.value : undefined;
}

/** The location of the key itself (`runs-on:`), which reads better in errors than the value's. */
export function keyLocation(
  mapping: MappingToken,
  key: string,
  fileName: (fileId: number | undefined) => string,
): SourceLocation | undefined {
  for (const pair of mapping) {
    if (isString(pair.key) && pair.key.value === key) return locationOf(pair.key, fileName);
  }
  return undefined;
}

export function locationOf(
  token: TemplateToken,
  fileName: (fileId: number | undefined) => string,
): SourceLocation {
  return {
    file: fileName(token.file),
    line: token.range?.start.line ?? 1,
    column: token.range?.start.column ?? 1,
  };
}

/** A token tree as plain data; expressions are kept as their `${{ }}` text. */
export function tokenToPlain(token: TemplateToken): unknown {
  if (isMapping(token)) {
    const entries: [string, unknown][] = [];
    for (const pair of token) entries.push([String(pair.key), tokenToPlain(pair.value)]);
    return Object.fromEntries(entries);
  }
  if (isSequence(token)) return [...token].map(tokenToPlain);
  if (isBasicExpression(token)) return token.toDisplayString();
  if (isLiteral(token)) {
    const literal = token as unknown as { value?: unknown };
    return "value" in literal ? literal.value : null;
  }
  return null;
}

/** Finds the token at a path of keys and indexes below `token`. */
export function tokenAtPath(
  token: TemplateToken,
  path: readonly (string | number)[],
): TemplateToken | undefined {
  let current: TemplateToken | undefined = token;
  for (const step of path) {
    if (!current) return undefined;
    if (typeof step === "number")
      current = isSequence(current) && step < current.count ? current.get(step) : undefined;
    else if (isMapping(current)) current = valueAt(current, step);
    else return undefined;
  }
  return current;
}
