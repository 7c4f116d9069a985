/**
 * Secret masking as GitHub's runner does it (`SecretMasker`, `ValueEncoders` in actions/runner,
 * registered in `HostContext`): every registered value, and every encoded form of it a step might
 * print, is replaced by `***`. There is no minimum length: a one-character secret is masked too.
 *
 * Mask whole lines. A secret cut across two pieces of output is not found in either piece, so apply
 * `mask` to each complete line that `LineSplitter` yields, never to raw chunks.
 */

import { Buffer } from "node:buffer";

/** Turns a secret into another form in which it may show up in a log; "" when the form does not apply. */
export type ValueEncoder = (value: string) => string;

/** What the runner prints in place of a secret. */
export const MASK = "***";

/** The encoders the runner registers, in its order (actions/runner `HostContext`). */
export const RUNNER_VALUE_ENCODERS: readonly ValueEncoder[] = [
  base64Escape,
  (value) => base64EscapeShifted(value, 1),
  (value) => base64EscapeShifted(value, 2),
  commandLineArgumentEscape,
  expressionStringEscape,
  jsonStringEscape,
  uriDataEscape,
  xmlDataEscape,
  trimDoubleQuotes,
  powerShellPreAmpersandEscape,
  powerShellPostAmpersandEscape,
];

export class SecretMasker {
  private readonly encoders: readonly ValueEncoder[];
  private readonly added = new Set<string>();
  private readonly patterns = new Set<string>();
  /** One alternation of every pattern, longest first; rebuilt lazily after `add`. */
  private matcher: RegExp | undefined;
  /** Texts masked by scanning since the last `add` (see `mask`). */
  private scanned = 0;

  constructor(encoders: readonly ValueEncoder[] = RUNNER_VALUE_ENCODERS) {
    this.encoders = encoders;
  }

  /** Every string that `mask` replaces: the values, their trimmed lines and their encoded forms. */
  get values(): ReadonlySet<string> {
    return this.patterns;
  }

  /**
   * Registers a secret the way `::add-mask::` does: the value as given, and each of its lines
   * trimmed, because child processes print secrets one line at a time. Empty and blank values are
   * ignored (masking every space would make logs unreadable; the runner refuses them too).
   */
  add(value: string): void {
    if (isDotNetBlank(value)) return;
    this.addValue(value);
    for (const line of value.split(/[\r\n]/)) {
      const trimmed = dotNetTrim(line);
      if (trimmed !== "") this.addValue(trimmed);
    }
  }

  /** Replaces every registered value in `text` by `***`; overlapping and adjacent ones become one `***`. */
  mask(text: string): string {
    if (text === "" || this.patterns.size === 0) return text;
    // Compiling the alternation costs a millisecond or more, which a job of a few lines (or one
    // adding secrets between lines) pays again and again: the first texts after an `add` are
    // scanned pattern by pattern instead. Both find the same runs.
    if (this.matcher === undefined && this.scanned < SCAN_BEFORE_COMPILING) {
      this.scanned++;
      return maskRuns(text, findRunsByScanning(text, this.patterns));
    }
    const matcher = (this.matcher ??= buildMatcher(this.patterns));
    matcher.lastIndex = 0;
    let match = matcher.exec(text);
    if (match === null) return text;

    let masked = "";
    let copiedUpTo = 0;
    let runStart = match.index;
    let runEnd = match.index + match[0].length;
    // Restart one past each match start: a secret beginning inside another may reach beyond it.
    matcher.lastIndex = match.index + 1;
    while ((match = matcher.exec(text)) !== null) {
      const end = match.index + match[0].length;
      if (match.index <= runEnd) {
        if (end > runEnd) runEnd = end;
      } else {
        masked += text.slice(copiedUpTo, runStart) + MASK;
        copiedUpTo = runEnd;
        runStart = match.index;
        runEnd = end;
      }
      matcher.lastIndex = match.index + 1;
    }
    return masked + text.slice(copiedUpTo, runStart) + MASK + text.slice(runEnd);
  }

  private addValue(value: string): void {
    if (this.added.has(value)) return;
    this.added.add(value);
    this.patterns.add(value);
    for (const encode of this.encoders) {
      const encoded = encode(value);
      if (encoded !== "") this.patterns.add(encoded);
    }
    this.matcher = undefined;
    this.scanned = 0;
  }
}

/** How many texts are masked by scanning after an `add` before the alternation is compiled. */
const SCAN_BEFORE_COMPILING = 64;

/**
 * Where the patterns occur in `text`, as merged runs `[start, end, start, end, ...]`: every
 * occurrence of every pattern (overlapping ones too), overlapping and adjacent ones joined.
 */
function findRunsByScanning(text: string, patterns: ReadonlySet<string>): number[] {
  const found: [number, number][] = [];
  for (const pattern of patterns) {
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) {
      found.push([at, at + pattern.length]);
    }
  }
  found.sort((a, b) => a[0] - b[0]);
  const runs: number[] = [];
  for (const [start, end] of found) {
    const last = runs.length - 1;
    if (runs.length > 0 && start <= (runs[last] ?? 0)) runs[last] = Math.max(runs[last] ?? 0, end);
    else runs.push(start, end);
  }
  return runs;
}

