/**
 * Typed reads of a webhook payload's fields by dotted path (`pull_request.head.sha`). Every field
 * that is missing or of the wrong type is noted with its full path, so one answer lists all that
 * is wrong with a body; the read itself returns a stand-in and goes on. Pure.
 */
import { type Diagnostic, type Result, error, failed, ok } from "../../diagnostic.js";
import type { JsonObject, JsonValue } from "../../json.js";
import { isJsonObject } from "../../json.js";

/** A git object id: SHA-1, or SHA-256 for repositories that use it. */
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/u;

/**
 * Part of what `git check-ref-format` refuses: control characters, space, ~ ^ : ? * [ \\, `..`,
 * `@{`, a leading `-` (an option to git) and a trailing `/`, `.` or `.lock`.
 */
function isRefName(text: string): boolean {
  if (/\.\.|@\{|[\s~^:?*[\\]|^-|[/.]$|\.lock$/u.test(text)) return false;
  return [...text].every((char) => char >= " " && char !== "\x7f");
}

export class PayloadFields {
  private constructor(
    readonly value: JsonObject,
    /** Where `value` sits in the payload: `""` at the top, else a path ending in a dot. */
    private readonly prefix: string,
    private readonly problems: string[],
  ) {}

  static of(root: JsonObject): PayloadFields {
    return new PayloadFields(root, "", []);
  }

  /** The field's raw value; undefined when any step of the path is absent or not an object. */
  get(path: string): JsonValue | undefined {
    let current: JsonValue | undefined = this.value;
    for (const key of path.split(".")) {
      if (!isJsonObject(current) || !Object.hasOwn(current, key)) return undefined;
      current = current[key];
    }
    return current;
  }

  string(path: string): string {
    const value = this.get(path);
    if (typeof value === "string" && value !== "") return value;
    this.note(path, value, "a non-empty string");
    return "";
  }

  /** One of the values listed; "" when it is none of them. */
  oneOf<T extends string>(path: string, values: readonly T[]): T | "" {
    const value = this.get(path);
    const found = values.find((wanted) => wanted === value);
    if (found !== undefined) return found;
    this.note(path, value, `one of ${values.map((v) => `'${v}'`).join(", ")}`);
    return "";
  }

  /** Absent, null and "" all read as undefined. */
  optionalString(path: string): string | undefined {
    const value = this.get(path);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") return value;
    this.note(path, value, "a string");
    return undefined;
  }

  number(path: string): number {
    const value = this.get(path);
    if (typeof value === "number") return value;
    this.note(path, value, "a number");
    return 0;
  }

  /** A pull request's number: a whole number from 1. */
  positiveInteger(path: string): number {
    const value = this.get(path);
    if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
    this.note(path, value, "a whole number from 1");
    return 0;
  }

  /** A full ref name (`refs/heads/main`), one git accepts. */
  ref(path: string): string {
    const value = this.get(path);
    if (typeof value === "string" && value.startsWith("refs/") && isRefName(value)) return value;
    this.note(path, value, "a full git ref such as refs/heads/main");
    return "";
  }

  /** A branch name (`main`, `feature/x`), one git accepts. */
  branch(path: string): string {
    const value = this.get(path);
    if (typeof value === "string" && value !== "" && isRefName(value)) return value;
    this.note(path, value, "a branch name");
    return "";
  }

  optionalNumber(path: string): number | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (typeof value === "number") return value;
    this.note(path, value, "a number");
    return undefined;
  }

  optionalBoolean(path: string): boolean | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (typeof value === "boolean") return value;
    this.note(path, value, "true or false");
    return undefined;
  }

  /** A git object id in lower-case hexadecimal. */
  sha(path: string): string {
    const value = this.get(path);
    if (typeof value === "string" && OBJECT_ID.test(value)) return value;
    this.note(path, value, "a commit id (40 hexadecimal digits)");
    return "";
  }

  optionalSha(path: string): string | undefined {
    const value = this.get(path);
    if (value === undefined || value === null || value === "") return undefined;
    return this.sha(path);
  }

  object(path: string): PayloadFields {
    return this.optionalObject(path) ?? this.missingObject(path);
  }

  /** Absent and null read as undefined. */
  optionalObject(path: string): PayloadFields | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (isJsonObject(value)) return new PayloadFields(value, `${this.prefix}${path}.`, this.problems);
    this.note(path, value, "an object");
    return undefined;
  }

  /** An array of objects; absent and null read as undefined. */
  optionalObjects(path: string): PayloadFields[] | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.note(path, value, "an array");
      return undefined;
    }
    return value.flatMap((item, index) => {
      const at = `${this.prefix}${path}[${index}].`;
      if (isJsonObject(item)) return [new PayloadFields(item, at, this.problems)];
      this.problems.push(`\`${at.slice(0, -1)}\` should be an object, not ${describe(item)}`);
      return [];
    });
  }

  /** An array of strings; absent and null read as undefined. */
  optionalStrings(path: string): string[] | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
    this.note(path, value, "an array of strings");
    return undefined;
  }

  /** The value read so far, or every problem noted, each naming `source` (`GitLab push payload`). */
  finish<T>(source: string, value: T): Result<T> {
    if (this.problems.length === 0) return ok(value);
    // A field read twice (by two readers of one payload) is reported once.
    return failed([...new Set(this.problems)].map((problem): Diagnostic => error(`${source}: ${problem}`)));
  }

  private missingObject(path: string): PayloadFields {
    if (this.get(path) === undefined || this.get(path) === null) this.note(path, undefined, "an object");
    return new PayloadFields({}, `${this.prefix}${path}.`, this.problems);
  }

  private note(path: string, value: JsonValue | undefined, wanted: string): void {
    const field = `\`${this.prefix}${path}\``;
    this.problems.push(
      value === undefined || value === null
        ? `${field} is missing; it should be ${wanted}`
        : `${field} should be ${wanted}, not ${describe(value)}`,
    );
  }
}

function describe(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return value === "" ? "an empty string" : `the string '${clip(value)}'`;
  return `${typeof value} ${String(value)}`;
}

/** Payload text shown in a message stays short. */
function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
