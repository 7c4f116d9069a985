/**
 * Checks a JSON body's fields before a handler reads them, so a bad request gets an answer naming
 * the field at fault rather than a failure deeper down.
 */
export type FieldType = "string" | "number" | "boolean" | "object" | "string[]";

export type Shape<T> = { readonly [K in keyof T]?: FieldType };

export type Checked<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Every field in `required` must be present with its type; other fields pass through unchecked. */
export function checkBody<T>(body: unknown, required: Shape<T>, optional: Shape<T> = {}): Checked<T> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, message: "the body must be a JSON object (Content-Type: application/json)." };
  }
  const record = body as Record<string, unknown>;
  for (const [field, type] of Object.entries(required) as [string, FieldType][]) {
    if (!(field in record))
      return { ok: false, message: `the field '${field}' is missing: it must be ${describe(type)}.` };
    if (!hasType(record[field], type))
      return { ok: false, message: `the field '${field}' must be ${describe(type)}.` };
  }
  for (const [field, type] of Object.entries(optional) as [string, FieldType][]) {
    if (field in record && record[field] !== undefined && !hasType(record[field], type)) {
      return { ok: false, message: `the field '${field}' must be ${describe(type)}.` };
    }
  }
  return { ok: true, value: body as T };
}

function hasType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case "string[]":
      return Array.isArray(value) && value.every((v) => typeof v === "string");
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

function describe(type: FieldType): string {
  return type === "string[]" ? "a list of strings" : type === "object" ? "an object" : `a ${type}`;
}
