/** Small readers over GitHub's template tokens, for the fields its model leaves out. */
import { isMapping, isSequence, isString } from "@actions/workflow-parser/templates/tokens/type-guards";
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
