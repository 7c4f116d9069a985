/**
 * The `github` context of a run, and the `GITHUB_*` variables a step sees, built the way GitHub
 * builds them (docs: "Contexts reference" -> github context; "Variables reference" -> default
 * environment variables). Pure: the event payload is the source of truth for what the event says;
 * the repository's state fills in what a payload does not carry (the checked-out sha, say).
 *
 * GitHub's per-event `ref` and `sha` ("Events that trigger workflows"):
 * - push: the pushed ref and `after`;
 * - pull_request (and its review events): `refs/pull/N/merge` and the merge commit. A local run
 *   has no merge commit, so `sha` is the pull request's head sha (the working tree's HEAD when the
 *   payload names none);
 * - pull_request_target: the base branch and its tip;
 * - workflow_dispatch: the ref in the payload, HEAD's sha;
 * - create: the created branch or tag; release: `refs/tags/<tag_name>`;
 * - deployment(_status), merge_group: the ref and sha they name;
 * - every other event (schedule, workflow_run, issues, ...): the default branch, as on GitHub;
 *   `sha` stays the working tree's HEAD, because that is what runs.
 * Numbers GitHub gives as strings in this context (run_id, run_number, ids) are strings here too.
 */
import type { JsonObject, JsonValue } from "../json.js";
import { isJsonObject, isJsonValue } from "../json.js";
import { NULL_SHA, placeholderId } from "../git/repository-state.js";
import type { RepositoryState } from "../git/repository-state.js";

export const DEFAULT_SERVER_URL = "https://github.com";

/** The `github` context. A type alias (not an interface) so it is a JsonObject as it stands. */
export type GithubContext = {
  readonly action: string;
  readonly action_path: string;
  readonly action_ref: string;
  readonly action_repository: string;
  readonly action_status: string;
  readonly actor: string;
  readonly actor_id: string;
  readonly api_url: string;
  readonly base_ref: string;
  readonly event: JsonObject;
  readonly event_name: string;
  readonly event_path: string;
  readonly graphql_url: string;
  readonly head_ref: string;
  readonly job: string;
  readonly ref: string;
  readonly ref_name: string;
  readonly ref_protected: boolean;
  readonly ref_type: string;
  readonly repository: string;
  readonly repository_id: string;
  readonly repository_owner: string;
  readonly repository_owner_id: string;
  readonly repositoryUrl: string;
  readonly retention_days: string;
  readonly run_attempt: string;
  readonly run_id: string;
  readonly run_number: string;
  readonly server_url: string;
  readonly sha: string;
  readonly token: string;
  readonly triggering_actor: string;
  readonly workflow: string;
  readonly workflow_ref: string;
  readonly workflow_sha: string;
  readonly workspace: string;
};

/** What the context needs of the repository's state: fallbacks for what the payload leaves out. */
export type RepositoryFacts = Pick<
  RepositoryState,
  "owner" | "name" | "ref" | "headSha" | "defaultBranch" | "root" | "user"
>;

export interface GithubContextInput {
  readonly eventName: string;
  /** The webhook payload (`github.event`), already merged with any the user gave. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly state: RepositoryFacts;
  readonly runId: string | number;
  readonly runNumber: number;
  /** Default 1. */
  readonly runAttempt?: number;
  /** Default: the payload's sender, else the local user's login. */
  readonly actor?: string;
  /** Default: the actor. */
  readonly triggeringActor?: string;
  /** `name` is the workflow's name (its path when it has none); `path` is repository-relative. */
  readonly workflow: { readonly name: string; readonly path: string };
  /** Default https://github.com. */
  readonly serverUrl?: string;
  /** Default: the repository's root. A job's own workspace comes with `githubContextForJob`. */
  readonly workspace?: string;
  readonly job?: string;
  readonly eventPath?: string;
  /** Empty unless given: a local run has no GITHUB_TOKEN of its own. */
  readonly token?: string;
  /** Default 90, GitHub's default retention. */
  readonly retentionDays?: number;
}