/** `text` with each run `[start, end)` replaced by the mask. */
function maskRuns(text: string, runs: readonly number[]): string {
  if (runs.length === 0) return text;
  let masked = "";
  let copiedUpTo = 0;
  for (let i = 0; i < runs.length; i += 2) {
    masked += text.slice(copiedUpTo, runs[i]) + MASK;
    copiedUpTo = runs[i + 1] ?? text.length;
  }
  return masked + text.slice(copiedUpTo);
}

function buildMatcher(patterns: ReadonlySet<string>): RegExp {
  // Longest first, so that at any position the alternation takes the longest secret.
  const sorted = [...patterns].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegExp).join("|"), "g");
}

function escapeRegExp(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

// --- The runner's value encoders (actions/runner src/Sdk/DTLogging/Logging/ValueEncoders.cs) ---

export function base64Escape(value: string): string {
  return Buffer.from(value, "utf8").toString("base64");
}

/**
 * Base64 of the value without its first `shift` bytes. A secret encoded after a prefix
 * (`base64(user:password)`) starts at one of three byte offsets in a base64 quantum, and encodes
 * differently at each.
 */
export function base64EscapeShifted(value: string, shift: number): string {
  const bytes = Buffer.from(value, "utf8");
  return (bytes.length > shift ? bytes.subarray(shift) : bytes).toString("base64");
}

/** How the runner quotes environment values for `docker` arguments: `"` becomes `\"`. */
export function commandLineArgumentEscape(value: string): string {
  return value.replaceAll('"', '\\"');
}

/** A string literal in a `${{ }}` expression doubles its single quotes. */
export function expressionStringEscape(value: string): string {
  return value.replaceAll("'", "''");
}

/** The inside of a JSON string as Newtonsoft.Json writes it (lowercase `\u00XX`, escapes U+0085, U+2028, U+2029). */
export function jsonStringEscape(value: string): string {
  // eslint-disable-next-line no-control-regex -- JSON escapes the control characters
  return value.replace(/["\\\u0000-\u001f\u0085\u2028\u2029]/g, (char) => {
    switch (char) {
      case '"':
        return '\\"';
      case "\\":
        return "\\\\";
      case "\b":
        return "\\b";
      case "\t":
        return "\\t";
      case "\n":
        return "\\n";
      case "\f":
        return "\\f";
      case "\r":
        return "\\r";
      default:
        return "\\u" + char.charCodeAt(0).toString(16).padStart(4, "0");
    }
  });
}

/** .NET `Uri.EscapeDataString`: everything but RFC 3986 unreserved characters is percent-encoded. */
export function uriDataEscape(value: string): string {
  return encodeURIComponent(replaceLoneSurrogates(value)).replace(
    /[!'()*]/g,
    (char) => "%" + char.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** .NET `SecurityElement.Escape`. */
export function xmlDataEscape(value: string): string {
  return value.replace(/[<>"'&]/g, (char) => XML_ENTITIES[char] ?? char);
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "&": "&amp;",
};

/** A quoted secret longer than 8 characters is also masked without its quotes. */
export function trimDoubleQuotes(value: string): string {
  return value.length > 8 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : "";
}

/**
 * PowerShell prints a failing command line split at `&` (and colours the character after `&+`):
 * this is the part up to the split, when at least 6 characters long.
 */
export function powerShellPreAmpersandEscape(value: string): string {
  if (!value.includes("&")) return "";
  const split = value.indexOf("&+");
  const section = split >= 0 ? value.slice(0, split + 2) : value.slice(0, value.lastIndexOf("&") + 1);
  return section.length >= 6 ? section : "";
}

/** The part after the PowerShell split, skipping the coloured character after `&+`, when at least 6 characters long. */
export function powerShellPostAmpersandEscape(value: string): string {
  if (!value.includes("&")) return "";
  const split = value.indexOf("&+");
  const section = split >= 0 ? value.slice(split + 3) : value.slice(value.lastIndexOf("&") + 1);
  return section.length >= 6 ? section : "";
}

function replaceLoneSurrogates(value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

// --- .NET white space (char.IsWhiteSpace), which the runner trims with; JS's set differs (U+FEFF, U+0085) ---

const DOT_NET_WHITE_SPACE =
  "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const DOT_NET_TRIM = new RegExp(`^[${DOT_NET_WHITE_SPACE}]+|[${DOT_NET_WHITE_SPACE}]+$`, "g");
const DOT_NET_LEADING = new RegExp(`^[${DOT_NET_WHITE_SPACE}]+`);
const DOT_NET_BLANK = new RegExp(`^[${DOT_NET_WHITE_SPACE}]*$`);

/** .NET `string.Trim()`. */
export function dotNetTrim(value: string): string {
  return value.replace(DOT_NET_TRIM, "");
}

/** .NET `string.TrimStart()`. */
export function dotNetTrimStart(value: string): string {
  return value.replace(DOT_NET_LEADING, "");
}

/** .NET `string.IsNullOrWhiteSpace`. */
export function isDotNetBlank(value: string): boolean {
  return DOT_NET_BLANK.test(value);
}
