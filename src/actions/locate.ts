/**
 * Where an action's files are. A local action (`./path`) is a folder in the workspace. A remote
 * action comes from the action cache, because Conveyor does not download anything: the user puts
 * a copy of the repository at `<cache>/<owner>/<repo>/<ref>/` (one `git clone` command, which the
 * error for a missing action spells out) and `[/path]` is a folder inside it. Like GitHub's runner,
 * a folder's `action.yml` wins over its `action.yaml`, and a folder with only a `Dockerfile` is a
 * container action. Paths and messages are computed by pure functions; the file system is touched
 * only by `locateAction` and `loadAction`.
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import { error, failed, fileError, ok } from "../diagnostic.js";
import type { Result } from "../diagnostic.js";
import { loadActionMetadata } from "./metadata.js";
import type { ActionMetadata } from "./metadata.js";
import { formatActionReference, remoteName } from "./reference.js";
import type { ActionReference, LocalActionReference, RemoteActionReference } from "./reference.js";

/** Names the action cache folder; unset, the cache is `~/.cache/conveyor/actions`. */
export const ACTION_CACHE_VARIABLE = "CONVEYOR_ACTION_CACHE";

/** The files that make a folder an action, in the order GitHub's runner looks for them. */
export const ACTION_FILE_NAMES = ["action.yml", "action.yaml", "Dockerfile", "dockerfile"] as const;

/** Where remote repositories are cloned from in the commands Conveyor suggests. */
const GITHUB_URL = "https://github.com";

export interface ActionRoots {
  /** Absolute path of the workspace (`github.workspace`); local actions are relative to it. */
  readonly workspace: string;
  /** Absolute path of the action cache. */
  readonly actionCache: string;
}

export type FindableActionReference = LocalActionReference | RemoteActionReference;

export interface LocatedAction {
  readonly reference: FindableActionReference;
  /** The action's folder (`github.action_path`). */
  readonly directory: string;
  /** `metadata`: an action.yml or action.yaml; `dockerfile`: a folder with only a Dockerfile. */
  readonly kind: "metadata" | "dockerfile";
  /** Absolute path of the file found. */
  readonly file: string;
  /** The file as named in errors: workspace-relative for local actions, absolute for cached ones. */
  readonly displayPath: string;
}

