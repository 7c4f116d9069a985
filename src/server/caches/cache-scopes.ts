/**
 * GitHub's cache rules, as plain functions. A run saves into its own ref's scope and restores from
 * its own ref, then a pull request's base branch, then the repository's default branch, never from
 * another branch (so a branch cannot poison its neighbours' caches). In each scope the primary key
 * is tried exactly, then each key in order as a prefix, the newest entry winning.
 */
import { isJsonObject } from "../../json.js";
import type { JsonObject } from "../../json.js";

export interface CacheScopes {
  /** Where the run's saves go: its ref. */
  readonly write: string;
  /** Where its restores look, in order. */
  readonly read: readonly string[];
}

export interface ScopeFacts {
  /** The run's ref (`refs/heads/feature`, `refs/pull/7/merge`, `refs/tags/v1`). */
  readonly ref: string;
  readonly defaultBranch: string;
  /** The event payload: a pull request's base branch is in it. */
  readonly payload: JsonObject;
}

export function cacheScopes(facts: ScopeFacts): CacheScopes {
  const read = [facts.ref];
  const pullRequest = facts.payload.pull_request;
  const base = isJsonObject(pullRequest) ? pullRequest.base : undefined;
  const baseRef = isJsonObject(base) ? base.ref : undefined;
  if (typeof baseRef === "string" && baseRef !== "") read.push(branchRef(baseRef));
  read.push(branchRef(facts.defaultBranch));
  return { write: facts.ref, read: [...new Set(read)] };
}

function branchRef(name: string): string {
  return name.startsWith("refs/") ? name : `refs/heads/${name}`;
}

export interface Candidate {
  readonly scope: string;
  readonly key: string;
  readonly createdAt: string;
  readonly id: number;
}

/** The entry a restore of `keys` (primary key first) gets among `candidates`, or undefined. */
export function matchEntry<T extends Candidate>(
  candidates: readonly T[],
  keys: readonly string[],
  scopes: readonly string[],
): T | undefined {
  const primary = keys[0];
  if (primary === undefined) return undefined;
  for (const scope of scopes) {
    const inScope = candidates.filter((c) => c.scope === scope);
    const exact = inScope.find((c) => c.key === primary);
    if (exact) return exact;
    for (const prefix of keys) {
      const newest = inScope
        .filter((c) => c.key.startsWith(prefix))
        .reduce<T | undefined>((best, c) => (best === undefined || newer(c, best) ? c : best), undefined);
      if (newest) return newest;
    }
  }
  return undefined;
}

function newer(a: Candidate, b: Candidate): boolean {
  return a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id);
}
