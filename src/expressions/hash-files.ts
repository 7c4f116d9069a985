/**
 * `hashFiles(patterns...)`, computed the way GitHub's runner does, so that cache keys match.
 *
 * The runner (actions/runner `src/Runner.Worker/Expressions/HashFilesFunction.cs` and the script
 * `src/Misc/expressionFunc/hashFiles/src/hashFiles.ts`) globs with `@actions/glob` from the workspace,
 * with these rules, all reproduced here:
 * - every argument may hold several patterns, one per line; lines are trimmed, empty lines and lines
 *   starting with `#` are ignored; a leading `!` excludes, and patterns apply in order;
 * - a relative pattern is relative to the workspace, `./x` too, `~/x` to the home directory; `.`
 *   (other than first) and `..` segments are an error;
 * - `*`, `?` and `[...]` match within one path segment and also match names starting with a dot;
 *   `**` alone in a segment matches any number of segments (`**.js` is just `*.js`); no braces, no
 *   extglobs; case-sensitive (Windows aside);
 * - every pattern also matches everything below what it matches (`src` hashes all of `src/`), and a
 *   trailing `/` restricts the pattern itself to directories;
 * - symbolic links are not followed unless the first argument is `--follow-symbolic-links`; an
 *   unfollowed link to a file is hashed with its target's content, a link to a directory is skipped,
 *   a broken link fails the function; when following, broken links are skipped and a directory whose
 *   real path is already on the way down (a loop) is not entered again;
 * - files outside the workspace are ignored, directories are never hashed, `.git` is not special;
 * - files are visited depth first, each directory's entries in byte order of their names (Node's
 *   readdir sorts with strcmp, libuv `uv__fs_scandir_sort`), search roots in pattern order;
 * - the result is SHA-256 over the concatenated raw SHA-256 digests of the files' contents, in hex;
 *   the empty string when no file matched;
 * - the runner gives up after 120 seconds.
 *
 * The pattern logic is pure; the walk and the reads are the only effects and stay at the bottom.
 */
import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readSync, realpathSync, statSync } from "node:fs";
import type { Stats } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { data } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import type { Result } from "../diagnostic.js";
import { error, failed, ok } from "../diagnostic.js";

export const FOLLOW_SYMBOLIC_LINKS_OPTION = "--follow-symbolic-links";
export const HASH_FILES_TIMEOUT_MS = 120_000;

export interface HashFilesOptions {
  readonly followSymbolicLinks?: boolean;
  /** Where `~` points; the user's home directory by default. */
  readonly homeDirectory?: string;
  readonly timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Patterns (pure)

type Segment =
  | { readonly kind: "literal"; readonly name: string }
  | { readonly kind: "glob"; readonly regexp: RegExp }
  | { readonly kind: "globstar" };

export interface GlobPattern {
  readonly negate: boolean;
  /** Absolute: the first segment is the first name below the file system root. */
  readonly segments: readonly Segment[];
  /** Written with a trailing `/`: matches directories only. */
  readonly directoryOnly: boolean;
}

const ANY_NAME: Segment = { kind: "glob", regexp: /^/u };

/** Bits of what a path matches, as `@actions/glob` combines them. */
const MATCH_DIRECTORY = 1;
const MATCH_FILE = 2;
const MATCH_ALL = MATCH_DIRECTORY | MATCH_FILE;

/** Splits absolute paths the way the patterns are split: by `/`, empty names dropped. */
export function pathSegments(path: string): string[] {
  return path.split("/").filter((name) => name !== "");
}

/**
 * Parses the pattern lines of all arguments, adding after each pattern its implicit companion that
 * matches everything below it (the glob's `implicitDescendants`).
 */
export function parseGlobPatterns(
  lines: readonly string[],
  workspace: string,
  homeDirectory: string,
): Result<GlobPattern[]> {
  const patterns: GlobPattern[] = [];
  for (const raw of lines.flatMap((line) => line.split("\n"))) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const parsed = parseGlobPattern(line, workspace, homeDirectory);
    if (!parsed.ok) return parsed;
    const pattern = parsed.value;
    patterns.push(pattern);
    if (pattern.directoryOnly || pattern.segments.at(-1)?.kind !== "globstar") {
      // Strictly below: in @actions/glob 0.4 (the runner's) the implicit `/**` does not match the path
      // itself, so `dir/` stays directories-only and `!dir/` does not exclude a file named `dir`.
      const below: Segment[] = [...pattern.segments, ANY_NAME, { kind: "globstar" }];
      patterns.push({ negate: pattern.negate, segments: below, directoryOnly: false });
    }
  }
  return ok(patterns);
}

