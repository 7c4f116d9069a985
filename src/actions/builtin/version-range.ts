/**
 * Version specs as setup-node and setup-python read them (npm's semver ranges), plus the PEP 440
 * forms `python-version-file` brings from pyproject.toml (`~=3.10`, `==3.11.*`, `!=3.9.1`, commas).
 * Only what is needed to ask "does this host's version satisfy the spec?": pure, no dependencies.
 *
 * A bare partial version is a range, as in semver: `20` is `>=20.0.0 <21.0.0-0`, `3.10` is
 * `>=3.10.0 <3.11.0`; a full one (`20.11.1`) is exact.
 */
import type { Checked } from "./inputs.js";
import { checked, refused } from "./inputs.js";

export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** `''` for a release; `rc1`, `beta.2`, ... otherwise. Sorts before the release. */
  readonly prerelease: string;
}

interface Bound {
  readonly version: Version;
  readonly inclusive: boolean;
}

/** Versions between the bounds (each optional), or outside them when `negated`. */
interface Interval {
  readonly low?: Bound;
  readonly high?: Bound;
  readonly negated: boolean;
}

/** Alternatives (`||`) of constraints that must all hold. */
export type VersionRange = readonly (readonly Interval[])[];

/** `major.minor.patch` with missing parts undefined and wildcards (`x`, `*`) as undefined too. */
interface Partial {
  readonly major?: number;
  readonly minor?: number;
  readonly patch?: number;
  readonly prerelease: string;
}

const PARTIAL =
  /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-?([A-Za-z0-9][0-9A-Za-z.-]*))?(?:\+[0-9A-Za-z.-]*)?$/;

export function parseVersion(text: string): Version | undefined {
  const partial = parsePartial(text.trim());
  if (!partial || partial.major === undefined) return undefined;
  return fill(partial);
}

export function formatVersion(version: Version): string {
  const release = `${version.major}.${version.minor}.${version.patch}`;
  return version.prerelease === "" ? release : `${release}-${version.prerelease}`;
}

export function compareVersions(a: Version, b: Version): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === "") return 1;
  if (b.prerelease === "") return -1;
  return a.prerelease < b.prerelease ? -1 : 1;
}

export function parseVersionRange(spec: string): Checked<VersionRange> {
  const alternatives: Interval[][] = [];
  for (const alternative of spec.split("||")) {
    const parsed = parseAlternative(alternative.trim());
    if (parsed === undefined) return refused(`'${spec}' is not a version or version range this can read.`);
    alternatives.push(parsed);
  }
  return checked(alternatives);
}

export function satisfies(version: Version, range: VersionRange): boolean {
  return range.some((constraints) => constraints.every((interval) => inInterval(version, interval)));
}

function parseAlternative(text: string): Interval[] | undefined {
  if (text === "" || text === "*" || text.toLowerCase() === "x") return [{ negated: false }];
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const low = parsePartial(hyphen[1] ?? "");
    const high = parsePartial(hyphen[2] ?? "");
    if (!low || !high) return undefined;
    return [{ low: { version: fill(low), inclusive: true }, high: upperOf(high), negated: false }];
  }
  const intervals: Interval[] = [];
  const comparator = /\s*(~=|==|!=|>=|<=|>|<|=|\^|~)?\s*([^\s,]+)\s*,?/y;
  for (let match = comparator.exec(text); match !== null; match = comparator.exec(text)) {
    const partial = parsePartial(match[2] ?? "");
    if (!partial) return undefined;
    const interval = intervalOf(match[1] ?? "", partial);
    if (!interval) return undefined;
    intervals.push(interval);
    if (comparator.lastIndex >= text.length) return intervals;
  }
  return undefined;
}

