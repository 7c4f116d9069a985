/**
 * What a local run knows about the working tree it runs in, read from the `git` binary: the ref
 * and commit, who the user is, which repository this is on GitHub, and what changed. The event
 * payload (`src/local/event-payload.ts`) and the `github` context (`src/engine/github-context.ts`)
 * are built from this, as pure functions.
 *
 * Reading never fails: a folder that is not a git repository (or a machine without git) gives a
 * state with `isGitRepository: false` and placeholder values, so workflows still run in a plain
 * folder. Anything guessed is said in `warnings`.
 *
 * Placeholders and guesses:
 * - no commit (an empty repository, or a plain folder): `headSha` and `previousSha` are 40 zeros,
 *   git's null object id, and `headCommit` is null;
 * - a plain folder: the ref is `refs/heads/main`, the default branch `main`, and `changedFiles`
 *   is undefined (unknown: `paths` filters then do not filter);
 * - detached HEAD: a tag at HEAD gives `refs/tags/<tag>` (the highest version when several do);
 *   else a branch whose tip is HEAD (the default branch first), as act does; else the default
 *   branch, with a warning;
 * - no `origin` remote GitHub's owner/name can be read from: the owner is the local user's login
 *   (from a `users.noreply` email, else `user.name` made into a login: `Jane Doe` -> `Jane-Doe`,
 *   else `local`); the name is the top-level folder's name.
 */
import { basename, resolve } from "node:path";
import type { Diagnostic } from "../diagnostic.js";
import { runToEnd } from "../runner/child-start.js";
import { gitFragment, runShellTogether } from "./shell-batch.js";
import type { CommandOutput } from "./shell-batch.js";

/** Git's null object id: GitHub's `before` for a new ref, and Conveyor's sha when there is no commit. */
export const NULL_SHA = "0".repeat(40);

export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

export interface CommitSignature extends GitIdentity {
  /** Strict ISO 8601 with the signer's offset: `2024-01-02T03:04:05+01:00`. */
  readonly date: string;
}

/** Files a commit changed against its first parent (everything, for a first commit). */
export interface CommitFiles {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly modified: readonly string[];
}

export interface HeadCommit {
  readonly id: string;
  readonly treeId: string;
  readonly parents: readonly string[];
  /** The full message without its trailing newlines. */
  readonly message: string;
  readonly author: CommitSignature;
  readonly committer: CommitSignature;
  readonly files: CommitFiles;
}

/** An `origin` URL read as a repository on a forge. */
export interface RemoteRepository {
  readonly url: string;
  readonly host: string;
  /** Every path segment but the last (`group/subgroup` on GitLab). */
  readonly owner: string;
  readonly name: string;
}

/** The person running Conveyor, from `user.name` and `user.email`. */
export interface LocalUser extends GitIdentity {
  /** A GitHub-like login: from a `users.noreply` email, else `user.name` made into one, else `local`. */
  readonly login: string;
}

export type RefType = "branch" | "tag";

export interface RepositoryState {
  readonly isGitRepository: boolean;
  /** The working tree's top-level folder (the folder itself when it is not a repository). */
  readonly root: string;
  readonly owner: string;
  readonly name: string;
  readonly remote: RemoteRepository | null;
  /** Fully formed: `refs/heads/main`, `refs/tags/v1`. */
  readonly ref: string;
  readonly refType: RefType;
  /** Short: `main`, `v1`. */
  readonly refName: string;
  readonly detached: boolean;
  /** HEAD's commit, or NULL_SHA when there is none. */
  readonly headSha: string;
  /** HEAD's first parent, or NULL_SHA for a first commit. */
  readonly previousSha: string;
  readonly headCommit: HeadCommit | null;
  /** Local branches whose tip is HEAD (short names, sorted). */
  readonly branchesAtHead: readonly string[];
  readonly defaultBranch: string;
  /** The default branch's tip (local, else origin's), or null when neither exists. */
  readonly defaultBranchSha: string | null;
  /**
   * Files HEAD changed plus uncommitted and untracked (not ignored) ones, repository-relative,
   * sorted; both names of a rename. Undefined when unknown (a plain folder).
   */
  readonly changedFiles: readonly string[] | undefined;
  readonly user: LocalUser;
  /** What was guessed or could not be read, for the CLI to show. */
  readonly warnings: readonly Diagnostic[];
}

