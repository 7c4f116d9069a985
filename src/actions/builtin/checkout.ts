/**
 * `actions/checkout` (v3/v4 inputs, v4 semantics) for a run on this host, without network: the
 * only repository there is is the one the run is for, at `run.repositoryRoot`.
 *
 * - No `ref` (or the run's own ref or sha): the run's commit is the working tree, as with `act`.
 *   When the workspace already holds it, checkout has nothing to do and says so; with `path:` (or a
 *   workspace that does not hold it) the working tree is copied there — tracked files and untracked
 *   files that are not ignored, uncommitted changes included — with a git repository of its own.
 * - `ref:` a branch, tag or commit: a local clone of the repository, checked out at that ref from
 *   its committed history (a branch gets a local branch, a tag or commit a detached HEAD).
 *
 * Offline differences: clones are local and keep the full history (`fetch-depth`, `fetch-tags`,
 * `filter` have nothing to limit); there are no credentials to persist (`token`, `ssh-*`,
 * `persist-credentials`); the global git config is left alone (`set-safe-directory`); submodules
 * come from the repository's own initialized submodules; LFS objects are not fetched.
 */
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { prepareWorkspace } from "../../local/workspace.js";
import { runChecked, runCommand } from "./commands.js";
import { copyPath, removeContents } from "./file-tree.js";
import type { Checked } from "./inputs.js";
import {
  checked,
  failedWith,
  messageOf,
  readFlag,
  readInput,
  readInputLines,
  refused,
  SUCCEEDED,
} from "./inputs.js";
import type { BuiltinAction, BuiltinContext, BuiltinResult, BuiltinRunInfo } from "./types.js";

type Submodules = "none" | "top" | "recursive";

export interface CheckoutSettings {
  /** Absolute target folder. */
  readonly target: string;
  /** `ref` as given ('' when not). */
  readonly ref: string;
  readonly clean: boolean;
  readonly fetchDepth: number;
  readonly submodules: Submodules;
  readonly lfs: boolean;
  readonly sparseCheckout: readonly string[];
  readonly sparseCheckoutConeMode: boolean;
}

/** The inputs read as actions/checkout's input helper reads them; a message for a mistake. */
export function readCheckoutSettings(context: BuiltinContext): Checked<CheckoutSettings> {
  const repository = readInput(context, "repository");
  if (repository !== "" && repository.toLowerCase() !== context.run.repository.toLowerCase()) {
    return refused(
      `repository '${repository}' is not available offline: \`conveyor run\` only has this run's repository ` +
        `(${context.run.repository || "the working tree"} at ${context.run.repositoryRoot}). ` +
        "Clone it yourself in a `run:` step (that needs network), or remove `repository:`.",
    );
  }
  const workspace = resolve(context.workspace);
  const target = resolve(workspace, readInput(context, "path"));
  const inside = relative(workspace, target);
  if (inside.startsWith("..") || inside.startsWith(sep)) {
    return refused(
      `Repository path '${target}' is not under '${workspace}'. Use a path relative to the workspace.`,
    );
  }
  const fetchDepth = Math.floor(Number(readInput(context, "fetch-depth") || "1"));
  const submodules = readInput(context, "submodules").toUpperCase();
  return checked({
    target,
    ref: readInput(context, "ref"),
    clean: readFlag(context, "clean", true),
    fetchDepth: Number.isNaN(fetchDepth) || fetchDepth < 0 ? 0 : fetchDepth,
    submodules: submodules === "RECURSIVE" ? "recursive" : submodules === "TRUE" ? "top" : "none",
    lfs: readFlag(context, "lfs", false),
    sparseCheckout: readInputLines(context, "sparse-checkout"),
    sparseCheckoutConeMode: readFlag(context, "sparse-checkout-cone-mode", true),
  });
}

/** Whether `ref` means the run's own commit (nothing, its ref, branch or tag name, or its sha). */
export function isRunCommit(ref: string, run: Pick<BuiltinRunInfo, "ref" | "sha">): boolean {
  if (ref === "") return true;
  if (run.sha !== "" && ref.toLowerCase() === run.sha.toLowerCase()) return true;
  return run.ref !== "" && [ref, `refs/heads/${ref}`, `refs/tags/${ref}`].includes(run.ref);
}