function parseGlobPattern(line: string, workspace: string, homeDirectory: string): Result<GlobPattern> {
  let text = line;
  let negate = false;
  while (text.startsWith("!")) {
    negate = !negate;
    text = text.slice(1).trim();
  }
  if (text === "") return failed([error(`Invalid pattern '${line}': nothing left after '!'.`)]);

  const written = text.split("/").filter((name) => name !== "");
  const literals = written.map(literalOf);
  // `.` may only lead a relative pattern; under an absolute root it is the second segment already.
  const leadingIndex = text.startsWith("/") ? -1 : 0;
  if (literals.some((literal, index) => (literal === "." && index !== leadingIndex) || literal === "..")) {
    return failed([error(`Invalid pattern '${text}'. Relative pathing '.' and '..' is not allowed.`)]);
  }

  let base: string[];
  let rest = written;
  if (text.startsWith("/")) base = [];
  else if (written[0] === "." || written[0] === "~") {
    base = pathSegments(written[0] === "." ? workspace : homeDirectory);
    rest = written.slice(1);
  } else base = pathSegments(workspace);

  const segments: Segment[] = [
    ...base.map((name): Segment => ({ kind: "literal", name })),
    ...rest.map(compileSegment),
  ];
  return ok({ negate, segments, directoryOnly: text.endsWith("/") });
}

/** The name a segment stands for when it has no wildcard (`[a]` is `a`), else `undefined`. */
function literalOf(segment: string): string | undefined {
  let literal = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === "\\" && i + 1 < segment.length) {
      literal += segment.charAt(++i);
    } else if (c === "*" || c === "?") {
      return undefined;
    } else if (c === "[") {
      const set = readSet(segment, i);
      if (set === undefined) literal += c;
      else if (set.members.length === 1 && !set.negated) {
        literal += set.members;
        i = set.end;
      } else return undefined;
    } else literal += c;
  }
  return literal;
}

/** A `[...]` set starting at `start`: its raw members and where it closes; `undefined` if never closed. */
function readSet(
  segment: string,
  start: number,
): { members: string; negated: boolean; end: number } | undefined {
  let i = start + 1;
  let negated = false;
  if (segment.charAt(i) === "!" || segment.charAt(i) === "^") {
    negated = true;
    i++;
  }
  let members = "";
  // A `]` right after the opening (or its negation) is a member, not the end.
  if (segment.charAt(i) === "]") {
    members += "]";
    i++;
  }
  for (; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === "\\" && i + 1 < segment.length) members += c + segment.charAt(++i);
    else if (c === "]") return members === "" ? undefined : { members, negated, end: i };
    else members += c;
  }
  return undefined;
}

function compileSegment(segment: string): Segment {
  if (segment === "**") return { kind: "globstar" };
  const literal = literalOf(segment);
  if (literal !== undefined) return { kind: "literal", name: literal };
  try {
    return { kind: "glob", regexp: segmentRegExp(segment, true) };
  } catch {
    // An impossible set such as `[z-a]`: like minimatch, read its `[` as a plain character.
    return { kind: "glob", regexp: segmentRegExp(segment, false) };
  }
}

function segmentRegExp(segment: string, withSets: boolean): RegExp {
  let source = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === "\\" && i + 1 < segment.length) source += escapeRegExp(segment.charAt(++i));
    else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const set = withSets ? readSet(segment, i) : undefined;
      if (set === undefined) source += "\\[";
      else {
        source += `[${set.negated ? "^" : ""}${setSource(set.members)}]`;
        i = set.end;
      }
    } else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, "u");
}

