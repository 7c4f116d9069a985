import { execFile } from "node:child_process";
import type { ExecFileOptions } from "node:child_process";
import { promisify } from "node:util";

/**
 * Runs a program to completion and gives its output as text. The promise form of `execFile` is made
 * on first use, so importing this module does not load `child_process` (short commands such as
 * `conveyor validate` never need it).
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: ExecFileOptions,
): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(file, args, { ...options, encoding: "utf8" });
}
