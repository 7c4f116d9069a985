/**
 * Several commands started by one shell, at once. Starting a process is most of what a short git
 * command costs: commands that can run together go through one `sh`, whose forks are cheap.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToEnd } from "../runner/child-start.js";

/** What one command gave: its output, or why it failed (`missing`: the program is not installed). */
export type CommandOutput =
  | { readonly ok: true; readonly stdout: string }
  | { readonly ok: false; readonly missing: boolean; readonly stderr: string };

/** The shell's exit code for a command it cannot find. */
const COMMAND_NOT_FOUND = 127;

/**
 * Runs shell fragments at once from one `sh` in `dir` (`"$1"` in a fragment), each in a subshell
 * writing its output to files of its own (outputs may hold NUL bytes, which a shell variable
 * cannot), and gives each one's output. Starts at once: the shell is running when this returns.
 */
export async function runShellTogether(
  dir: string,
  fragments: readonly string[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<CommandOutput[]> {
  const outputs = mkdtempSync(join(tmpdir(), "conveyor-sh-"));
  try {
    const script = [
      ...fragments.map(
        (fragment, i) =>
          `( ${fragment}\n) >"$2/${i}.out" 2>"$2/${i}.err" </dev/null; echo $? >"$2/${i}.code" &`,
      ),
      "wait",
    ].join("\n");
    const shell = await runToEnd("sh", ["-c", script, "sh", dir, outputs], { env });
    return fragments.map((_, i): CommandOutput => {
      if (!shell.ok) return { ok: false, missing: shell.missing, stderr: shell.stderr };
      const read = (suffix: string): string => {
        try {
          return readFileSync(join(outputs, `${i}.${suffix}`), "utf8");
        } catch {
          return ""; // the shell was stopped before this command ended
        }
      };
      const code = Number(read("code").trim() || Number.NaN);
      if (code === 0) return { ok: true, stdout: read("out") };
      return { ok: false, missing: code === COMMAND_NOT_FOUND, stderr: read("err") };
    });
  } finally {
    rmSync(outputs, { recursive: true, force: true });
  }
}

/** A git command as a fragment for `runShellTogether`, run in its folder. */
export function gitFragment(args: readonly string[]): string {
  return `git -C "$1" ${args.map(shellQuote).join(" ")}`;
}

/** One word for `sh`, quoted so that nothing in it is interpreted. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}