export function buildGithubContext(input: GithubContextInput): GithubContext {
  const event = jsonObjectOf(input.payload);
  const { state } = input;
  const serverUrl = (input.serverUrl ?? DEFAULT_SERVER_URL).replace(/\/+$/, "");
  const repository = objectAt(event, "repository");
  const owner = objectAt(repository, "owner");
  const fullName = stringAt(repository, "full_name") ?? `${state.owner}/${state.name}`;
  const ownerLogin = stringAt(owner, "login") ?? fullName.slice(0, Math.max(0, fullName.lastIndexOf("/")));
  const sender = objectAt(event, "sender");
  const actor = input.actor ?? stringAt(sender, "login") ?? state.user.login;
  const senderId = numberAt(sender, "id");
  const actorId =
    stringAt(sender, "login") === actor && senderId !== undefined ? senderId : placeholderId(actor);
  const { ref, sha } = refAndSha(input.eventName, event, state);
  const { name: refName, type: refType } = describeRef(ref);
  const pullRequest =
    PULL_REQUEST_REF_EVENTS.has(input.eventName) || input.eventName === "pull_request_target";
  const pr = objectAt(event, "pull_request");
  return {
    action: "",
    action_path: "",
    action_ref: "",
    action_repository: "",
    action_status: "",
    actor,
    actor_id: String(actorId),
    api_url: apiUrlFor(serverUrl),
    // GitHub sets these only for pull_request and pull_request_target; other events get "".
    base_ref: pullRequest ? (stringAt(objectAt(pr, "base"), "ref") ?? "") : "",
    event,
    event_name: input.eventName,
    event_path: input.eventPath ?? "",
    graphql_url: graphqlUrlFor(serverUrl),
    head_ref: pullRequest ? (stringAt(objectAt(pr, "head"), "ref") ?? "") : "",
    job: input.job ?? "",
    ref,
    ref_name: refName,
    // No branch protection exists locally.
    ref_protected: false,
    ref_type: refType,
    repository: fullName,
    repository_id: String(numberAt(repository, "id") ?? placeholderId(fullName)),
    repository_owner: ownerLogin,
    repository_owner_id: String(numberAt(owner, "id") ?? placeholderId(ownerLogin)),
    repositoryUrl: `git://${hostOf(serverUrl)}/${fullName}.git`,
    retention_days: String(input.retentionDays ?? 90),
    run_attempt: String(input.runAttempt ?? 1),
    run_id: String(input.runId),
    run_number: String(input.runNumber),
    server_url: serverUrl,
    sha,
    token: input.token ?? "",
    triggering_actor: input.triggeringActor ?? actor,
    workflow: input.workflow.name,
    workflow_ref: `${fullName}/${input.workflow.path}@${ref}`,
    workflow_sha: sha,
    workspace: input.workspace ?? state.root,
  };
}

/** The context as one job sees it: its id and its workspace. */
export function githubContextForJob(
  context: GithubContext,
  job: { readonly job: string; readonly workspace: string },
): GithubContext {
  return { ...context, job: job.job, workspace: job.workspace };
}

/** The `action*` fields of one step (docs: github.action, github.action_path, ...). */
export interface StepAction {
  /** The step's id, or GitHub's generated name (`__run`, `__run_2`, `__actions_checkout`). */
  readonly action: string;
  /** Where the action's files are; composite actions only. */
  readonly actionPath?: string;
  /** For a step running an action: its ref (`v4`) and `owner/repo`. */
  readonly actionRef?: string;
  readonly actionRepository?: string;
  /** For a composite action: the current result of the composite action. */
  readonly actionStatus?: string;
}

