/**
 * Reading a built-in action's inputs the way `@actions/core` does, and the result values main and
 * post steps return. Inputs arrive as strings; names are matched without regard to case, as the
 * runner's `INPUT_<NAME>` variables make them for JavaScript actions.
 */
import type { BuiltinContext, BuiltinResult } from "./types.js";

type Inputs = Pick<BuiltinContext, "inputs">;

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string; readonly unavailableOnHost?: boolean };

export const SUCCEEDED: BuiltinResult = { ok: true };

/** A failed step; `unavailableOnHost`: because this host lacks what it asks for (see BuiltinResult). */
export function failedWith(message: string, unavailableOnHost = false): BuiltinResult {
  return unavailableOnHost ? { ok: false, message, unavailableOnHost } : { ok: false, message };
}

export function checked<T>(value: T): Checked<T> {
  return { ok: true, value };
}

export function refused<T>(message: string): Checked<T> {
  return { ok: false, message };
}

/** Refused because this host lacks what was asked for (a toolchain version), not for a mistake. */
export function unavailable<T>(message: string): Checked<T> {
  return { ok: false, message, unavailableOnHost: true };
}

/** `core.getInput`: trimmed, `''` when absent. */
export function readInput(context: Inputs, name: string): string {
  const exact = context.inputs[name];
  if (exact !== undefined) return exact.trim();
  const lower = name.toLowerCase();
  const found = Object.entries(context.inputs).find(([key]) => key.toLowerCase() === lower);
  return found ? found[1].trim() : "";
}

/** `core.getMultilineInput`: one value a line, each trimmed, empty lines dropped. */
export function readInputLines(context: Inputs, name: string): string[] {
  return readInput(context, name)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** The lenient reading most actions use (`value.toUpperCase() === 'TRUE'`); empty means the default. */
export function readFlag(context: Inputs, name: string, defaultValue: boolean): boolean {
  const value = readInput(context, name);
  return value === "" ? defaultValue : value.toUpperCase() === "TRUE";
}

/** `core.getBooleanInput`: only YAML 1.2 core booleans; anything else is a mistake to report. */
export function readStrictBoolean(context: Inputs, name: string, defaultValue: boolean): Checked<boolean> {
  const value = readInput(context, name);
  if (value === "") return checked(defaultValue);
  if (["true", "True", "TRUE"].includes(value)) return checked(true);
  if (["false", "False", "FALSE"].includes(value)) return checked(false);
  return refused(
    `Input '${name}' is '${value}', which is not a boolean. Use one of: true | True | TRUE | false | False | FALSE.`,
  );
}

/** An integer input (`parseInt` like the actions, but a value that is not a number is an error). */
export function readInteger(context: Inputs, name: string, defaultValue: number): Checked<number> {
  const value = readInput(context, name);
  if (value === "") return checked(defaultValue);
  const parsed = Number.parseInt(value, 10);
  if (Number.isNaN(parsed)) return refused(`Input '${name}' is '${value}', which is not a whole number.`);
  return checked(parsed);
}

export function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
