/**
 * Where a secret or variable lives, GitHub's three scopes: the organisation (the whole server),
 * a repository, and an environment of a repository. Names follow GitHub's rules. Pure.
 */
import { error, failed, ok } from "../../diagnostic.js";
import type { Result } from "../../diagnostic.js";

export type SecretScope =
  | { readonly kind: "organization" }
  | { readonly kind: "repository"; readonly repositoryId: number; readonly repository: string }
  | {
      readonly kind: "environment";
      readonly repositoryId: number;
      readonly repository: string;
      readonly environment: string;
    };

/** The scope's key in the tables: repository id 0 and environment '' stand for "none". */
export interface ScopeKey {
  readonly repositoryId: number;
  readonly environment: string;
}

export const ORGANIZATION: SecretScope = { kind: "organization" };

export function scopeKey(scope: SecretScope): ScopeKey {
  switch (scope.kind) {
    case "organization":
      return { repositoryId: 0, environment: "" };
    case "repository":
      return { repositoryId: scope.repositoryId, environment: "" };
    case "environment":
      return { repositoryId: scope.repositoryId, environment: scope.environment };
  }
}

/** How the audit log and messages name a scope: `organization`, `repo:alice/app`, `repo:alice/app/env:prod`. */
export function describeScope(scope: SecretScope): string {
  switch (scope.kind) {
    case "organization":
      return "organization";
    case "repository":
      return `repo:${scope.repository}`;
    case "environment":
      return `repo:${scope.repository}/env:${scope.environment}`;
  }
}

/** GitHub's limit on one secret's or variable's value: 48 KB. */
export const MAX_VALUE_BYTES = 48 * 1024;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/u;

/**
 * A secret's or variable's name as stored (upper-case), or an error naming `field` and saying what
 * a valid name is: letters, digits and underscores, not starting with a digit nor with `GITHUB_`.
 */
export function normalizeName(name: string, field: string): Result<string> {
  if (name === "") return failed([error(`${field} is empty: give a name such as API_KEY.`)]);
  if (name.length > 255)
    return failed([error(`${field} is longer than 255 characters: use a shorter name.`)]);
  if (/^[0-9]/u.test(name)) {
    return failed([error(`${field} '${name}' starts with a digit: names must start with a letter or '_'.`)]);
  }
  if (!NAME_PATTERN.test(name)) {
    return failed([
      error(
        `${field} '${name}' may hold only letters, digits and underscores (no spaces or dashes): for example API_KEY.`,
      ),
    ]);
  }
  const upper = name.toUpperCase();
  if (upper.startsWith("GITHUB_")) {
    return failed([error(`${field} '${name}' starts with GITHUB_, which is reserved: choose another name.`)]);
  }
  return ok(upper);
}

/** A value's problem (too large), naming `field`; undefined when it is fine. */
export function valueProblem(value: string, field: string): string | undefined {
  if (Buffer.byteLength(value, "utf8") > MAX_VALUE_BYTES) {
    return `${field} is larger than 48 KB, GitHub's limit: store a larger secret encrypted in the repository and its key as a secret.`;
  }
  return undefined;
}

/** An environment's name as given in a path or a flag: 1 to 255 characters, no control characters. */
export function environmentNameProblem(name: string, field: string): string | undefined {
  if (name.trim() === "") return `${field} is empty: name the environment, e.g. production.`;
  if (name.length > 255) return `${field} is longer than 255 characters.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/u.test(name)) return `${field} holds control characters: use a plain name.`;
  return undefined;
}

/**
 * GitHub's precedence: the most specific scope wins (environment over repository over
 * organisation). Layers come broadest first.
 */
export function mergeByPrecedence<T>(layers: readonly Readonly<Record<string, T>>[]): Record<string, T> {
  const merged: Record<string, T> = {};
  for (const layer of layers) Object.assign(merged, layer);
  return merged;
}