/** The context as one step sees it. Fields a step does not set are empty, as on GitHub. */
export function githubContextForStep(context: GithubContext, step: StepAction): GithubContext {
  return {
    ...context,
    action: step.action,
    action_path: step.actionPath ?? "",
    action_ref: step.actionRef ?? "",
    action_repository: step.actionRepository ?? "",
    action_status: step.actionStatus ?? "",
  };
}

/**
 * The default variables a step sees, from its context. As GitHub's runner does, a variable is set
 * (possibly empty) for every field, so GITHUB_BASE_REF and GITHUB_HEAD_REF are empty strings outside
 * pull requests; GITHUB_ACTION_PATH is set only when there is an action path (composite actions).
 * The per-step file variables (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STATE,
 * GITHUB_STEP_SUMMARY) and RUNNER_* belong to the runner.
 */
export function githubEnvironmentVariables(context: GithubContext): Record<string, string> {
  return {
    CI: "true",
    GITHUB_ACTION: context.action,
    ...(context.action_path === "" ? {} : { GITHUB_ACTION_PATH: context.action_path }),
    GITHUB_ACTION_REF: context.action_ref,
    GITHUB_ACTION_REPOSITORY: context.action_repository,
    GITHUB_ACTIONS: "true",
    GITHUB_ACTOR: context.actor,
    GITHUB_ACTOR_ID: context.actor_id,
    GITHUB_API_URL: context.api_url,
    GITHUB_BASE_REF: context.base_ref,
    GITHUB_EVENT_NAME: context.event_name,
    GITHUB_EVENT_PATH: context.event_path,
    GITHUB_GRAPHQL_URL: context.graphql_url,
    GITHUB_HEAD_REF: context.head_ref,
    GITHUB_JOB: context.job,
    GITHUB_REF: context.ref,
    GITHUB_REF_NAME: context.ref_name,
    GITHUB_REF_PROTECTED: String(context.ref_protected),
    GITHUB_REF_TYPE: context.ref_type,
    GITHUB_REPOSITORY: context.repository,
    GITHUB_REPOSITORY_ID: context.repository_id,
    GITHUB_REPOSITORY_OWNER: context.repository_owner,
    GITHUB_REPOSITORY_OWNER_ID: context.repository_owner_id,
    GITHUB_RETENTION_DAYS: context.retention_days,
    GITHUB_RUN_ATTEMPT: context.run_attempt,
    GITHUB_RUN_ID: context.run_id,
    GITHUB_RUN_NUMBER: context.run_number,
    GITHUB_SERVER_URL: context.server_url,
    GITHUB_SHA: context.sha,
    GITHUB_TRIGGERING_ACTOR: context.triggering_actor,
    GITHUB_WORKFLOW: context.workflow,
    GITHUB_WORKFLOW_REF: context.workflow_ref,
    GITHUB_WORKFLOW_SHA: context.workflow_sha,
    GITHUB_WORKSPACE: context.workspace,
  };
}

/** GitHub's REST API root: api.github.com for github.com, `<server>/api/v3` for GitHub Enterprise Server. */
export function apiUrlFor(serverUrl: string): string {
  return isGithubDotCom(serverUrl) ? "https://api.github.com" : `${serverUrl.replace(/\/+$/, "")}/api/v3`;
}

export function graphqlUrlFor(serverUrl: string): string {
  return isGithubDotCom(serverUrl)
    ? "https://api.github.com/graphql"
    : `${serverUrl.replace(/\/+$/, "")}/api/graphql`;
}

function isGithubDotCom(serverUrl: string): boolean {
  return hostOf(serverUrl).toLowerCase() === "github.com";
}

/** The host (and port) of a server URL: `github.com`. */
export function hostOf(serverUrl: string): string {
  try {
    return new URL(serverUrl).host;
  } catch {
    return serverUrl.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  }
}

