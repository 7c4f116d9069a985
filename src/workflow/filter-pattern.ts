/**
 * GitHub's filter patterns for `branches`, `tags`, `paths` (and their `-ignore` twins), `types` and
 * `workflow_run.workflows`: the "Filter pattern cheat sheet" of "Workflow syntax for GitHub Actions".
 *
 * A pattern becomes an anchored regular expression that must match the whole value:
 * - `*` matches any characters except `/`; `**` matches any characters, and a `/` right after `**`
 *   is swallowed, so `**` + `/README.md` also matches `README.md` (and `myREADME.md`, as on GitHub);
 *   three `*` in a row are an error.
 * - `?` makes the preceding character optional and `+` repeats it (they are quantifiers, not
 *   wildcards); neither may follow `*`, `**` or each other (GitHub rejects `C++`).
 * - `[...]` lists letters, digits and ranges of them, optionally negated with a leading `^`.
 * - `\` escapes the next character; `\d \w \s` (and capitals) are GitHub's regular-expression classes.
 * - A leading `!` negates the pattern; anywhere else `!` is an ordinary character.
 *
 * In a list the patterns are applied in order and the last one that matches decides: a positive
 * pattern includes the value, a negative one excludes it; a value no pattern matches is excluded.
 * So a list of only negative patterns includes nothing (GitHub accepts such a list silently).
 */
import { type Diagnostic, type Result, error, failed, ok } from "../diagnostic.js";

export interface FilterPattern {
  /** The pattern as written, `!` included. */
  readonly source: string;
  readonly negated: boolean;
  readonly regex: RegExp;
}

export interface FilterMatcher {
  readonly patterns: readonly FilterPattern[];
  /** Whether the ordered list includes `value` (the last matching pattern decides). */
  matches(value: string): boolean;
  /** The last pattern that matches `value`, which is the one that decided; for explanations. */
  decidingPattern(value: string): FilterPattern | undefined;
}

/** Compiles one pattern; the error names the pattern, the place and what is allowed. */
export function compilePattern(source: string): Result<FilterPattern> {
  const negated = source.startsWith("!");
  const body = negated ? source.slice(1) : source;
  const translated = translate(body);
  if (typeof translated !== "string") {
    const place =
      translated.position === undefined ? "" : ` at position ${translated.position + (negated ? 2 : 1)}`;
    return failed([error(`invalid filter pattern '${source}'${place}: ${translated.problem}`)]);
  }
  return ok({ source, negated, regex: new RegExp(`^(?:${translated})$`, "u") });
}

/** Compiles an ordered list; every invalid pattern gets its own error, in list order. */
export function compileFilter(sources: readonly string[]): Result<FilterMatcher> {
  const patterns: FilterPattern[] = [];
  const errors: Diagnostic[] = [];
  for (const source of sources) {
    const compiled = compilePattern(source);
    if (compiled.ok) patterns.push(compiled.value);
    else errors.push(...compiled.errors);
  }
  if (errors.length > 0) return failed(errors);
  return ok(filterMatcher(patterns));
}

function filterMatcher(patterns: readonly FilterPattern[]): FilterMatcher {
  const decidingPattern = (value: string): FilterPattern | undefined =>
    patterns.findLast((pattern) => pattern.regex.test(value));
  return {
    patterns,
    decidingPattern,
    matches: (value) => {
      const decider = decidingPattern(value);
      return decider !== undefined && !decider.negated;
    },
  };
}

interface Problem {
  readonly problem: string;
  /** Zero-based index into the pattern without its `!`. */
  readonly position?: number;
}

/** What the previous piece of the expression was, to decide what `?` and `+` may follow. */
type Previous = "nothing" | "atom" | "optional" | "repeated";

