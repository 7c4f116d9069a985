/**
 * The environment files a step writes to talk to the runner (`GITHUB_ENV`, `GITHUB_OUTPUT`,
 * `GITHUB_STATE`, `GITHUB_PATH`), parsed exactly as actions/runner does (`FileCommandManager.cs`).
 * The caller reads the file (as UTF-8) after the step and applies what comes back.
 *
 * Like the runner, parsing stops at the first malformed entry; the entries before it still apply,
 * and the step fails with `error`.
 */

import type { Diagnostic } from "../diagnostic.js";

/** The key-value files. */
export type EnvFileKind = "GITHUB_ENV" | "GITHUB_OUTPUT" | "GITHUB_STATE";

export interface EnvFileEntry {
  /** As written: names are not trimmed. */
  readonly name: string;
  readonly value: string;
  /** One-based line of the name. */
  readonly line: number;
}

export interface EnvFileContents {
  /** Apply in order; a later entry with the same name wins. */
  readonly entries: readonly EnvFileEntry[];
  /** Entries the runner refuses (`NODE_OPTIONS` in GITHUB_ENV): report as error annotations; the step goes on. */
  readonly refused: readonly Diagnostic[];
  /** The first malformed entry: report it after `failureSummary(kind)` and fail the step. */
  readonly error?: Diagnostic;
}

export interface EnvFileOptions {
  /**
   * Whether `\r\n` ends a line, as on the Windows runner (the default). The Linux and macOS runner
   * split at `\n` only, so a CR stays at the end of names, values and delimiters: pass false to get
   * exactly that.
   */
  readonly crlf?: boolean;
}

/** Names GITHUB_ENV may not set (the runner's block list; compared ignoring case). */
const BLOCKED_ENV_NAMES: readonly string[] = ["NODE_OPTIONS"];

/** The runner's name for each file in its messages ("Unable to process file command 'env' ..."). */
const CONTEXT_NAMES: Readonly<Record<EnvFileKind | "GITHUB_PATH", string>> = {
  GITHUB_ENV: "env",
  GITHUB_OUTPUT: "output",
  GITHUB_STATE: "state",
  GITHUB_PATH: "path",
};

/** The runner's first error line when a file command fails; `error.message` is the second. */
export function failureSummary(kind: EnvFileKind): string {
  return `Unable to process file command '${CONTEXT_NAMES[kind]}' successfully.`;
}

/**
 * Parses `name=value` lines and `name<<DELIMITER` heredocs:
 *
 *     JSON_RESPONSE<<EOF
 *     {"a": 1}
 *     EOF
 *
 * Empty lines are skipped. The value of `name=value` is everything after the first `=`; a heredoc
 * value is the lines up to the first line that is exactly the delimiter, joined with their line
 * breaks. Whichever of `=` and `<<` comes first decides the form.
 */
export function parseEnvFile(text: string, kind: EnvFileKind, options: EnvFileOptions = {}): EnvFileContents {
  const reader = new LineReader(text.replace(/^\ufeff/, ""), options.crlf ?? true);
  const entries: EnvFileEntry[] = [];
  const refused: Diagnostic[] = [];
  const problem = (line: number, message: string): EnvFileContents => ({
    entries,
    refused,
    error: { severity: "error", message, location: { file: kind, line, column: 1 } },
  });

  for (let line = reader.next(); line !== undefined; line = reader.next()) {
    if (line.text === "") continue;
    const equals = line.text.indexOf("=");
    const heredoc = line.text.indexOf("<<");
    let entry: EnvFileEntry;
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = line.text.slice(0, equals);
      // The runner means to refuse this ("Name must not be empty") but checks the wrong variable and
      // sets a variable named "": refused here, since no process can be given such a variable.
      if (name === "") return problem(line.number, `Invalid format '${line.text}'. Name must not be empty`);
      entry = { name, value: line.text.slice(equals + 1), line: line.number };
    } else if (heredoc >= 0) {
      const name = line.text.slice(0, heredoc);
      const delimiter = line.text.slice(heredoc + 2);
      if (name === "" || delimiter === "") {
        return problem(
          line.number,
          `Invalid format '${line.text}'. Name must not be empty and delimiter must not be empty`,
        );
      }
      const value = reader.readUntil(delimiter);
      if (value === undefined) {
        return problem(
          line.number,
          `Invalid value. Matching delimiter not found '${delimiter}': the value of '${name}' starts on ` +
            `line ${line.number} and no line after it is exactly '${delimiter}'`,
        );
      }
      entry = { name, value, line: line.number };
    } else {
      return problem(
        line.number,
        `Invalid format '${line.text}': expected 'name=value' or 'name<<DELIMITER' (empty lines are skipped)`,
      );
    }

    const blocked = kind === "GITHUB_ENV" ? blockedEnvName(entry.name) : undefined;
    if (blocked !== undefined) {
      refused.push({
        severity: "error",
        message: `Can't store ${blocked} output parameter using '$GITHUB_ENV' command.`,
        location: { file: kind, line: entry.line, column: 1 },
      });
      continue;
    }
    entries.push(entry);
  }
  return { entries, refused };
}

