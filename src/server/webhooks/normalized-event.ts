/**
 * What every forge's push and pull request delivery becomes: a GitHub-shaped event that the
 * trigger matcher (src/workflow/triggers.ts) and the `github` context read, plus the facts the
 * server needs to fetch and run it. The parts the forge adapters share live here. Pure.
 */
import type { JsonObject, JsonValue } from "../../json.js";
import { isJsonObject } from "../../json.js";

export interface NormalizedRepository {
  /** `owner/name`; on GitLab the whole namespace path (`group/subgroup/name`). */
  readonly fullName: string;
  /** Where the mirror fetches from (HTTP(S)). */
  readonly cloneUrl: string;
  readonly defaultBranch: string;
}

export interface PullRequestFacts {
  readonly number: number;
  /** The head branch's name, in the head repository. */
  readonly headBranch: string;
  readonly headSha: string;
  readonly baseBranch: string;
  /** The base branch's tip when the forge says (GitLab does not: read it from the mirror). */
  readonly baseSha?: string;
  /**
   * A ref of the base repository that holds the head commit, so a mirror of the base repository
   * can fetch a fork's commits: `refs/pull/<n>/head` on GitHub and Gitea, `refs/merge-requests/<n>/head` on GitLab.
   */
  readonly headFetchRef: string;
  /** Undefined when the head repository is gone (a deleted fork). */
  readonly headRepository?: NormalizedRepository;
  readonly merged: boolean;
}

export interface NormalizedEvent {
  readonly eventName: "push" | "pull_request";
  /** `github.event`: shaped like GitHub's payload for the event. */
  readonly payload: JsonObject;
  /** The repository the workflows come from and the run belongs to (a pull request's base). */
  readonly repository: NormalizedRepository;
  /**
   * The commit to run: the pushed commit (the commit a tag points to when the forge says), or a pull
   * request's head. An annotated tag's object id may stand here when the forge names only the tag.
   */
  readonly sha: string;
  /** `github.ref`: the pushed ref, or `refs/pull/<n>/merge` as GitHub has it for pull requests. */
  readonly ref: string;
  /** The files the event changed, for `paths` filters; undefined when the payload cannot tell. */
  readonly changedFiles?: readonly string[];
  /** Why `changedFiles` is undefined; a diff in the mirror can then answer. */
  readonly changedFilesUnknown?: string;
  /** A pull request whose head lives in another repository: its runs get no secrets. */
  readonly fromFork: boolean;
  readonly pullRequest?: PullRequestFacts;
}

/** A delivery either becomes an event or is acknowledged and set aside, with the reason. */
export type Normalized =
  | { readonly kind: "event"; readonly event: NormalizedEvent }
  | { readonly kind: "ignored"; readonly reason: string };

export function isNullSha(sha: string): boolean {
  return /^0+$/u.test(sha);
}

/** GitHub-shaped push payload from a forge's parts; created and deleted follow from the shas. */
export interface PushParts {
  readonly ref: string;
  readonly before: string;
  readonly after: string;
  /** Undefined when the forge does not say: then false, as for an ordinary push. */
  readonly forced?: boolean;
  readonly compare: string | null;
  readonly commits: readonly JsonObject[];
  readonly headCommit: JsonObject | null;
  readonly repository: JsonObject;
  readonly pusher: JsonObject;
  readonly sender: JsonObject;
}

export function githubPushPayload(parts: PushParts): JsonObject {
  return {
    ref: parts.ref,
    before: parts.before,
    after: parts.after,
    created: isNullSha(parts.before) && !isNullSha(parts.after),
    deleted: isNullSha(parts.after),
    forced: parts.forced ?? false,
    base_ref: null,
    compare: parts.compare,
    commits: [...parts.commits],
    head_commit: parts.headCommit,
    repository: parts.repository,
    pusher: parts.pusher,
    sender: parts.sender,
  };
}

