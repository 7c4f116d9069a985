/**
 * How a `run:` step's script is invoked: GitHub's shell keywords and templates (the runner's
 * ScriptHandler and the "jobs.<job_id>.steps[*].shell" docs), resolved against this host.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

export interface Shell {
  /** What the runner prints as `shell:` (the template with the resolved program). */
  readonly display: string;
  /** The script file's extension. */
  readonly extension: string;
  /** Text wrapped around the script, as the runner does for PowerShell. */
  readonly prefix: string;
  readonly suffix: string;
  /** The program (resolved, e.g. /usr/bin/bash) and its arguments for a script file. */
  readonly invocation: (scriptPath: string) => { readonly command: string; readonly args: readonly string[] };
}

export type ShellResolution =
  ({ readonly ok: true } & Shell) | { readonly ok: false; readonly message: string };

interface KnownShell {
  readonly program: string;
  readonly template: string;
  readonly extension: string;
  readonly prefix?: string;
  readonly suffix?: string;
}

const KNOWN_SHELLS: Readonly<Record<string, KnownShell>> = {
  bash: { program: "bash", template: "--noprofile --norc -eo pipefail {0}", extension: ".sh" },
  sh: { program: "sh", template: "-e {0}", extension: ".sh" },
  python: { program: "python", template: "{0}", extension: ".py" },
  node: { program: "node", template: "{0}", extension: ".js" },
  pwsh: {
    program: "pwsh",
    template: "-command \". '{0}'\"",
    extension: ".ps1",
    prefix: "$ErrorActionPreference = 'stop'\n",
    suffix: "\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) { exit $LASTEXITCODE }",
  },
  powershell: {
    program: "powershell",
    template: "-command \". '{0}'\"",
    extension: ".ps1",
    prefix: "$ErrorActionPreference = 'stop'\n",
    suffix: "\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) { exit $LASTEXITCODE }",
  },
};

/** Other programs tried when a keyword's program is missing here (Debian has python3, not python). */
const FALLBACK_PROGRAMS: Readonly<Record<string, readonly string[]>> = { python: ["python3"] };

/**
 * Resolves a step's `shell` (undefined: the default, bash if present else sh, both with `-e`).
 * `path` is the PATH the step will see.
 */
export function resolveShell(shell: string | undefined, path: string): ShellResolution {
  const find = (program: string): string | undefined => findProgram(program, path);
  if (shell === undefined || shell.trim() === "") {
    const bash = find("bash");
    if (bash) return fromTemplate(bash, "-e {0}", ".sh");
    const sh = find("sh");
    if (sh) return fromTemplate(sh, "-e {0}", ".sh");
    return {
      ok: false,
      message: "neither bash nor sh is on the PATH: install one, or set `shell:` for the step.",
    };
  }
  const trimmed = shell.trim();
  const known = KNOWN_SHELLS[trimmed];
  if (known) {
    const program = [known.program, ...(FALLBACK_PROGRAMS[trimmed] ?? [])]
      .map(find)
      .find((p) => p !== undefined);
    if (!program) {
      return {
        ok: false,
        message: `shell '${trimmed}' is not installed here: '${known.program}' was not found on the PATH. Install it, or choose another shell.`,
      };
    }
    return fromTemplate(program, known.template, known.extension, known.prefix, known.suffix);
  }
  // A custom shell: `command [options] {0} [more options]`.
  const words = splitCommandLine(trimmed);
  const programName = words[0] ?? "";
  const program = find(programName);
  if (!program) {
    return {
      ok: false,
      message: `shell '${trimmed}': '${programName}' was not found on the PATH. Install it, or choose another shell.`,
    };
  }
  const rest = trimmed.slice(trimmed.indexOf(programName) + programName.length).trim();
  if (rest !== "" && !rest.includes("{0}")) {
    return {
      ok: false,
      message: `shell '${trimmed}' does not say where the script goes: write {0} for the script's path, e.g. '${programName} ${rest} {0}'.`,
    };
  }
  return fromTemplate(program, rest === "" ? "{0}" : rest, "");
}

function fromTemplate(
  program: string,
  template: string,
  extension: string,
  prefix = "",
  suffix = "",
): ShellResolution {
  return {
    ok: true,
    display: `${program} ${template}`,
    extension,
    prefix,
    suffix,
    invocation: (scriptPath) => ({
      command: program,
      args: splitCommandLine(template).map((arg) => arg.split("{0}").join(scriptPath)),
    }),
  };
}

/** Splits like the runner's argument parser: spaces separate, double quotes group, quotes removed. */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let current = "";
  let quoted = false;
  let inWord = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (ch === " " && !quoted) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** The full path of an executable on `path`, or undefined. */
export function findProgram(program: string, path: string): string | undefined {
  if (program === "") return undefined;
  const candidates =
    isAbsolute(program) || program.includes("/")
      ? [program]
      : path
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      // Most PATH entries lack the program: asking without an exception keeps a lookup cheap.
      if (!statSync(candidate, { throwIfNoEntry: false })?.isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here (not a folder, or not executable)
    }
  }
  return undefined;
}
