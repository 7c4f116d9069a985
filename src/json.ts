/**
 * JSON values: what `fromJSON`, `toJSON` and evaluated templates produce, and what contexts such as
 * `matrix` hold.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

/** A mapping: a plain object, not an array, not null. */
export function isJsonObject(value: unknown): value is JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Deep check: only null, booleans, finite numbers, strings, arrays and plain objects, all the way down. */
export function isJsonValue(value: unknown): value is JsonValue {
  switch (typeof value) {
    case "boolean":
    case "string":
      return true;
    case "number":
      // JSON has no NaN or Infinity.
      return Number.isFinite(value);
    case "object":
      if (value === null) return true;
      if (Array.isArray(value)) return value.every(isJsonValue);
      return isJsonObject(value) && Object.values(value).every(isJsonValue);
    default:
      return false;
  }
}

/** Exact deep equality: same types, same strings (case matters), same keys in any order. */
export function jsonEquals(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return (
      Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEquals(item, b[i] as JsonValue))
    );
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && jsonEquals(a[key] as JsonValue, b[key] as JsonValue))
    );
  }
  return false;
}
