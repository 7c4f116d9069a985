/**
 * The few processes built-in actions start (git, node, python, npm): found on the job's PATH, run
 * with the job's environment, stopped with the step. A thin adapter: nothing here interprets output.
 */
import { execFile } from "node:child_process";
import { findProgram } from "../../runner/shell.js";

export interface CommandOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface CommandResult {
  /** The exit code; -1 when the command could not be started (then `stderr` says why). */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      {
        cwd: options.cwd,
        env: { ...options.env },
        signal: options.signal,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ exitCode: 0, stdout, stderr });
        const code = (error as { code?: unknown }).code;
        if (typeof code === "number") return resolve({ exitCode: code, stdout, stderr });
        resolve({ exitCode: -1, stdout, stderr: stderr === "" ? error.message : stderr });
      },
    );
  });
}

/** Runs a command that must succeed; its error output becomes the thrown message. */
export async function runChecked(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<string> {
  const result = await runCommand(command, args, options);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim() || result.stdout.trim() || `exit code ${result.exitCode}`;
    throw new Error(`\`${command} ${args.join(" ")}\` failed: ${detail}`);
  }
  return result.stdout;
}

/** The first executable file named `name` in the PATH of `env`, as a shell would find it. */
export function findExecutable(name: string, env: Readonly<Record<string, string>>): string | undefined {
  return findProgram(name, env.PATH ?? env.Path ?? "");
}