/** The normalized push event over a GitHub-shaped push payload. */
export function pushEvent(
  payload: JsonObject,
  repository: NormalizedRepository,
  sha: string,
): NormalizedEvent {
  const ref = String(payload.ref);
  return {
    eventName: "push",
    payload,
    repository,
    sha,
    ref,
    fromFork: false,
    ...changedFilesOfPush(payload),
  };
}

type ChangedFiles = Pick<NormalizedEvent, "changedFiles" | "changedFilesUnknown">;

/** GitHub lists at most 2048 commits in a push and 3000 files in a commit. */
const GITHUB_COMMIT_LIMIT = 2048;
const GITHUB_FILE_LIMIT = 3000;

/**
 * The files a push changed, as the union of its commits' added, removed and modified files, when
 * the payload has all of them. GitHub compares the before and after commits instead; the union is
 * the same for a push that adds commits, which is what is told apart here from the pushes whose
 * files the payload cannot give (a new ref with no new commits, a forced push, a cut list).
 */
export function changedFilesOfPush(payload: JsonObject): ChangedFiles {
  const unknown = (reason: string): ChangedFiles => ({ changedFilesUnknown: reason });
  const ref = String(payload.ref);
  if (ref.startsWith("refs/tags/")) return unknown("a tag push: paths filters do not apply to tags");
  if (payload.deleted === true) return unknown("the push deletes the ref");
  if (payload.forced === true) {
    return unknown(
      "a forced push: its files are the diff of the before and after commits, which the payload does not list",
    );
  }
  const commits = Array.isArray(payload.commits) ? payload.commits.filter(isJsonObject) : [];
  const total = payload.total_commits;
  if (typeof total === "number" && total > commits.length) {
    return unknown(`the payload lists ${commits.length} of the push's ${total} commits`);
  }
  if (commits.length >= GITHUB_COMMIT_LIMIT) {
    return unknown(
      `the payload lists ${commits.length} commits, the most a forge sends, so some may be left out`,
    );
  }
  if (commits.length === 0) {
    return unknown(
      payload.created === true
        ? "a new branch without new commits in the payload: its files are a diff against the commit it starts from"
        : "the payload lists no commits",
    );
  }
  const files = new Set<string>();
  for (const commit of commits) {
    const lists = [commit.added, commit.removed, commit.modified];
    if (!lists.every(isStringArray)) {
      return unknown("the payload's commits do not list their added, removed and modified files");
    }
    const listed = lists.flat();
    if (listed.length >= GITHUB_FILE_LIMIT) return unknown("a commit lists the most files a forge sends");
    for (const file of listed) files.add(file);
  }
  return { changedFiles: [...files] };
}

function isStringArray(value: JsonValue | undefined): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

const PULL_REQUEST_FILES_UNKNOWN =
  "a pull request payload does not list its files: they are the diff from the merge base of base and head to the head";

/** The normalized pull request event over a GitHub-shaped pull_request payload. */
export function pullRequestEvent(
  payload: JsonObject,
  repository: NormalizedRepository,
  facts: PullRequestFacts,
  repositoryIds: RepositoryIds = {},
): NormalizedEvent {
  return {
    eventName: "pull_request",
    payload,
    repository,
    sha: facts.headSha,
    ref: `refs/pull/${facts.number}/merge`,
    changedFilesUnknown: PULL_REQUEST_FILES_UNKNOWN,
    fromFork: isFork(facts.headRepository, repository, repositoryIds),
    pullRequest: facts,
  };
}

/** The forge's ids of a pull request's head and base repositories, where the payload has them. */
export interface RepositoryIds {
  readonly head?: number;
  readonly base?: number;
}

/**
 * Whether a pull request's head lives in another repository than its base: other names or other
 * ids. A head repository that is gone (a deleted fork) counts as a fork: nothing says it was not.
 */
function isFork(
  head: NormalizedRepository | undefined,
  base: NormalizedRepository,
  ids: RepositoryIds,
): boolean {
  if (head === undefined) return true;
  if (ids.head !== undefined && ids.base !== undefined && ids.head !== ids.base) return true;
  return head.fullName.toLowerCase() !== base.fullName.toLowerCase();
}
