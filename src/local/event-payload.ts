/**
 * Webhook payloads for a local run, shaped like GitHub's (docs: "Webhook events and payloads"),
 * built from the repository's state. Pure. They carry the fields workflows read; the many `*_url`
 * templates of GitHub's payloads are left out.
 *
 * What a local run cannot know is filled with stable stand-ins: ids come from `placeholderId`
 * (the same name gives the same id), node ids use GitHub's legacy format over those ids, the
 * repository is public, a pull request is number 1 from the current branch into the default
 * branch, and its timestamps are the head commit's.
 */
import { Buffer } from "node:buffer";
import type { JsonObject, JsonValue } from "../json.js";
import { isJsonObject, isJsonValue } from "../json.js";
import { NULL_SHA, loginFromEmail, placeholderId } from "../git/repository-state.js";
import type { CommitSignature, HeadCommit, RepositoryState } from "../git/repository-state.js";
import { DEFAULT_SERVER_URL, apiUrlFor, hostOf } from "../engine/github-context.js";

export interface EventPayloadOptions {
  /** Default https://github.com. */
  readonly serverUrl?: string;
  /** The sender's login. Default: the local user's. */
  readonly actor?: string;
  /** The activity type: `opened` (the default) for pull requests, `completed` for workflow_run. */
  readonly action?: string;
  /** Default 1. */
  readonly pullRequestNumber?: number;
  /** workflow_dispatch inputs; the payload holds them as strings, as GitHub's does. */
  readonly inputs?: Readonly<Record<string, string | number | boolean>>;
  /** workflow_dispatch: the workflow file's repository-relative path. */
  readonly workflowPath?: string;
  /** schedule: the cron expression that fired. */
  readonly cron?: string;
  /** workflow_run: the run that triggered this one. */
  readonly workflowRun?: TriggeringRun;
}

export interface TriggeringRun {
  /** The triggering workflow's name, matched by `on.workflow_run.workflows`. */
  readonly name?: string;
  readonly path?: string;
  /** Default `success`. */
  readonly conclusion?: string;
  /** The event that started the triggering run. Default `push`. */
  readonly event?: string;
  readonly id?: number;
  readonly runNumber?: number;
}

export function buildEventPayload(
  eventName: string,
  state: RepositoryState,
  options: EventPayloadOptions = {},
): JsonObject {
  const site = siteOf(state, options);
  switch (eventName) {
    case "push":
      return pushPayload(state, site);
    case "pull_request":
    case "pull_request_target":
      return pullRequestPayload(state, site, options);
    case "workflow_dispatch":
      return {
        inputs: Object.fromEntries(Object.entries(options.inputs ?? {}).map(([k, v]) => [k, String(v)])),
        ref: state.ref,
        repository: repositoryPayload(site.repository, site.serverUrl, false),
        sender: site.sender,
        workflow: options.workflowPath ?? "",
      };
    case "schedule":
      // GitHub's schedule payload holds only the cron expression. Without one, none: the caller
      // must say which of a workflow's schedules fired (triggers match on it).
      return options.cron === undefined ? {} : { schedule: options.cron };
    case "workflow_run":
      return workflowRunPayload(state, site, options);
    default:
      return {
        ...(options.action === undefined ? {} : { action: options.action }),
        repository: repositoryPayload(site.repository, site.serverUrl, false),
        sender: site.sender,
      };
  }
}

/**
 * A user's payload (`-e event.json`) over the one built from git: the top-level keys the user
 * gives win whole, the ones they leave out (`repository`, `sender`, ...) are the built ones. A
 * user's `repository` without `default_branch` gets the local one, as act does.
 */