function intervalOf(operator: string, partial: Partial): Interval | undefined {
  const low = fill(partial);
  const exact = partial.patch !== undefined;
  switch (operator) {
    case "":
    case "=":
    case "==":
      return wildcardInterval(partial, false);
    case "!=":
      return wildcardInterval(partial, true);
    case ">=":
      return { low: { version: low, inclusive: true }, negated: false };
    case ">":
      if (exact) return { low: { version: low, inclusive: false }, negated: false };
      // `>20` is `>=21.0.0-0`: above everything 20 stands for. `>*` matches nothing: refuse it.
      if (partial.major === undefined) return undefined;
      return { low: { version: upperOf(partial).version, inclusive: true }, negated: false };
    case "<":
      return { high: { version: low, inclusive: false }, negated: false };
    case "<=":
      return { high: upperOf(partial), negated: false };
    case "^":
      return { low: { version: low, inclusive: true }, high: caretHigh(partial), negated: false };
    case "~":
      return {
        low: { version: low, inclusive: true },
        high: { version: bump(partial, partial.minor === undefined ? "major" : "minor"), inclusive: false },
        negated: false,
      };
    case "~=":
      // PEP 440 compatible release: the last given part may grow (`~=3.10` is >=3.10, ==3.*).
      if (partial.minor === undefined) return undefined;
      return {
        low: { version: low, inclusive: true },
        high: { version: bump(partial, partial.patch === undefined ? "major" : "minor"), inclusive: false },
        negated: false,
      };
    default:
      return undefined;
  }
}

/** `20` as `>=20.0.0 <21.0.0`, `20.1.2` as exactly that; negated for `!=`. */
function wildcardInterval(partial: Partial, negated: boolean): Interval {
  if (partial.major === undefined) return { negated };
  return { low: { version: fill(partial), inclusive: true }, high: upperOf(partial), negated };
}

/** The upper bound of everything a partial version stands for. */
function upperOf(partial: Partial): Bound {
  if (partial.major === undefined) return { version: fill(partial), inclusive: true };
  if (partial.minor === undefined) return { version: bump(partial, "major"), inclusive: false };
  if (partial.patch === undefined) return { version: bump(partial, "minor"), inclusive: false };
  return { version: fill(partial), inclusive: true };
}

/** `^` allows changes that keep the left-most non-zero part. */
function caretHigh(partial: Partial): Bound {
  const major = partial.major ?? 0;
  const minor = partial.minor ?? 0;
  if (major > 0 || partial.minor === undefined) return { version: bump(partial, "major"), inclusive: false };
  if (minor > 0 || partial.patch === undefined) return { version: bump(partial, "minor"), inclusive: false };
  return { version: bump(partial, "patch"), inclusive: false };
}

function bump(partial: Partial, part: "major" | "minor" | "patch"): Version {
  const major = partial.major ?? 0;
  const minor = partial.minor ?? 0;
  const patch = partial.patch ?? 0;
  // `-0` is the lowest prerelease: `<21.0.0-0` keeps 21's prereleases out, as semver does.
  if (part === "major") return { major: major + 1, minor: 0, patch: 0, prerelease: "0" };
  if (part === "minor") return { major, minor: minor + 1, patch: 0, prerelease: "0" };
  return { major, minor, patch: patch + 1, prerelease: "0" };
}

function fill(partial: Partial): Version {
  return {
    major: partial.major ?? 0,
    minor: partial.minor ?? 0,
    patch: partial.patch ?? 0,
    prerelease: partial.prerelease,
  };
}

function parsePartial(text: string): Partial | undefined {
  const match = PARTIAL.exec(text.replace(/\.\*$/, ".x"));
  if (!match) return undefined;
  const number = (part: string | undefined): number | undefined =>
    part === undefined || /^[xX*]$/.test(part) ? undefined : Number(part);
  const major = number(match[1]);
  const minor = major === undefined ? undefined : number(match[2]);
  const patch = minor === undefined ? undefined : number(match[3]);
  return { major, minor, patch, prerelease: match[4] ?? "" };
}

function inInterval(version: Version, interval: Interval): boolean {
  const aboveLow =
    !interval.low ||
    (interval.low.inclusive
      ? compareVersions(version, interval.low.version) >= 0
      : compareVersions(version, interval.low.version) > 0);
  const belowHigh =
    !interval.high ||
    (interval.high.inclusive
      ? compareVersions(version, interval.high.version) <= 0
      : compareVersions(version, interval.high.version) < 0);
  return aboveLow && belowHigh ? !interval.negated : interval.negated;
}