export interface ReadRepositoryOptions {
  /** Environment for git (tests isolate it from the user's global config). Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
}

/** `%x00`-separated, the message last because it is the one field that may hold newlines. */
export const COMMIT_FORMAT = ["%H", "%T", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"].join("%x00");

/** `*objectname` is a tag's commit (annotated tags point at a tag object first). */
const REF_FORMAT = "%(refname)%00%(objectname)%00%(*objectname)%00%(symref)";

/**
 * The git commands whose outputs make a repository's state, as fragments for `runShellTogether`
 * (which `repositoryStateFrom` reads, in this order).
 */
const REPOSITORY_STATE_COMMANDS: readonly string[] = [
  ["rev-parse", "--show-toplevel"],
  // --no-optional-locks: do not refresh the index, which could race the user's own git commands.
  ["--no-optional-locks", "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"],
  [
    "log",
    "-1",
    "-z",
    `--format=${COMMIT_FORMAT}`,
    "--name-status",
    "--no-renames",
    "--diff-merges=first-parent",
    "HEAD",
  ],
  ["for-each-ref", `--format=${REF_FORMAT}`, "refs/heads", "refs/remotes/origin", "refs/tags"],
  ["config", "-z", "--get-regexp", "^(user\\.(name|email)|remote\\.origin\\.url)$"],
].map(gitFragment);

/**
 * Reads the state of the working tree that holds `folder`: the five git commands run at once from
 * one shell (see shell-batch.ts).
 */
export async function readRepositoryState(
  folder: string,
  options: ReadRepositoryOptions = {},
): Promise<RepositoryState> {
  const dir = resolve(folder);
  return repositoryStateFrom(dir, await runShellTogether(dir, REPOSITORY_STATE_COMMANDS, options.env));
}

/** The state of the working tree at `dir` from the outputs of `REPOSITORY_STATE_COMMANDS`, in order. */
function repositoryStateFrom(dir: string, outputs: readonly CommandOutput[]): RepositoryState {
  const failed: CommandOutput = { ok: false, missing: false, stderr: "not run" };
  const [topLevel = failed, status = failed, log = failed, refList = failed, config = failed] = outputs;

  // Outside a repository git still reads the global config, so the user is known in a plain folder too.
  const settings = parseConfig(config.ok ? config.stdout : "");
  const user = localUser(settings.get("user.name") ?? "", settings.get("user.email") ?? "");
  if (!topLevel.ok) return plainFolderState(dir, user, notRepositoryWarning(topLevel));

  const root = topLevel.stdout.trim();
  const warnings: Diagnostic[] = [];
  const worktree = parseStatus(status.ok ? status.stdout : "");
  if (!status.ok) warnings.push(warning(`cannot read uncommitted changes (${firstLine(status)}).`));
  const headCommit = log.ok ? parseLogEntry(log.stdout) : null;
  // An empty repository has no commit to log; any other failure is worth saying.
  if (!headCommit && worktree.headSha !== null) {
    warnings.push(warning(`cannot read HEAD's commit (${firstLine(log)}): the event has no head commit.`));
  }
  const headSha = headCommit?.id ?? worktree.headSha ?? NULL_SHA;
  const refs = parseRefs(refList.ok ? refList.stdout : "");
  const currentBranch = worktree.branch;
  const defaultBranch = refs.originHead ?? currentBranch ?? "main";
  const branchesAtHead = headCommit
    ? [...refs.branches]
        .filter(([, sha]) => sha === headSha)
        .map(([name]) => name)
        .sort()
    : [];
  const head = resolveHead({
    currentBranch,
    tags: headCommit ? [...refs.tags].filter(([, sha]) => sha === headSha).map(([name]) => name) : [],
    branchesAtHead,
    defaultBranch,
  });
  if (head.guessed) {
    warnings.push(
      warning(
        `HEAD is detached at ${headSha.slice(0, 12)} and no branch or tag points at it: running as if on the default branch '${defaultBranch}'.`,
      ),
    );
  }
  const remoteUrl = settings.get("remote.origin.url");
  const remote = remoteUrl === undefined ? null : (parseRemoteUrl(remoteUrl) ?? null);
  if (remoteUrl !== undefined && !remote) {
    warnings.push(
      warning(`cannot read an owner and a name from origin's URL '${remoteUrl}': using local ones.`),
    );
  }
  const files = headCommit?.files ?? EMPTY_FILES;
  return {
    isGitRepository: true,
    root,
    owner: remote?.owner ?? fallbackOwner(user),
    name: remote?.name ?? fallbackName(root),
    remote,
    ref: head.type === "tag" ? `refs/tags/${head.name}` : `refs/heads/${head.name}`,
    refType: head.type,
    refName: head.name,
    detached: currentBranch === null && headCommit !== null,
    headSha,
    previousSha: headCommit?.parents[0] ?? NULL_SHA,
    headCommit,
    branchesAtHead,
    defaultBranch,
    defaultBranchSha: refs.branches.get(defaultBranch) ?? refs.origin.get(defaultBranch) ?? null,
    changedFiles: [
      ...new Set([...files.added, ...files.removed, ...files.modified, ...worktree.paths]),
    ].sort(),
    user,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Running git

/** What a git command gave (see `CommandOutput`). */
export type GitOutput = CommandOutput;

/** Runs git in `dir` and collects its output; a failure to start or a non-zero exit is a value. */
export function runGit(
  dir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<GitOutput> {
  return runToEnd("git", ["-C", dir, ...args], { env }).then((result) =>
    result.ok
      ? { ok: true, stdout: result.stdout }
      : { ok: false, missing: result.missing, stderr: result.stderr },
  );
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

function warning(message: string): Diagnostic {
  return { severity: "warning", message };
}

function notRepositoryWarning(output: GitOutput): Diagnostic {
  if (!output.ok && output.missing) {
    return warning(
      "git is not installed (or not on PATH): running the folder as a plain folder, without git facts.",
    );
  }
  const reason = firstLine(output);
  const detail =
    reason === "" || /not a git repository/i.test(reason) ? "" : ` (${reason.replace(/^fatal: /, "")})`;
  return warning(
    `not a git repository${detail}: github.sha is ${NULL_SHA.slice(0, 7)}..., the ref refs/heads/main, and paths filters do not filter.`,
  );
}

/** The first line git wrote to stderr, which says what went wrong. */
function firstLine(output: GitOutput): string {
  if (output.ok) return "";
  if (output.missing) return "git is not installed";
  return (output.stderr.split("\n").find((line) => line.trim() !== "") ?? "").trim();
}

function plainFolderState(dir: string, user: LocalUser, why: Diagnostic): RepositoryState {
  return {
    isGitRepository: false,
    root: dir,
    owner: fallbackOwner(user),
    name: fallbackName(dir),
    remote: null,
    ref: "refs/heads/main",
    refType: "branch",
    refName: "main",
    detached: false,
    headSha: NULL_SHA,
    previousSha: NULL_SHA,
    headCommit: null,
    branchesAtHead: [],
    defaultBranch: "main",
    defaultBranchSha: null,
    changedFiles: undefined,
    user,
    warnings: [why],
  };
}

// ---------------------------------------------------------------------------------------------
// Parsing git's output (pure, exported for tests)

/** `git config -z --get-regexp` output: `key\nvalue\0` entries; the first value of a key wins. */
export function parseConfig(output: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const entry of output.split("\0")) {
    if (entry === "") continue;
    const newline = entry.indexOf("\n");
    const key = (newline === -1 ? entry : entry.slice(0, newline)).toLowerCase();
    const value = newline === -1 ? "" : entry.slice(newline + 1);
    if (!settings.has(key)) settings.set(key, value);
  }
  return settings;
}

/**
 * `git log -1 -z --format=COMMIT_FORMAT --name-status --no-renames` output: the commit's fields,
 * then `\n<status>\0<path>\0` pairs for the files it changed. Null when there is no commit.
 */
export function parseLogEntry(output: string): HeadCommit | null {
  return parseLogEntries(output)[0] ?? null;
}

/**
 * The same for any number of commits. Git writes one commit's fields straight after the last
 * path of the one before, so an entry ends where a field that is not a status letter (`M`,
 * `R100`; the first one after a newline) follows a path: that is the next commit's id.
 */
export function parseLogEntries(output: string): HeadCommit[] {
  const fields = output.split("\0");
  const commits: HeadCommit[] = [];
  let at = 0;
  while (at + 10 <= fields.length) {
    const [
      id,
      treeId,
      parents,
      authorName,
      authorEmail,
      authorDate,
      committerName,
      committerEmail,
      committerDate,
      message,
    ] = fields.slice(at, at + 10) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    at += 10;
    const added: string[] = [];
    const removed: string[] = [];
    const modified: string[] = [];
    while (at + 1 < fields.length && FILE_STATUS.test(fields[at] as string)) {
      const status = (fields[at] as string).trim();
      const path = fields[at + 1] as string;
      at += 2;
      if (path === "") continue;
      if (status.startsWith("A")) added.push(path);
      else if (status.startsWith("D")) removed.push(path);
      else modified.push(path);
    }
    commits.push({
      id,
      treeId,
      parents: parents.split(" ").filter((p) => p !== ""),
      // Git ends a message with a newline.
      message: message.replace(/\n+$/, ""),
      author: { name: authorName, email: authorEmail, date: authorDate },
      committer: { name: committerName, email: committerEmail, date: committerDate },
      files: { added, removed, modified },
    });
  }
  return commits;
}

/** A `--name-status` status: a letter and an optional score (`R100`), the first after a newline. */
const FILE_STATUS = /^\n?[A-Z][0-9]*$/;

const EMPTY_FILES: CommitFiles = { added: [], removed: [], modified: [] };

export interface WorktreeStatus {
  /** HEAD's commit; null in a repository without commits. */
  readonly headSha: string | null;
  /** The checked-out branch (unborn in an empty repository too); null when HEAD is detached. */
  readonly branch: string | null;
  /** Changed, staged, unmerged and untracked paths; both names of a rename or copy. */
  readonly paths: readonly string[];
}

/**
 * `git status --porcelain=v2 --branch -z` output. Entries: `# branch.oid <sha>|(initial)`,
 * `# branch.head <name>|(detached)`,
 * `1 <7 fields> <path>` (changed), `2 <8 fields> <path>` then the original path as the next entry
 * (renamed or copied), `u <9 fields> <path>` (unmerged), `? <path>` (untracked).
 */
export function parseStatus(output: string): WorktreeStatus {
  let branch: string | null = null;
  let headSha: string | null = null;
  const paths: string[] = [];
  const entries = output.split("\0");
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as string;
    if (entry.startsWith("# branch.oid ")) {
      const oid = entry.slice("# branch.oid ".length);
      headSha = oid === "(initial)" ? null : oid;
    } else if (entry.startsWith("# branch.head ")) {
      const name = entry.slice("# branch.head ".length);
      branch = name === "(detached)" ? null : name;
    } else if (entry.startsWith("1 ")) paths.push(afterFields(entry, 8));
    else if (entry.startsWith("2 ")) {
      paths.push(afterFields(entry, 9));
      const original = entries[++i];
      if (original) paths.push(original);
    } else if (entry.startsWith("u ")) paths.push(afterFields(entry, 10));
    else if (entry.startsWith("? ")) paths.push(entry.slice(2));
  }
  return { headSha, branch, paths: paths.filter((p) => p !== "") };
}

/** The rest of a line after `count` space-separated fields (a path may hold spaces). */
function afterFields(line: string, count: number): string {
  let at = 0;
  for (let n = 0; n < count; n++) {
    at = line.indexOf(" ", at) + 1;
    if (at === 0) return "";
  }
  return line.slice(at);
}

interface Refs {
  /** Local branches to their tips. */
  readonly branches: ReadonlyMap<string, string>;
  /** origin's branches to their tips. */
  readonly origin: ReadonlyMap<string, string>;
  /** Tags to the commits they name. */
  readonly tags: ReadonlyMap<string, string>;
  /** The branch `refs/remotes/origin/HEAD` points at: the remote's default branch. */
  readonly originHead: string | null;
}

function parseRefs(output: string): Refs {
  const branches = new Map<string, string>();
  const origin = new Map<string, string>();
  const tags = new Map<string, string>();
  let originHead: string | null = null;
  for (const line of lines(output)) {
    const [ref = "", sha = "", peeled = "", symref = ""] = line.split("\0");
    if (ref === "refs/remotes/origin/HEAD") {
      if (symref.startsWith("refs/remotes/origin/")) originHead = symref.slice("refs/remotes/origin/".length);
    } else if (ref.startsWith("refs/heads/")) branches.set(ref.slice("refs/heads/".length), sha);
    else if (ref.startsWith("refs/remotes/origin/"))
      origin.set(ref.slice("refs/remotes/origin/".length), sha);
    else if (ref.startsWith("refs/tags/")) tags.set(ref.slice("refs/tags/".length), peeled || sha);
  }
  return { branches, origin, tags, originHead };
}

interface HeadFacts {
  readonly currentBranch: string | null;
  readonly tags: readonly string[];
  readonly branchesAtHead: readonly string[];
  readonly defaultBranch: string;
}

/** Which ref the run is for; see the module comment for the detached cases. */
export function resolveHead(facts: HeadFacts): { type: RefType; name: string; guessed: boolean } {
  if (facts.currentBranch !== null) return { type: "branch", name: facts.currentBranch, guessed: false };
  const tag = [...facts.tags].sort(byVersionDescending)[0];
  if (tag !== undefined) return { type: "tag", name: tag, guessed: false };
  const branch = facts.branchesAtHead.includes(facts.defaultBranch)
    ? facts.defaultBranch
    : facts.branchesAtHead[0];
  if (branch !== undefined) return { type: "branch", name: branch, guessed: false };
  return { type: "branch", name: facts.defaultBranch, guessed: true };
}

function byVersionDescending(a: string, b: string): number {
  return b.localeCompare(a, "en", { numeric: true });
}

// ---------------------------------------------------------------------------------------------
// Remotes and identities (pure)

/**
 * Reads owner and name from a remote URL: scp-like SSH (`git@github.com:owner/repo.git`) and
 * `ssh://`, `https://`, `http://`, `git://` URLs, on any host. Local paths and `file://` URLs name
 * no forge repository: undefined.
 */
export function parseRemoteUrl(url: string): RemoteRepository | undefined {
  const text = url.trim();
  let host: string;
  let path: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return undefined;
    }
    if (parsed.protocol === "file:" || parsed.hostname === "") return undefined;
    host = parsed.hostname;
    path = safeDecode(parsed.pathname);
  } else {
    // scp-like: [user@]host:path. A one-letter host is a Windows drive (C:\...), not a host.
    const scp = /^(?:[^@/]+@)?([^:/\\]{2,}):(.+)$/.exec(text);
    if (!scp) return undefined;
    host = scp[1] as string;
    path = scp[2] as string;
  }
  const segments = path
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .split("/")
    .filter((s) => s !== "");
  const name = segments.pop();
  if (name === undefined || segments.length === 0) return undefined;
  return { url: text, host, owner: segments.join("/"), name };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** GitHub's noreply addresses carry the login: `12345+octocat@users.noreply.github.com`. */
export function loginFromEmail(email: string): string | undefined {
  const match = /^(?:\d+\+)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)@users\.noreply\./i.exec(email.trim());
  return match?.[1];
}

/** A name made into a GitHub-like login: letters, digits and single hyphens, at most 39 characters. */
export function loginFromName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 39)
    .replace(/-+$/, "");
}

export function localUser(name: string, email: string): LocalUser {
  const login = loginFromEmail(email) ?? (loginFromName(name) || "local");
  return { name, email, login };
}

function fallbackOwner(user: LocalUser): string {
  return user.login;
}

/** A folder's name made into a repository name GitHub accepts (letters, digits, `.`, `_`, `-`). */
function fallbackName(folder: string): string {
  return basename(folder).replace(/[^A-Za-z0-9._-]+/g, "-") || "repository";
}

/**
 * A stable stand-in for the numeric ids GitHub gives repositories and users (FNV-1a, below 2^31):
 * the same name always gets the same id, so `github.repository_id` keys caches consistently.
 */
export function placeholderId(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name.toLowerCase())) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 0x7fffffff) + 1;
}