function blockedEnvName(name: string): string | undefined {
  return BLOCKED_ENV_NAMES.find((blocked) => blocked === name.toUpperCase());
}

/**
 * GITHUB_PATH: one directory per line, empty lines skipped; a line ends at `\n`, `\r\n` or `\r` on
 * every platform (the runner reads it with `File.ReadAllLines`).
 */
export function parsePathFile(text: string): string[] {
  return text
    .replace(/^\ufeff/, "")
    .split(/\r\n|\r|\n/)
    .filter((line) => line !== "");
}

/**
 * The runner's prepend list after a step added `added`: each directory moves to the end (newest),
 * without duplicates. Directories added later come first in PATH (see `composePath`).
 */
export function addToPrependPath(prependPath: readonly string[], added: readonly string[]): string[] {
  const result = [...prependPath];
  for (const directory of added) {
    const existing = result.indexOf(directory);
    if (existing >= 0) result.splice(existing, 1);
    result.push(directory);
  }
  return result;
}

/** PATH for a step: the prepend list newest first, then the original PATH. */
export function composePath(prependPath: readonly string[], originalPath: string, separator = ":"): string {
  const prefix = [...prependPath].reverse().join(separator);
  if (prefix === "") return originalPath;
  return originalPath === "" ? prefix : prefix + separator + originalPath;
}

interface TextLine {
  readonly text: string;
  readonly number: number;
}

/** Reads lines and remembers where they are, so that a heredoc value keeps its own line breaks. */
class LineReader {
  private index = 0;
  private lineNumber = 0;

  constructor(
    private readonly text: string,
    private readonly crlf: boolean,
  ) {}

  next(): TextLine | undefined {
    const line = this.read();
    return line === undefined ? undefined : { text: line.text, number: this.lineNumber };
  }

  /**
   * The text up to the next line that is exactly `delimiter` (consumed), without the line break
   * before it; undefined when no such line follows.
   */
  readUntil(delimiter: string): string | undefined {
    const start = this.index;
    let end = start;
    for (let line = this.read(); line !== undefined; line = this.read()) {
      if (line.text === delimiter) return this.text.slice(start, end);
      end = this.index - line.breakLength;
    }
    return undefined;
  }

  private read(): { text: string; breakLength: number } | undefined {
    if (this.index >= this.text.length) return undefined;
    this.lineNumber += 1;
    const start = this.index;
    const lf = this.text.indexOf("\n", start);
    if (lf < 0) {
      this.index = this.text.length;
      return { text: this.text.slice(start), breakLength: 0 };
    }
    this.index = lf + 1;
    if (this.crlf && lf > start && this.text[lf - 1] === "\r") {
      return { text: this.text.slice(start, lf - 1), breakLength: 2 };
    }
    return { text: this.text.slice(start, lf), breakLength: 1 };
  }
}
