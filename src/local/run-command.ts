import { runToEnd } from "../runner/child-start.js";

export interface RunCommandOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Output beyond this many bytes on a stream is a failure (default 64 MiB). */
  readonly maxBuffer?: number;
}

/**
 * Runs a program to completion and gives its output as text; a program that fails (does not start,
 * exits non-zero) rejects with an Error that carries its stderr, as `execFile` does.
 */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  const result = await runToEnd(file, args, options);
  if (result.ok) return { stdout: result.stdout, stderr: result.stderr };
  const failure = new Error(`Command failed: ${[file, ...args].join(" ")}\n${result.stderr}`);
  Object.assign(failure, { code: result.code, stdout: result.stdout, stderr: result.stderr });
  throw failure;
}