/** Members of a set as a RegExp class body: ranges kept, everything else literal. */
function setSource(members: string): string {
  let source = "";
  for (let i = 0; i < members.length; i++) {
    const c = members.charAt(i);
    if (c === "\\" && i + 1 < members.length) source += escapeClassChar(members.charAt(++i));
    else if (c === "-" && i > 0 && i < members.length - 1) source += "-";
    else source += escapeClassChar(c);
  }
  return source;
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function escapeClassChar(c: string): string {
  return c.replace(/[\\\]^[-]/g, "\\$&");
}

function segmentMatches(segment: Segment, name: string): boolean {
  if (segment.kind === "literal") return segment.name === name;
  if (segment.kind === "glob") return segment.regexp.test(name);
  return true;
}

/**
 * The pattern positions reachable after consuming `path`: position i means segments[0..i) matched.
 * A globstar matches zero or more names. Linear in path length times pattern length.
 */
function reachablePositions(segments: readonly Segment[], path: readonly string[]): boolean[] {
  let states = closeOverGlobstars(segments, initialStates(segments.length));
  for (const name of path) {
    const next = new Array<boolean>(segments.length + 1).fill(false);
    states.forEach((reached, position) => {
      const segment = segments[position];
      if (!reached || segment === undefined) return;
      if (segment.kind === "globstar") next[position] = true;
      if (segmentMatches(segment, name)) next[position + 1] = true;
    });
    states = closeOverGlobstars(segments, next);
  }
  return states;
}

function initialStates(length: number): boolean[] {
  const states = new Array<boolean>(length + 1).fill(false);
  states[0] = true;
  return states;
}

/** A globstar may match nothing: reaching it reaches what follows it. */
function closeOverGlobstars(segments: readonly Segment[], states: boolean[]): boolean[] {
  for (let position = 0; position < segments.length; position++) {
    if (states[position] && segments[position]?.kind === "globstar") states[position + 1] = true;
  }
  return states;
}

export function patternMatches(pattern: GlobPattern, path: readonly string[]): boolean {
  return reachablePositions(pattern.segments, path)[pattern.segments.length] === true;
}

/** Whether something below `directory` could match: the walk prunes everything else. */
function patternMayMatchBelow(pattern: GlobPattern, directory: readonly string[]): boolean {
  return reachablePositions(pattern.segments, directory).some(
    (reached, position) => reached && position < pattern.segments.length,
  );
}

/** Later patterns win: an exclusion clears what earlier patterns matched, an inclusion sets it again. */
function matchKind(patterns: readonly GlobPattern[], path: readonly string[]): number {
  let result = 0;
  for (const pattern of patterns) {
    if (!patternMatches(pattern, path)) continue;
    const kind = pattern.directoryOnly ? MATCH_DIRECTORY : MATCH_ALL;
    result = pattern.negate ? result & ~kind : result | kind;
  }
  return result;
}

function mayMatchBelow(patterns: readonly GlobPattern[], directory: readonly string[]): boolean {
  return patterns.some((pattern) => !pattern.negate && patternMayMatchBelow(pattern, directory));
}

/** The literal directory before each inclusion's first wildcard; nested and repeated ones dropped. */
export function searchRoots(patterns: readonly GlobPattern[]): string[][] {
  const roots = patterns
    .filter((pattern) => !pattern.negate)
    .map((pattern) => {
      const firstWildcard = pattern.segments.findIndex((segment) => segment.kind !== "literal");
      const literal = firstWildcard < 0 ? pattern.segments : pattern.segments.slice(0, firstWildcard);
      return literal.map((segment) => (segment.kind === "literal" ? segment.name : ""));
    });
  const candidates = new Set(roots.map((root) => root.join("/")));
  const included = new Set<string>();
  const result: string[][] = [];
  for (const root of roots) {
    const key = root.join("/");
    if (included.has(key)) continue;
    const hasAncestor = root.some(
      (_, length) => length < root.length && candidates.has(root.slice(0, length).join("/")),
    );
    if (hasAncestor) continue;
    included.add(key);
    result.push(root);
  }
  return result;
}

/** SHA-256 over the concatenated raw digests, hex; empty when there are none. */
export function combineDigests(digests: readonly Uint8Array[]): string {
  if (digests.length === 0) return "";
  const hash = createHash("sha256");
  for (const digest of digests) hash.update(digest);
  return hash.digest("hex");
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function toPath(segments: readonly string[]): string {
  return `/${segments.join("/")}`;
}

// ---------------------------------------------------------------------------------------------
// The walk and the reads (effects)

/** The walk ran past its deadline. */
class HashFilesTimeout extends Error {}

interface WalkItem {
  readonly segments: string[];
  /** Depth from the search root (1), for loop detection along the way down. */
  readonly level: number;
}

/** The matched paths that are not directories, in the glob's order. Throws HashFilesTimeout. */
function walkMatches(
  patterns: readonly GlobPattern[],
  followSymbolicLinks: boolean,
  deadline: number,
): string[] {
  const stack: WalkItem[] = [];
  for (const root of searchRoots(patterns)) {
    if (lstatOrUndefined(toPath(root)) !== undefined) stack.unshift({ segments: root, level: 1 });
  }
  const found: string[] = [];
  const realPathChain: string[] = [];
  let visited = 0;
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (++visited % 1024 === 0 && Date.now() > deadline) throw new HashFilesTimeout();
    const kind = matchKind(patterns, item.segments);
    if (kind === 0 && !mayMatchBelow(patterns, item.segments)) continue;
    const path = toPath(item.segments);
    const stats = statForWalk(path, followSymbolicLinks);
    if (stats === undefined) continue;
    if (stats.isDirectory()) {
      if (followSymbolicLinks && enteredBefore(path, item.level, realPathChain)) continue;
      const names = readdirSync(path).sort(compareNames).reverse();
      for (const name of names) stack.push({ segments: [...item.segments, name], level: item.level + 1 });
    } else if (kind & MATCH_FILE) {
      found.push(path);
    }
  }
  return found;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (cause) {
    if (errorCode(cause) === "ENOENT") return undefined;
    throw cause;
  }
}

/** Following links, a broken one is skipped; otherwise a link is looked at, not through. */
function statForWalk(path: string, followSymbolicLinks: boolean): Stats | undefined {
  if (!followSymbolicLinks) return lstatSync(path);
  try {
    return statSync(path);
  } catch (cause) {
    if (errorCode(cause) === "ENOENT") return undefined;
    throw cause;
  }
}

/** Keeps the real paths of the directories above `level`; true when `path` is one of them (a loop). */
function enteredBefore(path: string, level: number, chain: string[]): boolean {
  const realPath = realpathSync(path);
  chain.length = Math.min(chain.length, level - 1);
  if (chain.includes(realPath)) return true;
  chain.push(realPath);
  return false;
}

function errorCode(cause: unknown): string | undefined {
  return cause instanceof Error && "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
}

function digestOfFile(path: string): Uint8Array {
  const hash = createHash("sha256");
  const buffer = Buffer.alloc(64 * 1024);
  const fd = openSync(path, "r");
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer))
      hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest();
}