export function mergeEventPayload(user: Readonly<Record<string, unknown>>, defaults: JsonObject): JsonObject {
  const given = Object.entries(user).filter((entry): entry is [string, JsonValue] => isJsonValue(entry[1]));
  // fromEntries defines own keys, so a `__proto__` key in a payload stays a key.
  const merged: JsonObject = Object.fromEntries([
    ...Object.entries(defaults).filter(([key]) => !Object.hasOwn(user, key)),
    ...given,
  ]);
  const repository = merged.repository;
  const defaultBranch = isJsonObject(defaults.repository) ? defaults.repository.default_branch : undefined;
  if (
    isJsonObject(repository) &&
    !Object.hasOwn(repository, "default_branch") &&
    defaultBranch !== undefined
  ) {
    merged.repository = { ...repository, default_branch: defaultBranch };
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------

/** What every payload shares: where the repository lives and who acts. */
interface Site {
  readonly state: RepositoryState;
  readonly repository: PayloadRepository;
  readonly serverUrl: string;
  readonly apiUrl: string;
  readonly fullName: string;
  readonly htmlUrl: string;
  readonly login: string;
  readonly sender: JsonObject;
}

function siteOf(state: RepositoryState, options: EventPayloadOptions): Site {
  const serverUrl = (options.serverUrl ?? DEFAULT_SERVER_URL).replace(/\/+$/, "");
  const apiUrl = apiUrlFor(serverUrl);
  const fullName = `${state.owner}/${state.name}`;
  const login = options.actor ?? state.user.login;
  const ownerIsUser = state.owner === state.user.login;
  return {
    state,
    repository: {
      id: placeholderId(fullName),
      owner: state.owner,
      name: state.name,
      defaultBranch: state.defaultBranch,
      private: false,
      ownerName: ownerIsUser && state.user.name !== "" ? state.user.name : state.owner,
      ownerEmail: ownerIsUser ? nullable(state.user.email) : null,
    },
    serverUrl,
    apiUrl,
    fullName,
    htmlUrl: `${serverUrl}/${fullName}`,
    login,
    sender: userPayload(login, serverUrl, apiUrl),
  };
}

/** A user as payloads show one (`sender`, `owner`); without an id, a stable stand-in. */
export function userPayload(
  login: string,
  serverUrl: string,
  apiUrl: string,
  id: number = placeholderId(login),
): JsonObject {
  return {
    login,
    id,
    node_id: legacyNodeId("User", id),
    type: "User",
    site_admin: false,
    html_url: `${serverUrl}/${login}`,
    url: `${apiUrl}/users/${login}`,
  };
}

/** The repository a payload is about, as the payload builders need it. */
export interface PayloadRepository {
  readonly id: number;
  readonly owner: string;
  /** The owner's account id; without one, a stable stand-in. */
  readonly ownerId?: number;
  readonly name: string;
  readonly defaultBranch: string;
  readonly private: boolean;
  /** Push payloads give the owner a name and an email (GitHub's: the account's, when public). */
  readonly ownerName: string;
  readonly ownerEmail: string | null;
}

/**
 * The `repository` object. A push payload's differs as GitHub's does: its `url` is the web page,
 * not the API, and its owner carries `name` and `email`.
 */
export function repositoryPayload(
  repository: PayloadRepository,
  serverUrl: string,
  forPush: boolean,
): JsonObject {
  const apiUrl = apiUrlFor(serverUrl);
  const fullName = `${repository.owner}/${repository.name}`;
  const htmlUrl = `${serverUrl}/${fullName}`;
  const host = hostOf(serverUrl);
  const owner = userPayload(repository.owner, serverUrl, apiUrl, repository.ownerId);
  return {
    id: repository.id,
    node_id: legacyNodeId("Repository", repository.id),
    name: repository.name,
    full_name: fullName,
    private: repository.private,
    visibility: repository.private ? "private" : "public",
    owner: forPush ? { ...owner, name: repository.ownerName, email: repository.ownerEmail } : owner,
    html_url: htmlUrl,
    description: null,
    fork: false,
    url: forPush ? htmlUrl : `${apiUrl}/repos/${fullName}`,
    git_url: `git://${host}/${fullName}.git`,
    ssh_url: `git@${host}:${fullName}.git`,
    clone_url: `${htmlUrl}.git`,
    svn_url: htmlUrl,
    homepage: null,
    default_branch: repository.defaultBranch,
    ...(forPush ? { master_branch: repository.defaultBranch } : {}),
    archived: false,
    disabled: false,
    is_template: false,
    topics: [],
  };
}

function pushPayload(state: RepositoryState, site: Site): JsonObject {
  const isTag = state.refType === "tag";
  // A tag push creates the tag: GitHub sends no `before` and no commits for it, only head_commit.
  const before = isTag ? NULL_SHA : state.previousSha;
  const after = state.headSha;
  return pushEventPayload({
    ref: state.ref,
    before,
    after,
    created: before === NULL_SHA && after !== NULL_SHA,
    deleted: false,
    forced: false,
    baseRef: isTag ? baseBranchOfTag(state) : null,
    commits: state.headCommit !== null && !isTag ? [{ commit: state.headCommit, distinct: true }] : [],
    headCommit: state.headCommit,
    repository: site.repository,
    serverUrl: site.serverUrl,
    pusher: { name: site.login, email: nullable(state.user.email) },
    sender: site.sender,
    usernameOf: (email) => (email !== "" && email === state.user.email ? state.user.login : undefined),
  });
}

/** A commit a push brought, and whether it is new to the repository (no other ref had it). */
export interface PushedCommit {
  readonly commit: HeadCommit;
  readonly distinct: boolean;
}

/** One ref a push changed. */
export interface RefUpdate {
  readonly ref: string;
  /** The old value; all zeros for a new ref. */
  readonly before: string;
  /** The new value; all zeros for a deleted ref. */
  readonly after: string;
  readonly created: boolean;
  readonly deleted: boolean;
  /** The old commit is not an ancestor of the new one (a force push). */
  readonly forced: boolean;
}

/** What a push payload says, whoever builds it (a local run, a push to the server). */
export interface PushFacts extends RefUpdate {
  /** For a tag, the branch (`refs/heads/...`) whose tip is the tagged commit, else null. */
  readonly baseRef: string | null;
  /** Oldest first. */
  readonly commits: readonly PushedCommit[];
  readonly headCommit: HeadCommit | null;
  readonly repository: PayloadRepository;
  /** Without a trailing slash. */
  readonly serverUrl: string;
  readonly pusher: { readonly name: string; readonly email: string | null };
  readonly sender: JsonObject;
  /** The login an email belongs to, when known (GitHub's noreply addresses are read first). */
  readonly usernameOf: (email: string) => string | undefined;
}

/** GitHub's push payload. */
export function pushEventPayload(facts: PushFacts): JsonObject {
  const htmlUrl = `${facts.serverUrl}/${facts.repository.owner}/${facts.repository.name}`;
  const commit = (pushed: PushedCommit): JsonObject =>
    commitPayload(pushed.commit, htmlUrl, facts.usernameOf, pushed.distinct);
  const headCommit = facts.headCommit
    ? commit(
        facts.commits.find((pushed) => pushed.commit.id === facts.headCommit?.id) ?? {
          commit: facts.headCommit,
          distinct: true,
        },
      )
    : null;
  return {
    ref: facts.ref,
    before: facts.before,
    after: facts.after,
    created: facts.created,
    deleted: facts.deleted,
    forced: facts.forced,
    base_ref: facts.baseRef,
    compare: facts.created
      ? `${htmlUrl}/compare/${shortRefName(facts.ref)}`
      : `${htmlUrl}/compare/${facts.before.slice(0, 12)}...${facts.after.slice(0, 12)}`,
    commits: facts.commits.map(commit),
    head_commit: headCommit,
    pusher: facts.pusher,
    repository: repositoryPayload(facts.repository, facts.serverUrl, true),
    sender: facts.sender,
  };
}

/** `main` for `refs/heads/main`, `v1` for `refs/tags/v1`: what GitHub's compare links name. */
function shortRefName(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, "");
}

function baseBranchOfTag(state: RepositoryState): string | null {
  const branches = state.branchesAtHead;
  const branch = branches.includes(state.defaultBranch) ? state.defaultBranch : branches[0];
  return branch === undefined ? null : `refs/heads/${branch}`;
}

function commitPayload(
  commit: HeadCommit,
  htmlUrl: string,
  usernameOf: (email: string) => string | undefined,
  distinct: boolean,
): JsonObject {
  return {
    id: commit.id,
    tree_id: commit.treeId,
    distinct,
    message: commit.message,
    // The committer's date: when the commit took its present form (a rebase or amend moves it).
    timestamp: commit.committer.date,
    url: `${htmlUrl}/commit/${commit.id}`,
    author: personPayload(commit.author, usernameOf),
    committer: personPayload(commit.committer, usernameOf),
    added: [...commit.files.added],
    removed: [...commit.files.removed],
    modified: [...commit.files.modified],
  };
}

/** GitHub adds `username` when the email belongs to an account. */
function personPayload(
  person: CommitSignature,
  usernameOf: (email: string) => string | undefined,
): JsonObject {
  const username = loginFromEmail(person.email) ?? usernameOf(person.email);
  return { name: person.name, email: person.email, ...(username === undefined ? {} : { username }) };
}

function pullRequestPayload(state: RepositoryState, site: Site, options: EventPayloadOptions): JsonObject {
  const number = options.pullRequestNumber ?? 1;
  const action = options.action ?? "opened";
  const repo = repositoryPayload(site.repository, site.serverUrl, false);
  const owner = userPayload(state.owner, site.serverUrl, site.apiUrl);
  const message = state.headCommit?.message ?? "";
  const newline = message.indexOf("\n");
  const title = newline === -1 ? message : message.slice(0, newline);
  const body = newline === -1 ? "" : message.slice(newline + 1).trim();
  const timestamp = state.headCommit ? utcTimestamp(state.headCommit.committer.date) : null;
  const pullUrl = `${site.apiUrl}/repos/${site.fullName}/pulls/${number}`;
  const id = placeholderId(`${site.fullName}#${number}`);
  return {
    action,
    number,
    // A synchronize event says which commits the head moved between.
    ...(action === "synchronize" ? { before: state.previousSha, after: state.headSha } : {}),
    pull_request: {
      url: pullUrl,
      id,
      node_id: legacyNodeId("PullRequest", id),
      html_url: `${site.htmlUrl}/pull/${number}`,
      diff_url: `${site.htmlUrl}/pull/${number}.diff`,
      patch_url: `${site.htmlUrl}/pull/${number}.patch`,
      issue_url: `${site.apiUrl}/repos/${site.fullName}/issues/${number}`,
      number,
      state: action === "closed" ? "closed" : "open",
      locked: false,
      title: title === "" ? state.refName : title,
      user: site.sender,
      body: body === "" ? null : body,
      created_at: timestamp,
      updated_at: timestamp,
      closed_at: null,
      merged_at: null,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      labels: [],
      milestone: null,
      draft: false,
      head: {
        label: `${state.owner}:${state.refName}`,
        ref: state.refName,
        sha: state.headSha,
        user: owner,
        repo,
      },
      base: {
        label: `${state.owner}:${state.defaultBranch}`,
        ref: state.defaultBranch,
        sha: state.defaultBranchSha ?? state.headSha,
        user: owner,
        repo,
      },
      author_association: "OWNER",
      auto_merge: null,
      merged: false,
      // GitHub computes mergeability after the event; `null` is what an opened pull request carries.
      mergeable: null,
      mergeable_state: "unknown",
      merged_by: null,
      changed_files: state.changedFiles?.length ?? 0,
    },
    repository: repo,
    sender: site.sender,
  };
}

function workflowRunPayload(state: RepositoryState, site: Site, options: EventPayloadOptions): JsonObject {
  const run = options.workflowRun ?? {};
  const repo = repositoryPayload(site.repository, site.serverUrl, false);
  const id = run.id ?? 1;
  const path = run.path ?? "";
  const workflowId = placeholderId(`${site.fullName}/${path}`);
  const action = options.action ?? "completed";
  const commit = state.headCommit;
  const timestamp = commit ? utcTimestamp(commit.committer.date) : null;
  const subject = commit?.message.split("\n")[0] ?? "";
  return {
    action,
    workflow_run: {
      id,
      // Without a name, `on.workflow_run.workflows` does not filter (see src/workflow/triggers.ts).
      ...(run.name === undefined ? {} : { name: run.name }),
      path,
      display_title: subject,
      head_branch: state.refName,
      head_sha: state.headSha,
      run_number: run.runNumber ?? 1,
      run_attempt: 1,
      event: run.event ?? "push",
      status: action === "completed" ? "completed" : action === "in_progress" ? "in_progress" : "queued",
      conclusion: action === "completed" ? (run.conclusion ?? "success") : null,
      workflow_id: workflowId,
      url: `${site.apiUrl}/repos/${site.fullName}/actions/runs/${id}`,
      html_url: `${site.htmlUrl}/actions/runs/${id}`,
      created_at: timestamp,
      updated_at: timestamp,
      actor: site.sender,
      triggering_actor: site.sender,
      head_commit: commit
        ? {
            id: commit.id,
            tree_id: commit.treeId,
            message: commit.message,
            timestamp: commit.committer.date,
            author: { name: commit.author.name, email: commit.author.email },
            committer: { name: commit.committer.name, email: commit.committer.email },
          }
        : null,
      repository: repo,
      head_repository: repo,
    },
    workflow: {
      id: workflowId,
      ...(run.name === undefined ? {} : { name: run.name }),
      path,
      state: "active",
    },
    repository: repo,
    sender: site.sender,
  };
}

/** GitHub's legacy node id: base64 of `0<type length>:<Type><id>` (`MDQ6VXNlcjE=` is user 1). */
function legacyNodeId(type: string, id: number): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString("base64");
}

/** `2024-01-02T02:04:05Z`: the form GitHub's API gives its own timestamps in. */
function utcTimestamp(iso: string): string | null {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? null : new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function nullable(text: string): string | null {
  return text === "" ? null : text;
}
