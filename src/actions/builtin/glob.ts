/**
 * Finding files the way `@actions/glob` does for upload-artifact and actions/cache: the pattern
 * language is hashFiles' (the same package underneath, parsed by `expressions/hash-files.ts`), and
 * the walk follows the globber's order and options:
 * - search paths are the literal folders before each inclusion's first wildcard, nested ones dropped;
 * - a later pattern overrides an earlier one (`!` excludes), `dir/` matches directories only;
 * - `implicitDescendants` makes every pattern match everything below what it matches;
 * - symbolic links are followed when asked (broken ones skipped, a loop is not entered twice);
 * - `excludeHiddenFiles` drops any file or folder whose name starts with `.`, search paths included;
 * - directories that match are reported (when `matchDirectories`) and still descended into.
 */
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename } from "node:path";
import type { GlobPattern } from "../../expressions/hash-files.js";
import {
  parseGlobPatterns,
  pathSegments,
  patternMatches,
  searchRoots,
} from "../../expressions/hash-files.js";
import type { Checked } from "./inputs.js";
import { checked, refused } from "./inputs.js";

export interface FindOptions {
  /** Relative patterns are relative to it. */
  readonly workspace: string;
  /** Where `~` points. */
  readonly homeDirectory: string;
  readonly implicitDescendants: boolean;
  readonly followSymbolicLinks: boolean;
  readonly excludeHiddenFiles: boolean;
  readonly matchDirectories: boolean;
}

export interface FoundPaths {
  /** Absolute paths in the globber's order. */
  readonly paths: readonly string[];
  /** The search paths (absolute), for the root of an upload. */
  readonly searchPaths: readonly string[];
}

type Segment = GlobPattern["segments"][number];

const MATCH_DIRECTORY = 1;
const MATCH_FILE = 2;

/** Parses pattern lines; without implicit descendants each line's companion pattern is left out. */
export function parsePatterns(lines: readonly string[], options: FindOptions): Checked<GlobPattern[]> {
  const patterns: GlobPattern[] = [];
  for (const line of lines) {
    const parsed = parseGlobPatterns([line], options.workspace, options.homeDirectory);
    if (!parsed.ok) return refused(parsed.errors.map((e) => e.message).join("; "));
    // Each line gives the pattern, then (maybe) its "and everything below" companion.
    patterns.push(...(options.implicitDescendants ? parsed.value : parsed.value.slice(0, 1)));
  }
  return checked(patterns);
}

export async function findPaths(
  lines: readonly string[],
  options: FindOptions,
): Promise<Checked<FoundPaths>> {
  const parsed = parsePatterns(lines, options);
  if (!parsed.ok) return parsed;
  const patterns = parsed.value;
  const roots = searchRoots(patterns).map(toPath);
  const stack: { path: string; level: number }[] = [];
  for (const root of roots) {
    if ((await lstat(root).catch(() => undefined)) !== undefined) stack.unshift({ path: root, level: 1 });
  }
  const found: string[] = [];
  const chain: string[] = [];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const segments = pathSegments(item.path);
    const match = matchKind(patterns, segments);
    const partial = match !== 0 || mayMatchBelow(patterns, segments);
    if (!partial) continue;
    const stats = await statForWalk(item.path, item.level, options.followSymbolicLinks, chain);
    if (stats === undefined) continue;
    if (options.excludeHiddenFiles && basename(item.path).startsWith(".")) continue;
    if (stats.isDirectory()) {
      if (match & MATCH_DIRECTORY && options.matchDirectories) found.push(item.path);
      const names = (await readdir(item.path)).sort(compareNames).reverse();
      for (const name of names) stack.push({ path: joinPath(item.path, name), level: item.level + 1 });
    } else if (match & MATCH_FILE) {
      found.push(item.path);
    }
  }
  return checked({ paths: found, searchPaths: roots });
}

/** Later patterns win: an exclusion clears what earlier ones matched. */
function matchKind(patterns: readonly GlobPattern[], path: readonly string[]): number {
  let result = 0;
  for (const pattern of patterns) {
    if (!patternMatches(pattern, path)) continue;
    const kind = pattern.directoryOnly ? MATCH_DIRECTORY : MATCH_DIRECTORY | MATCH_FILE;
    result = pattern.negate ? result & ~kind : result | kind;
  }
  return result;
}

/** Whether anything below `directory` could match an inclusion: the walk prunes the rest. */
function mayMatchBelow(patterns: readonly GlobPattern[], directory: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (pattern.negate) return false;
    const reached = reachable(pattern.segments, directory);
    return reached.some((on, position) => on && position < pattern.segments.length);
  });
}

/** Pattern positions reachable after consuming `path` (a globstar matches zero or more names). */
function reachable(segments: readonly Segment[], path: readonly string[]): boolean[] {
  let states = closeOverGlobstars(segments, [true, ...new Array<boolean>(segments.length).fill(false)]);
  for (const name of path) {
    const next = new Array<boolean>(segments.length + 1).fill(false);
    states.forEach((on, position) => {
      const segment = segments[position];
      if (!on || segment === undefined) return;
      if (segment.kind === "globstar") next[position] = true;
      if (segmentMatches(segment, name)) next[position + 1] = true;
    });
    states = closeOverGlobstars(segments, next);
  }
  return states;
}

function closeOverGlobstars(segments: readonly Segment[], states: boolean[]): boolean[] {
  for (let position = 0; position < segments.length; position++) {
    if (states[position] && segments[position]?.kind === "globstar") states[position + 1] = true;
  }
  return states;
}

function segmentMatches(segment: Segment, name: string): boolean {
  if (segment.kind === "literal") return segment.name === name;
  if (segment.kind === "glob") return segment.regexp.test(name);
  return true;
}

/** Following links, a broken one or a loop is skipped; otherwise a link is looked at, not through. */
async function statForWalk(
  path: string,
  level: number,
  follow: boolean,
  chain: string[],
): Promise<Stats | undefined> {
  if (!follow) return lstat(path).catch(() => undefined);
  const stats = await stat(path).catch(() => undefined);
  if (stats === undefined || !stats.isDirectory()) return stats;
  const real = await realpath(path);
  chain.length = Math.min(chain.length, level - 1);
  if (chain.includes(real)) return undefined;
  chain.push(real);
  return stats;
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function toPath(segments: readonly string[]): string {
  return `/${segments.join("/")}`;
}

function joinPath(directory: string, name: string): string {
  return directory === "/" ? `/${name}` : `${directory}/${name}`;
}
