/**
 * Reads the dotenv files act users pass with --secret-file, --var-file, --env-file and
 * --input-file: `KEY=value` lines, `#` comments, optional `export `, single or double quotes
 * (double quotes understand \n, \t, \" and \\ and may span lines).
 */
import { error, failed, ok } from "../diagnostic.js";
import type { Diagnostic, Result } from "../diagnostic.js";

export function parseDotenv(text: string, file: string): Result<Record<string, string>> {
  const values: Record<string, string> = {};
  const errors: Diagnostic[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const body = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = body.indexOf("=");
    const at = { file, line: i + 1, column: 1 };
    if (eq <= 0) {
      errors.push(error("expected KEY=value (a name, '=', then the value).", at));
      continue;
    }
    const key = body.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      errors.push(error(`'${key}' is not a valid name: use letters, digits and underscores.`, at));
      continue;
    }
    let value = body.slice(eq + 1).trim();
    if (value.startsWith('"')) {
      // A double-quoted value may continue on the following lines until its closing quote.
      let text = value.slice(1);
      while (!hasClosingQuote(text) && i + 1 < lines.length) text += "\n" + (lines[++i] as string);
      const end = closingQuoteIndex(text);
      if (end < 0) {
        errors.push(error(`the value of ${key} has no closing double quote.`, at));
        continue;
      }
      value = unescapeDouble(text.slice(0, end));
    } else if (value.startsWith("'")) {
      const end = value.indexOf("'", 1);
      if (end < 0) {
        errors.push(error(`the value of ${key} has no closing single quote.`, at));
        continue;
      }
      value = value.slice(1, end);
    } else {
      const comment = value.search(/\s#/);
      if (comment >= 0) value = value.slice(0, comment).trimEnd();
    }
    values[key] = value;
  }
  return errors.length > 0 ? failed(errors) : ok(values);
}

function closingQuoteIndex(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function hasClosingQuote(text: string): boolean {
  return closingQuoteIndex(text) >= 0;
}

function unescapeDouble(text: string): string {
  return text.replace(/\\(.)/g, (_, ch: string) =>
    ch === "n" ? "\n" : ch === "t" ? "\t" : ch === "r" ? "\r" : ch,
  );
}

/** `KEY=value` from the command line; a bare `KEY` takes its value from `fallback` (the environment). */
export function parseAssignment(
  text: string,
  option: string,
  fallback?: (key: string) => string | undefined,
): Result<[string, string]> {
  const eq = text.indexOf("=");
  if (eq === 0) return failed([error(`${option} ${text}: the name before '=' is missing.`)]);
  if (eq < 0) {
    const value = fallback?.(text);
    if (value === undefined) {
      return failed([
        error(
          `${option} ${text}: give a value (${option} ${text}=value)${fallback ? " or set it in the environment" : ""}.`,
        ),
      ]);
    }
    return ok([text, value]);
  }
  return ok([text.slice(0, eq), text.slice(eq + 1)]);
}