/**
 * The hash of the files under `workspace` that `patterns` match, as GitHub computes it; `''` when
 * none match. Synchronous because expression functions are.
 */
export function hashFiles(
  workspace: string,
  patterns: readonly string[],
  options: HashFilesOptions = {},
): Result<string> {
  const root = resolve(workspace);
  const shown = `hashFiles('${patterns.join(", ")}')`;
  const parsed = parseGlobPatterns(patterns, root, options.homeDirectory ?? homedir());
  if (!parsed.ok) return failed(parsed.errors.map((d) => error(`${shown} failed: ${d.message}`)));
  const timeoutMs = options.timeoutMs ?? HASH_FILES_TIMEOUT_MS;
  try {
    const inside = `${root === "/" ? "" : root}/`;
    const files = walkMatches(parsed.value, options.followSymbolicLinks ?? false, Date.now() + timeoutMs)
      .filter((file) => file.startsWith(inside))
      // statSync follows links: a link to a directory is skipped, a broken one throws as in the runner.
      .filter((file) => !statSync(file).isDirectory());
    return ok(combineDigests(files.map(digestOfFile)));
  } catch (cause) {
    if (cause instanceof HashFilesTimeout) {
      return failed([error(`${shown} couldn't finish within ${timeoutMs / 1000} seconds.`)]);
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    return failed([error(`${shown} failed. Fail to hash files under directory '${root}': ${reason}`)]);
  }
}

/**
 * The `hashFiles` expression function for one workspace. A failure throws, which is how the
 * evaluator's function interface reports errors; `evaluateExpression` turns it into a diagnostic.
 */
export function hashFilesFunction(workspace: string, options: HashFilesOptions = {}): FunctionDefinition {
  return {
    name: "hashFiles",
    minArgs: 1,
    maxArgs: 255,
    call: (...args) => {
      const values = args.map((arg) => arg.coerceString());
      const [first, ...rest] = values;
      let follow = options.followSymbolicLinks ?? false;
      let patterns = values;
      if (first?.startsWith("--")) {
        if (first.toLowerCase() !== FOLLOW_SYMBOLIC_LINKS_OPTION) {
          throw new Error(
            `Invalid glob option ${first}, available option: '${FOLLOW_SYMBOLIC_LINKS_OPTION}'.`,
          );
        }
        follow = true;
        patterns = rest;
      }
      const result = hashFiles(workspace, patterns, { ...options, followSymbolicLinks: follow });
      if (!result.ok) throw new Error(result.errors.map((d) => d.message).join("; "));
      return new data.StringData(result.value);
    },
  };
}
