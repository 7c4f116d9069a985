/**
 * A step's `uses:` read the way GitHub's step converter reads it: `./path` (or `.\path`) is an
 * action in the workspace, `docker://image` is a container image, anything else must be
 * `{owner}/{repo}[/path]@{ref}` with exactly one `@`. Pure: no files are looked at here.
 */
import { posix } from "node:path";
import { error, failed, ok } from "../diagnostic.js";
import type { Result, SourceLocation } from "../diagnostic.js";

/** An action in the workspace (`uses: ./.github/actions/build`). */
export interface LocalActionReference {
  readonly kind: "local";
  /** Relative to the workspace, `/`-separated, normalised, without the leading `./`; "" is the workspace itself. */
  readonly path: string;
}

/** An action in a repository (`uses: actions/checkout@v4`, `uses: owner/repo/sub/dir@sha`). */
export interface RemoteActionReference {
  readonly kind: "remote";
  readonly owner: string;
  readonly repo: string;
  /** The folder inside the repository, `/`-separated; "" for the repository's root. */
  readonly path: string;
  /** A tag, branch or commit SHA, as written. */
  readonly ref: string;
}

/** A container image run as a step (`uses: docker://alpine:3`). */
export interface DockerActionReference {
  readonly kind: "docker";
  readonly image: string;
}

export type ActionReference = LocalActionReference | RemoteActionReference | DockerActionReference;

const DOCKER_PREFIX = "docker://";

/** Parses `uses:`; the error, when there is one, sits at `at` (the step) if given. */
export function parseActionReference(uses: string, at?: SourceLocation): Result<ActionReference> {
  const parsed = readReference(uses);
  return typeof parsed === "string" ? failed([error(parsed, at)]) : ok(parsed);
}

/** Why a step's `uses:` is not one of GitHub's three forms, or undefined when it is. */
export function actionRefProblem(uses: string): string | undefined {
  const parsed = readReference(uses);
  return typeof parsed === "string" ? parsed : undefined;
}

/** The reference as a user writes it, for messages: `actions/checkout@v4`, `./x`, `docker://alpine`. */
export function formatActionReference(reference: ActionReference): string {
  switch (reference.kind) {
    case "local":
      return reference.path === "" ? "./" : `./${reference.path}`;
    case "docker":
      return `${DOCKER_PREFIX}${reference.image}`;
    case "remote":
      return `${remoteName(reference)}${reference.path === "" ? "" : `/${reference.path}`}@${reference.ref}`;
  }
}

/** `owner/repo`, the name built-in action lists and the action cache use. */
export function remoteName(reference: RemoteActionReference): string {
  return `${reference.owner}/${reference.repo}`;
}

/** A reference, or the problem with `uses` as a message. */
function readReference(uses: string): ActionReference | string {
  // GitHub compares these prefixes case-sensitively.
  if (uses.startsWith(DOCKER_PREFIX)) return readDocker(uses);
  if (uses.startsWith("./") || uses.startsWith(".\\")) return readLocal(uses);
  return readRemote(uses);
}

function readDocker(uses: string): DockerActionReference | string {
  const image = uses.slice(DOCKER_PREFIX.length);
  if (image.trim() === "") return "`uses: docker://` needs an image, e.g. `docker://alpine:3.20`.";
  if (/\s/.test(image)) return `\`uses: ${uses}\`: an image name has no spaces.`;
  return { kind: "docker", image };
}

function readLocal(uses: string): LocalActionReference | string {
  const normalised = posix.normalize(uses.replaceAll("\\", "/")).replace(/(.)\/+$/, "$1");
  // The runner joins the path to the workspace as written; refusing `..` keeps actions inside it.
  if (normalised === ".." || normalised.startsWith("../")) {
    return `\`uses: ${uses}\` leaves the workspace: a local action must be a folder inside it (e.g. ./.github/actions/build).`;
  }
  return { kind: "local", path: normalised === "." ? "" : normalised };
}

function readRemote(uses: string): RemoteActionReference | string {
  const usage = `write {owner}/{repo}[/path]@{ref} (e.g. actions/checkout@v4), ./path/to/action, or docker://image`;
  // GitHub owners never start with a dot: this is a path missing its `./`.
  if (uses.startsWith(".")) {
    return `\`uses: ${uses}\` is not an action reference: a local action's path starts with ./ and is relative to the workspace (e.g. ./.github/actions/build).`;
  }
  const atParts = uses.split("@");
  // GitHub drops empty segments, so `owner//repo` is `owner/repo`.
  const segments = (atParts[0] ?? "").split(/[/\\]/).filter((s) => s !== "");
  const [owner, repo, ...rest] = segments;
  if (owner === undefined || repo === undefined) {
    return `\`uses: ${uses}\` is not an action reference: ${usage}.`;
  }
  const path = [owner, repo, ...rest].join("/");
  if (atParts.length === 1 || atParts[1] === "") {
    return `\`uses: ${uses}\` names no version: write ${path}@{ref} with a tag, branch or commit SHA (e.g. ${path}@v4).`;
  }
  if (atParts.length > 2) {
    return `\`uses: ${uses}\` has more than one @: ${usage}.`;
  }
  const ref = atParts[1] ?? "";
  if (/\s/.test(uses)) return `\`uses: ${uses}\` contains a space: ${usage}.`;
  // These parts become folders in the action cache; `..` would lead out of it (git refuses it in refs too).
  if (segments.includes("..") || ref.includes("..")) {
    return `\`uses: ${uses}\`: the repository, path and ref may not contain \`..\`.`;
  }
  return { kind: "remote", owner, repo, path: rest.join("/"), ref };
}