/** `github.ref` qualified as checkout qualifies it (`main` after a merged pull request is `refs/heads/main`). */
function qualifiedRunRef(run: BuiltinRunInfo): string {
  return run.ref === "" || run.ref.startsWith("refs/") ? run.ref : `refs/heads/${run.ref}`;
}

export interface ResolvedRef {
  readonly kind: "branch" | "tag" | "commit" | "ref";
  /** The branch or tag name, or the ref as given. */
  readonly name: string;
  readonly sha: string;
}

/** Candidate full refs for a `ref:` input, in the order checkout tries them. */
export function refCandidates(ref: string): { kind: ResolvedRef["kind"]; name: string; full: string }[] {
  if (ref.startsWith("refs/heads/"))
    return [{ kind: "branch", name: ref.slice("refs/heads/".length), full: ref }];
  if (ref.startsWith("refs/tags/")) return [{ kind: "tag", name: ref.slice("refs/tags/".length), full: ref }];
  if (ref.startsWith("refs/")) return [{ kind: "ref", name: ref, full: ref }];
  if (/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref)) return [{ kind: "commit", name: ref, full: ref }];
  return [
    { kind: "branch", name: ref, full: `refs/heads/${ref}` },
    { kind: "tag", name: ref, full: `refs/tags/${ref}` },
    // A branch the user has only as origin's, not yet as a local branch.
    { kind: "branch", name: ref, full: `refs/remotes/origin/${ref}` },
  ];
}

interface Git {
  (args: readonly string[], cwd: string): Promise<string>;
  quiet(args: readonly string[], cwd: string): Promise<string | undefined>;
}

function gitFor(context: BuiltinContext): Git {
  // A step's environment must not point git at another repository than the one in `cwd`.
  const redirecting = new Set(["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"]);
  const env: Record<string, string> = {
    ...Object.fromEntries(Object.entries(context.env).filter(([name]) => !redirecting.has(name))),
    GIT_TERMINAL_PROMPT: "0",
    GIT_LFS_SKIP_SMUDGE: "1",
  };
  const git = ((args: readonly string[], cwd: string) =>
    runChecked("git", args, { cwd, env, signal: context.signal })) as Git;
  git.quiet = async (args, cwd) => {
    const result = await runCommand("git", args, { cwd, env, signal: context.signal });
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  };
  return git;
}

export async function resolveRef(
  git: Git,
  repositoryRoot: string,
  ref: string,
): Promise<ResolvedRef | undefined> {
  for (const candidate of refCandidates(ref)) {
    const sha = await git.quiet(
      ["rev-parse", "--verify", "--quiet", `${candidate.full}^{commit}`],
      repositoryRoot,
    );
    if (sha) return { kind: candidate.kind, name: candidate.name, sha };
  }
  return undefined;
}

async function checkout(context: BuiltinContext): Promise<BuiltinResult> {
  const read = readCheckoutSettings(context);
  if (!read.ok) return failedWith(read.message);
  const settings = read.value;
  const git = gitFor(context);
  const root = context.run.repositoryRoot;
  const isGit = (await git.quiet(["rev-parse", "--git-dir"], root)) !== undefined;
  if (readInput(context, "ssh-key") !== "")
    context.log("ssh-key is not used: the repository is cloned from this host's disk.");
  if (settings.lfs) {
    context.warning(
      "lfs: Conveyor does not fetch Git LFS objects offline. Files are as in the working tree (or LFS pointer files when a ref is checked out).",
    );
  }
  try {
    if (isRunCommit(settings.ref, context.run))
      return await checkoutWorkingTree(context, git, settings, isGit);
    if (!isGit) {
      return failedWith(
        `ref '${settings.ref}' cannot be checked out: ${root} is not a git repository. Remove ref to use the files as they are.`,
      );
    }
    return await checkoutRef(context, git, settings);
  } catch (cause) {
    return failedWith(`Checking out ${context.run.repository || root} failed: ${messageOf(cause)}`);
  }
}

