/**
 * What a job's token (GITHUB_TOKEN) may do, from `permissions:` as GitHub reads it: the job's
 * own, else the workflow's, else the default. A map names the scopes it grants; every scope it
 * leaves out is `none`. Pull requests from forks get read access at most. Pure.
 *
 * Conveyor's server checks `contents` (fetching the repository needs read); the other scopes are
 * carried in the token for the parts of the API that take job tokens.
 */
import type { Permissions } from "../../workflow/model.js";

export type PermissionLevel = "none" | "read" | "write";

/** GitHub's GITHUB_TOKEN scopes. */
export const PERMISSION_SCOPES = [
  "actions",
  "attestations",
  "checks",
  "contents",
  "deployments",
  "discussions",
  "id-token",
  "issues",
  "packages",
  "pages",
  "pull-requests",
  "repository-projects",
  "security-events",
  "statuses",
] as const;

export type PermissionScope = (typeof PERMISSION_SCOPES)[number];

export type TokenPermissions = Readonly<Record<PermissionScope, PermissionLevel>>;

/**
 * GitHub's "restricted" default for a workflow without `permissions:`: read the repository's
 * contents and packages, nothing else.
 */
export const DEFAULT_PERMISSIONS: TokenPermissions = allAt("none", { contents: "read", packages: "read" });

export function effectivePermissions(
  job: Permissions | undefined,
  workflow: Permissions | undefined,
  options: { readonly forkPullRequest: boolean },
): TokenPermissions {
  const written = job ?? workflow;
  let permissions: TokenPermissions;
  if (written === undefined) permissions = DEFAULT_PERMISSIONS;
  else if (written === "read-all") permissions = allAt("read");
  else if (written === "write-all") permissions = allAt("write");
  else {
    const granted: Partial<Record<PermissionScope, PermissionLevel>> = {};
    for (const scope of PERMISSION_SCOPES) {
      const level = written[scope];
      if (level !== undefined) granted[scope] = level;
    }
    permissions = allAt("none", granted);
  }
  if (!options.forkPullRequest) return permissions;
  // A fork's code never gets to write, whatever the workflow asks for (GitHub's rule).
  const capped: Partial<Record<PermissionScope, PermissionLevel>> = {};
  for (const scope of PERMISSION_SCOPES)
    capped[scope] = permissions[scope] === "write" ? "read" : permissions[scope];
  return allAt("none", capped);
}

/** Whether `granted` is at least `needed`. */
export function allows(granted: PermissionLevel, needed: "read" | "write"): boolean {
  return needed === "read" ? granted !== "none" : granted === "write";
}

/** Compact form carried in a token: `contents=read,statuses=write` (scopes at none left out). */
export function encodePermissions(permissions: TokenPermissions): string {
  return PERMISSION_SCOPES.filter((scope) => permissions[scope] !== "none")
    .map((scope) => `${scope}=${permissions[scope]}`)
    .join(",");
}

/** The permissions of `encodePermissions`' text; undefined when it is not that form. */
export function decodePermissions(text: string): TokenPermissions | undefined {
  const granted: Partial<Record<PermissionScope, PermissionLevel>> = {};
  if (text === "") return allAt("none");
  for (const part of text.split(",")) {
    const [scope, level] = part.split("=");
    if (!isScope(scope) || (level !== "read" && level !== "write")) return undefined;
    granted[scope] = level;
  }
  return allAt("none", granted);
}

function isScope(value: string | undefined): value is PermissionScope {
  return (PERMISSION_SCOPES as readonly string[]).includes(value ?? "");
}

function allAt(
  level: PermissionLevel,
  overrides: Partial<Record<PermissionScope, PermissionLevel>> = {},
): TokenPermissions {
  const result = {} as Record<PermissionScope, PermissionLevel>;
  for (const scope of PERMISSION_SCOPES) result[scope] = overrides[scope] ?? level;
  return result;
}