/** `ref_name` and `ref_type`: `main`/branch, `v1`/tag, `12/merge`/branch (GitHub calls a PR ref a branch). */
export function describeRef(ref: string): { name: string; type: string } {
  if (ref.startsWith("refs/heads/")) return { name: ref.slice("refs/heads/".length), type: "branch" };
  if (ref.startsWith("refs/tags/")) return { name: ref.slice("refs/tags/".length), type: "tag" };
  if (ref.startsWith("refs/pull/")) return { name: ref.slice("refs/pull/".length), type: "branch" };
  return { name: ref.replace(/^refs\/[^/]+\//, ""), type: "" };
}

/** Events whose `ref` is the pull request's merge ref. */
const PULL_REQUEST_REF_EVENTS = new Set([
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
]);

function refAndSha(
  eventName: string,
  event: JsonObject,
  state: RepositoryFacts,
): { ref: string; sha: string } {
  const head = state.headSha;
  const pr = objectAt(event, "pull_request");
  if (PULL_REQUEST_REF_EVENTS.has(eventName)) {
    const number = numberAt(event, "number") ?? numberAt(pr, "number");
    const prHead = stringAt(objectAt(pr, "head"), "sha");
    return { ref: number === undefined ? state.ref : `refs/pull/${number}/merge`, sha: prHead ?? head };
  }
  switch (eventName) {
    case "push": {
      const after = stringAt(event, "after");
      const usable = after !== undefined && after !== NULL_SHA && event.deleted !== true;
      return { ref: stringAt(event, "ref") ?? state.ref, sha: usable ? after : head };
    }
    case "pull_request_target": {
      const base = objectAt(pr, "base");
      const branch = stringAt(base, "ref");
      return {
        ref: branch === undefined ? state.ref : qualify(branch, "heads"),
        sha: stringAt(base, "sha") ?? head,
      };
    }
    case "workflow_dispatch":
      return { ref: stringAt(event, "ref") ?? state.ref, sha: head };
    case "create": {
      const name = stringAt(event, "ref");
      if (name === undefined) return { ref: state.ref, sha: head };
      return { ref: qualify(name, event.ref_type === "tag" ? "tags" : "heads"), sha: head };
    }
    case "release": {
      const tag = stringAt(objectAt(event, "release"), "tag_name");
      return { ref: tag === undefined ? state.ref : qualify(tag, "tags"), sha: head };
    }
    case "deployment":
    case "deployment_status": {
      const deployment = objectAt(event, "deployment");
      return { ref: stringAt(deployment, "ref") ?? state.ref, sha: stringAt(deployment, "sha") ?? head };
    }
    case "merge_group": {
      const group = objectAt(event, "merge_group");
      return { ref: stringAt(group, "head_ref") ?? state.ref, sha: stringAt(group, "head_sha") ?? head };
    }
    default: {
      const defaultBranch = stringAt(objectAt(event, "repository"), "default_branch") ?? state.defaultBranch;
      return { ref: qualify(defaultBranch, "heads"), sha: head };
    }
  }
}

function qualify(name: string, kind: "heads" | "tags"): string {
  return name.startsWith("refs/") ? name : `refs/${kind}/${name}`;
}

// ---------------------------------------------------------------------------------------------
// Reading a payload

/** Keeps the JSON values of a payload (it came from JSON, so normally all of them). */
function jsonObjectOf(payload: Readonly<Record<string, unknown>>): JsonObject {
  // fromEntries defines own keys, so a `__proto__` key stays a key.
  return Object.fromEntries(
    Object.entries(payload).filter((entry): entry is [string, JsonValue] => isJsonValue(entry[1])),
  );
}

function objectAt(object: JsonObject | undefined, key: string): JsonObject | undefined {
  const value: JsonValue | undefined = object?.[key];
  return value !== undefined && isJsonObject(value) ? value : undefined;
}

function stringAt(object: JsonObject | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function numberAt(object: JsonObject | undefined, key: string): number | undefined {
  const value = object?.[key];
  return typeof value === "number" ? value : undefined;
}