/** Translates a pattern body (without `!`) to a RegExp source, or says what is wrong with it. */
function translate(body: string): string | Problem {
  const chars = Array.from(body);
  let out = "";
  let previous: Previous = "nothing";
  let i = 0;
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === "\\") {
      const escaped = translateEscape(chars[i + 1]);
      if (typeof escaped !== "string") return { ...escaped, position: i };
      out += escaped;
      previous = "atom";
      i += 2;
    } else if (c === "*") {
      const run = runLength(chars, i, "*");
      if (run > 2)
        return { problem: `${run} '*' in a row: use '*' (no '/') or '**' (anything)`, position: i };
      let next = i + run;
      if (run === 2 && chars[next] === "/") next += 1;
      const follower = chars[next];
      if (follower === "+" || follower === "?") {
        return { problem: `'${follower}' cannot follow '${"*".repeat(run)}'`, position: next };
      }
      // Go's `.` in GitHub's regexp matches anything but a newline.
      out += run === 2 ? "[^\\n]*" : "[^/]*";
      previous = "nothing";
      i = next;
    } else if (c === "?" || c === "+") {
      const run = runLength(chars, i, c);
      if (run > 1) return { problem: `'${c}' cannot follow '${c}'`, position: i + 1 };
      if (previous === "optional" || previous === "repeated") {
        return { problem: `'${c}' cannot follow '${previous === "optional" ? "?" : "+"}'`, position: i };
      }
      // At the start there is nothing to quantify: GitHub's regexp treats it as a no-op.
      if (previous === "atom") out += c;
      previous = c === "?" ? "optional" : "repeated";
      i += 1;
    } else if (c === "[") {
      const range = translateRange(chars, i);
      if ("problem" in range) return range;
      out += range.source;
      previous = "atom";
      i = range.end;
    } else {
      out += escapeRegExp(c);
      previous = "atom";
      i += 1;
    }
  }
  return out;
}

function runLength(chars: readonly string[], start: number, char: string): number {
  let end = start;
  while (chars[end] === char) end += 1;
  return end - start;
}

/** GitHub hands `\x` to its regular-expression engine, so letters there are regexp escapes. */
const escapeClasses: Readonly<Record<string, string>> = {
  d: "[0-9]",
  D: "[^0-9]",
  w: "[0-9A-Za-z_]",
  W: "[^0-9A-Za-z_]",
  s: "[\\t\\n\\f\\r ]",
  S: "[^\\t\\n\\f\\r ]",
  t: "\\t",
  n: "\\n",
  r: "\\r",
  f: "\\f",
  v: "\\v",
  a: "\\x07",
};

function translateEscape(next: string | undefined): string | Problem {
  if (next === undefined) return { problem: "'\\' at the end escapes nothing" };
  if (!/^[0-9A-Za-z]$/u.test(next)) return escapeRegExp(next);
  const cls = escapeClasses[next];
  if (cls !== undefined) return cls;
  return {
    problem: `'\\${next}' is not supported: '\\' escapes a special character (such as \\* \\? \\+ \\[ \\!), or is one of \\d \\w \\s \\D \\W \\S`,
  };
}

/** `[` ... `]`: letters and digits, ranges within one kind, optionally negated with `^`. */
function translateRange(chars: readonly string[], open: number): { source: string; end: number } | Problem {
  let close = open + 1;
  while (close < chars.length && chars[close] !== "]") close += 1;
  const content = chars.slice(open + 1, close).join("");
  if (close >= chars.length) {
    return content === ""
      ? { problem: "'[' has no closing ']'", position: open }
      : { problem: `'[${content}' has no closing ']'`, position: open };
  }
  if (content === "") return { problem: "'[]' lists no characters", position: open };
  const items = content.startsWith("^") ? content.slice(1) : content;
  if (!/^(?:[0-9](?:-[0-9])?|[A-Za-z](?:-[A-Za-z])?)+$/u.test(items)) {
    return {
      problem: `'[${content}]' may list only letters, digits and ranges such as a-z, A-Z, 0-9 (with an optional leading ^)`,
      position: open,
    };
  }
  for (const [, from, to] of items.matchAll(/([0-9A-Za-z])-([0-9A-Za-z])/gu)) {
    if ((from as string) > (to as string)) {
      return { problem: `range '${from}-${to}' in '[${content}]' is backwards`, position: open };
    }
  }
  return { source: `[${content}]`, end: close + 1 };
}

function escapeRegExp(char: string): string {
  return /[\\^$.*+?()[\]{}|/]/u.test(char) ? `\\${char}` : char;
}