export interface LocateOptions {
  /** `owner/repo` of the actions Conveyor provides itself, named in the message for a missing one. */
  readonly builtInActions?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Pure: paths and messages

/**
 * The action cache folder: `$CONVEYOR_ACTION_CACHE` when set, else `conveyor/actions` in the
 * user's cache folder (`$XDG_CACHE_HOME`, or `~/.cache`).
 */
export function defaultActionCache(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string {
  const configured = env[ACTION_CACHE_VARIABLE]?.trim();
  if (configured) {
    // A quoted `~` reaches us unexpanded.
    const expanded =
      configured === "~" || configured.startsWith("~/") ? join(home, configured.slice(1)) : configured;
    return resolve(expanded);
  }
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const cacheHome = xdg && isAbsolute(xdg) ? xdg : join(home, ".cache");
  return join(cacheHome, "conveyor", "actions");
}

/** The repository copy a remote action needs: `<cache>/<owner>/<repo>/<ref>`. */
export function cachedCheckoutDirectory(reference: RemoteActionReference, actionCache: string): string {
  return join(actionCache, reference.owner, reference.repo, ...reference.ref.split("/"));
}

/** The action's folder: in the workspace, or in the repository copy in the cache. */
export function actionDirectory(reference: FindableActionReference, roots: ActionRoots): string {
  if (reference.kind === "local") return join(roots.workspace, ...pathSegments(reference.path));
  return join(cachedCheckoutDirectory(reference, roots.actionCache), ...pathSegments(reference.path));
}

/** The shell command that puts a remote action's repository where the cache layout expects it. */
export function cloneCommand(reference: RemoteActionReference, actionCache: string): string {
  const url = `${GITHUB_URL}/${remoteName(reference)}`;
  const target = shellWord(cachedCheckoutDirectory(reference, actionCache));
  if (isCommitSha(reference.ref)) {
    // `--branch` takes only branches and tags; GitHub serves a shallow fetch of any commit.
    return (
      `git init -q ${target} && git -C ${target} fetch -q --depth 1 ${url} ${reference.ref}` +
      ` && git -C ${target} checkout -q FETCH_HEAD`
    );
  }
  return `git clone --depth 1 --branch ${shellWord(reference.ref)} ${url} ${target}`;
}

/** Why a located folder holds no action, or why a cached action is not there, with the fix. */
export function missingActionMessage(
  reference: FindableActionReference,
  roots: ActionRoots,
  details: LocateOptions & { readonly checkoutExists?: boolean } = {},
): string {
  const directory = actionDirectory(reference, roots);
  if (reference.kind === "local") {
    // GitHub's message, word for word: users search for it.
    return `Can't find 'action.yml', 'action.yaml' or 'Dockerfile' under '${directory}'. Did you forget to run actions/checkout before running your local action?`;
  }
  const name = remoteName(reference);
  const checkout = cachedCheckoutDirectory(reference, roots.actionCache);
  const clone = cloneCommand(reference, roots.actionCache);
  if (details.checkoutExists) {
    return (
      `${formatActionReference(reference)}: the action cache has ${name} at ${reference.ref} (${checkout}), ` +
      `but there is no 'action.yml', 'action.yaml' or 'Dockerfile' in ${directory}. ` +
      `Check the path after ${name} in \`uses:\`; if the copy is incomplete, remove ${checkout} and run:\n` +
      `    ${clone}`
    );
  }
  return (
    `${formatActionReference(reference)} is not in the action cache, and Conveyor does not download actions. ` +
    `Put a copy of ${name} at ${reference.ref} into the cache with:\n` +
    `    ${clone}\n` +
    `The action cache is ${roots.actionCache} (set ${ACTION_CACHE_VARIABLE} to use another folder). ` +
    builtInSentence(name, details.builtInActions)
  );
}

/**
 * The error for a container action (`uses: docker://image`, or `runs.using: docker`): this runner
 * runs steps on the host. The caller decides when to raise it; `image` is `runs.image`.
 */
export function containerSupportProblem(reference: ActionReference, image?: string): string {
  const unsupported =
    "needs container support, which this runner does not have (Conveyor runs steps directly on this host, without Docker)";
  if (reference.kind === "docker") {
    return `\`uses: ${formatActionReference(reference)}\` runs the container image ${reference.image}: that ${unsupported}. Use a \`run:\` step with the tool installed on this host instead.`;
  }
  const what = image ? ` (image: ${image})` : "";
  return `${formatActionReference(reference)} is a Docker container action${what}: it ${unsupported}. Use a JavaScript or composite action that does the same, or a \`run:\` step.`;
}

function builtInSentence(name: string, builtIns: readonly string[] | undefined): string {
  if (builtIns && builtIns.length > 0) {
    return `Conveyor has built-in versions of ${builtIns.join(", ")}; ${name} is not one of them.`;
  }
  return `Actions Conveyor has built in need no copy; ${name} is not one of them.`;
}

/** A full commit id (SHA-1, or SHA-256 for repositories that use it). */
function isCommitSha(ref: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref);
}

function pathSegments(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

/** Quotes for POSIX shells only when needed, so the common command reads plainly. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./~-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------
// Effects: the file system

/** Finds the action's folder and the file that describes it. */
export async function locateAction(
  reference: FindableActionReference,
  roots: ActionRoots,
  options: LocateOptions = {},
): Promise<Result<LocatedAction>> {
  const directory = actionDirectory(reference, roots);
  for (const name of ACTION_FILE_NAMES) {
    const file = join(directory, name);
    if (!(await isFile(file))) continue;
    return ok({
      reference,
      directory,
      kind: name.toLowerCase() === "dockerfile" ? "dockerfile" : "metadata",
      file,
      displayPath: reference.kind === "local" ? join(reference.path, name) : file,
    });
  }
  const checkoutExists =
    reference.kind === "remote" && (await isDirectory(cachedCheckoutDirectory(reference, roots.actionCache)));
  return failed([error(missingActionMessage(reference, roots, { ...options, checkoutExists }))]);
}

/**
 * Reads and loads what `locateAction` found. A folder with only a Dockerfile is, as on GitHub, a
 * container action whose image is built from that Dockerfile.
 */
export async function loadAction(located: LocatedAction): Promise<Result<ActionMetadata>> {
  if (located.kind === "dockerfile") {
    const start = { file: located.displayPath, line: 1, column: 1 };
    return ok({
      path: located.displayPath,
      inputs: [],
      outputs: [],
      runs: { using: "docker", image: basename(located.file), preIf: "always()", postIf: "always()" },
      runsLocation: start,
      fileName: () => located.displayPath,
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(located.file);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return failed([fileError(located.displayPath, `cannot read the action's metadata: ${reason}`)]);
  }
  return loadActionMetadata({ path: located.displayPath, bytes });
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