async function checkoutWorkingTree(
  context: BuiltinContext,
  git: Git,
  settings: CheckoutSettings,
  isGit: boolean,
): Promise<BuiltinResult> {
  const root = context.run.repositoryRoot;
  const inPlace = settings.target === resolve(context.workspace) && context.run.workspaceHoldsRepository;
  if (inPlace) {
    context.log(
      `The workspace already holds ${context.run.repository || "the repository"}: a copy of the working tree at ${root}, ` +
        "including uncommitted changes and untracked files that are not ignored (as `act` does). Nothing to check out.",
    );
  } else {
    await fillTarget(settings, (destination) => prepareWorkspace(root, destination, isGit));
    context.log(
      `Copied the working tree of ${root} into ${settings.target}: tracked files and untracked files that are not ignored, ` +
        `uncommitted changes included${isGit ? ", with a git repository of its own" : ""}.`,
    );
  }
  if (!isGit) {
    context.warning(
      `${root} is not a git repository: the files are there, but git commands will not work in ${settings.target}.`,
    );
  } else {
    logHistory(context, settings);
    if (settings.submodules !== "none")
      await copySubmodules(context, git, root, settings.target, settings.submodules);
  }
  if (settings.sparseCheckout.length > 0) {
    context.warning("sparse-checkout is not applied to a copy of the working tree: all files are present.");
  }
  const head = isGit
    ? await git.quiet(["rev-parse", "--verify", "--quiet", "HEAD"], settings.target)
    : undefined;
  context.setOutput("ref", settings.ref === "" ? qualifiedRunRef(context.run) : settings.ref);
  context.setOutput("commit", head ?? context.run.sha);
  return SUCCEEDED;
}

async function checkoutRef(
  context: BuiltinContext,
  git: Git,
  settings: CheckoutSettings,
): Promise<BuiltinResult> {
  const root = context.run.repositoryRoot;
  const resolved = await resolveRef(git, root, settings.ref);
  if (!resolved) {
    return failedWith(
      `ref '${settings.ref}' is not a branch, tag or commit of ${root}. Offline, Conveyor checks refs out from this ` +
        `repository only: fetch it there first (e.g. \`git fetch origin ${settings.ref}\`), or fix ref.`,
    );
  }
  await fillTarget(settings, async (destination) => {
    await git(["clone", "--quiet", "--local", "--no-checkout", root, destination], dirname(destination));
    if (settings.sparseCheckout.length > 0) {
      const mode = settings.sparseCheckoutConeMode ? [] : ["--no-cone"];
      await git(["sparse-checkout", "set", ...mode, "--", ...settings.sparseCheckout], destination);
    }
    if (resolved.kind === "branch") {
      await git(["checkout", "--quiet", "--force", "-B", resolved.name, resolved.sha], destination);
      await git.quiet(["branch", `--set-upstream-to=origin/${resolved.name}`, resolved.name], destination);
    } else {
      await git(["checkout", "--quiet", "--force", "--detach", resolved.sha], destination);
    }
  });
  context.log(
    `Checked out ${resolved.kind} ${resolved.name} (${resolved.sha}) from the committed history of ${root} into ` +
      `${settings.target}; uncommitted changes are not included.`,
  );
  logHistory(context, settings);
  if (settings.submodules !== "none")
    await updateSubmodules(context, git, root, settings.target, settings.submodules);
  context.setOutput("ref", resolved.kind === "commit" ? "" : settings.ref);
  context.setOutput("commit", resolved.sha);
  return SUCCEEDED;
}

function logHistory(context: BuiltinContext, settings: CheckoutSettings): void {
  const depth =
    settings.fetchDepth === 0 ? "" : ` (fetch-depth ${settings.fetchDepth} has nothing to limit offline)`;
  context.log(`The repository has its full history: it is a local clone${depth}.`);
}

/**
 * Writes the checkout into `settings.target` through `write(folder)`, which needs an empty folder.
 * With `clean` the target is emptied first (the real action's `git clean -ffdx`); without it the
 * checkout is written beside and merged over it, so untracked files there survive.
 */
async function fillTarget(
  settings: CheckoutSettings,
  write: (folder: string) => Promise<void>,
): Promise<void> {
  const target = settings.target;
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) await rm(target, { force: true });
  if (settings.clean || !existing?.isDirectory()) {
    await mkdir(target, { recursive: true });
    await removeContents(target);
    await write(target);
    return;
  }
  const staging = await mkdtemp(join(dirname(target), ".conveyor-checkout-"));
  try {
    await write(staging);
    await rm(join(target, ".git"), { recursive: true, force: true });
    await copyPath(staging, target, { dereference: false });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

interface SubmoduleEntry {
  readonly name: string;
  readonly path: string;
}

async function listSubmodules(git: Git, worktree: string): Promise<SubmoduleEntry[]> {
  if (!existsSync(join(worktree, ".gitmodules"))) return [];
  const out = await git.quiet(
    ["config", "--file", ".gitmodules", "--get-regexp", "^submodule\\..*\\.path$"],
    worktree,
  );
  return (out ?? "")
    .split("\n")
    .map((line) => /^submodule\.(.*)\.path (.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ name: match[1] ?? "", path: match[2] ?? "" }));
}

function uninitialized(context: BuiltinContext, source: string, entry: SubmoduleEntry): void {
  context.warning(
    `Submodule '${entry.path}' is not initialized in ${source}, and Conveyor cannot fetch it offline. ` +
      "Run `git submodule update --init --recursive` there first, or set submodules: false.",
  );
}

/** Working-tree mode: each initialized submodule's working tree is copied like the repository's. */
async function copySubmodules(
  context: BuiltinContext,
  git: Git,
  source: string,
  target: string,
  submodules: Submodules,
): Promise<void> {
  for (const entry of await listSubmodules(git, source)) {
    const from = join(source, entry.path);
    const to = join(target, entry.path);
    if (!existsSync(join(from, ".git"))) {
      uninitialized(context, source, entry);
      continue;
    }
    if (existsSync(join(to, ".git"))) continue; // already there (the workspace was prepared with it)
    await rm(to, { recursive: true, force: true });
    await prepareWorkspace(from, to, true);
    await git.quiet(["submodule", "init", "--", entry.path], target);
    context.log(`Copied submodule ${entry.path} from ${from}`);
    if (submodules === "recursive") await copySubmodules(context, git, from, to, submodules);
  }
}

/** Ref mode: submodules are cloned from the repository's own copies (its `.git/modules` or working tree). */
async function updateSubmodules(
  context: BuiltinContext,
  git: Git,
  source: string,
  target: string,
  submodules: Submodules,
): Promise<void> {
  const sourceGitDir = await git.quiet(["rev-parse", "--absolute-git-dir"], source);
  for (const entry of await listSubmodules(git, target)) {
    const candidates = [
      sourceGitDir === undefined ? "" : join(sourceGitDir, "modules", entry.name),
      existsSync(join(source, entry.path, ".git")) ? join(source, entry.path) : "",
    ];
    const origin = candidates.find((candidate) => candidate !== "" && existsSync(candidate));
    if (origin === undefined) {
      uninitialized(context, source, entry);
      continue;
    }
    await git(["config", `submodule.${entry.name}.url`, origin], target);
    // Git refuses file:// submodules by default since 2.38.1; these are the user's own clones.
    await git(
      ["-c", "protocol.file.allow=always", "submodule", "update", "--init", "--force", "--", entry.path],
      target,
    );
    context.log(`Checked out submodule ${entry.path} from ${origin}`);
    if (submodules === "recursive")
      await updateSubmodules(context, git, origin, join(target, entry.path), submodules);
  }
}

export const checkoutAction: BuiltinAction = {
  name: "actions/checkout",
  inputs: {
    repository: {},
    ref: {},
    token: {},
    "ssh-key": {},
    "ssh-known-hosts": {},
    "ssh-strict": { default: "true" },
    "ssh-user": { default: "git" },
    "persist-credentials": { default: "true" },
    path: {},
    clean: { default: "true" },
    filter: {},
    "sparse-checkout": {},
    "sparse-checkout-cone-mode": { default: "true" },
    "fetch-depth": { default: "1" },
    "fetch-tags": { default: "false" },
    "show-progress": { default: "true" },
    lfs: { default: "false" },
    submodules: { default: "false" },
    "set-safe-directory": { default: "true" },
    "github-server-url": {},
  },
  main: checkout,
};
