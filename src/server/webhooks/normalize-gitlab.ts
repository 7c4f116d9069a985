/**
 * GitLab's push, tag push and merge request deliveries, made GitHub's. Pure.
 *
 * GitLab's words and GitHub's:
 * - a project is a repository: `path_with_namespace` its full name (`group/subgroup/name`),
 *   `git_http_url` its clone URL, `visibility_level` 0/10/20 private/internal/public;
 * - a push names its user in `user_*` fields, lists at most 20 commits with `total_commits_count`
 *   beside them, names only each commit's author, and says nothing of forced pushes (false here);
 *   a tag push (`tag_push`) gives the tagged commit in `checkout_sha`;
 * - a merge request is a pull request whose number is its `iid`; its actions become GitHub's:
 *   open → opened, reopen → reopened, close → closed, merge → closed with `merged: true`,
 *   update with `oldrev` (new commits) → synchronize, any other update → edited. Approvals are
 *   not pull request activity on GitHub (they are reviews), so they start nothing;
 * - a merge request payload does not carry the target branch's tip: `base.sha` is null.
 */
import type { Result } from "../../diagnostic.js";
import type { JsonObject } from "../../json.js";
import {
  type Normalized,
  type NormalizedRepository,
  githubPushPayload,
  isNullSha,
  pullRequestEvent,
  pushEvent,
} from "./normalized-event.js";
import { PayloadFields } from "./payload-fields.js";

const MERGE_REQUEST_ACTIONS: Readonly<Record<string, string>> = {
  open: "opened",
  reopen: "reopened",
  close: "closed",
  merge: "closed",
};

const VISIBILITY: Readonly<Record<number, string>> = { 0: "private", 10: "internal", 20: "public" };
const PUBLIC = 20;

export function normalizeGitLabPush(root: JsonObject): Result<Normalized> {
  const fields = PayloadFields.of(root);
  fields.oneOf("object_kind", ["push", "tag_push"]);
  const project = fields.object("project");
  const repository = projectFacts(project);
  const before = fields.sha("before");
  const after = fields.sha("after");
  // A tag push names the tagged commit here; `after` may be an annotated tag's object.
  const sha = fields.optionalSha("checkout_sha") ?? after;
  const commits = (fields.optionalObjects("commits") ?? []).map(commitPayload);
  const totalCommits = fields.optionalNumber("total_commits_count");
  const login = fields.optionalString("user_username") ?? fields.optionalString("user_name") ?? "";
  const email = knownEmail(fields.optionalString("user_email"));
  const webUrl = project.optionalString("web_url");
  const compared = !isNullSha(before) && !isNullSha(after) && webUrl !== undefined;
  const payload: JsonObject = {
    ...githubPushPayload({
      ref: fields.ref("ref"),
      before,
      after,
      compare: compared ? `${webUrl}/-/compare/${before}...${after}` : null,
      commits,
      headCommit: commits.find((commit) => commit.id === sha) ?? null,
      repository: projectPayload(
        project,
        project.optionalNumber("id") ?? fields.optionalNumber("project_id"),
        false,
      ),
      pusher: { name: login, email },
      sender: {
        login,
        id: fields.optionalNumber("user_id") ?? null,
        name: fields.optionalString("user_name") ?? login,
        email,
        avatar_url: fields.optionalString("user_avatar") ?? null,
        type: "User",
      },
    }),
    // Kept so that a list cut short is seen as one (see changedFilesOfPush).
    ...(totalCommits === undefined ? {} : { total_commits: totalCommits }),
  };
  return fields.finish("GitLab push payload", { kind: "event", event: pushEvent(payload, repository, sha) });
}

export function normalizeGitLabMergeRequest(root: JsonObject): Result<Normalized> {
  const fields = PayloadFields.of(root);
  fields.oneOf("object_kind", ["merge_request"]);
  const attrs = fields.object("object_attributes");
  const given = attrs.string("action");
  const oldrev = attrs.optionalSha("oldrev");
  const action =
    given === "update" ? (oldrev === undefined ? "edited" : "synchronize") : MERGE_REQUEST_ACTIONS[given];
  if (action === undefined) {
    return fields.finish("GitLab merge request payload", {
      kind: "ignored",
      reason: `merge request action '${given}' is not a pull request activity; it starts no pull_request workflows`,
    });
  }
  const number = attrs.positiveInteger("iid");
  const source = attrs.object("source");
  const target = attrs.object("target");
  const sourceId = attrs.number("source_project_id");
  const targetId = attrs.number("target_project_id");
  const project = fields.object("project");
  const repository = projectFacts(project);
  const headBranch = attrs.branch("source_branch");
  const baseBranch = attrs.branch("target_branch");
  const headSha = attrs.sha("last_commit.id");
  const state = attrs.optionalString("state");
  const merged = given === "merge" || state === "merged";
  const url = attrs.optionalString("url") ?? null;
  const pullRequest: JsonObject = {
    id: attrs.optionalNumber("id") ?? null,
    number,
    url,
    html_url: url,
    state: state === "opened" || state === "locked" ? "open" : "closed",
    locked: state === "locked",
    title: attrs.optionalString("title") ?? "",
    body: attrs.optionalString("description") ?? null,
    user: { id: attrs.optionalNumber("author_id") ?? null, type: "User" },
    created_at: attrs.optionalString("created_at") ?? null,
    updated_at: attrs.optionalString("updated_at") ?? null,
    merge_commit_sha: attrs.optionalString("merge_commit_sha") ?? null,
    labels: (attrs.optionalObjects("labels") ?? []).map(labelPayload),
    draft: attrs.optionalBoolean("draft") ?? attrs.optionalBoolean("work_in_progress") ?? false,
    merged,
    mergeable: null,
    head: branchPayload(source, sourceId, headBranch, headSha, sourceId !== targetId),
    base: branchPayload(target, targetId, baseBranch, null, false),
  };
  const payload: JsonObject = {
    action,
    number,
    ...(action === "synchronize" && oldrev !== undefined ? { before: oldrev, after: headSha } : {}),
    pull_request: pullRequest,
    repository: projectPayload(project, project.optionalNumber("id") ?? targetId, false),
    sender: userPayload(fields.optionalObject("user")),
  };
  const facts = {
    number,
    headBranch,
    headSha,
    baseBranch,
    headFetchRef: `refs/merge-requests/${number}/head`,
    headRepository: {
      fullName: source.string("path_with_namespace"),
      cloneUrl: source.string("git_http_url"),
      defaultBranch: source.optionalString("default_branch") ?? "",
    },
    merged,
  };
  return fields.finish("GitLab merge request payload", {
    kind: "event",
    event: pullRequestEvent(payload, repository, facts, { head: sourceId, base: targetId }),
  });
}

function projectFacts(project: PayloadFields): NormalizedRepository {
  return {
    fullName: project.string("path_with_namespace"),
    cloneUrl: project.string("git_http_url"),
    defaultBranch: project.branch("default_branch"),
  };
}

/** GitLab's namespace (a user or a group) as GitHub's owner. */
function ownerPayload(project: PayloadFields): JsonObject {
  const path = project.optionalString("path_with_namespace") ?? "";
  const namespace = path.slice(0, Math.max(path.lastIndexOf("/"), 0));
  return { login: namespace, name: project.optionalString("namespace") ?? namespace };
}

function projectPayload(project: PayloadFields, id: number | undefined, fork: boolean): JsonObject {
  const path = project.optionalString("path_with_namespace") ?? "";
  const level = project.optionalNumber("visibility_level");
  const webUrl = project.optionalString("web_url") ?? null;
  return {
    id: id ?? null,
    name: path.slice(path.lastIndexOf("/") + 1),
    full_name: path,
    // Without a visibility level, private: the safer guess.
    private: level !== PUBLIC,
    visibility: (level === undefined ? undefined : VISIBILITY[level]) ?? "private",
    owner: ownerPayload(project),
    html_url: webUrl,
    description: project.optionalString("description") ?? null,
    fork,
    url: webUrl,
    clone_url: project.optionalString("git_http_url") ?? null,
    ssh_url: project.optionalString("git_ssh_url") ?? null,
    homepage: project.optionalString("homepage") ?? null,
    default_branch: project.optionalString("default_branch") ?? null,
  };
}

function branchPayload(
  project: PayloadFields,
  id: number,
  branch: string,
  sha: string | null,
  fork: boolean,
): JsonObject {
  const owner = ownerPayload(project);
  return {
    label: `${String(owner.login)}:${branch}`,
    ref: branch,
    sha,
    user: owner,
    repo: projectPayload(project, id, fork),
  };
}

function userPayload(user: PayloadFields | undefined): JsonObject {
  const login = user?.optionalString("username") ?? "";
  return {
    login,
    id: user?.optionalNumber("id") ?? null,
    name: user?.optionalString("name") ?? login,
    email: knownEmail(user?.optionalString("email")),
    avatar_url: user?.optionalString("avatar_url") ?? null,
    type: "User",
  };
}

function commitPayload(commit: PayloadFields): JsonObject {
  const author = commit.optionalObject("author");
  const person = { name: author?.optionalString("name") ?? "", email: author?.optionalString("email") ?? "" };
  const files = ["added", "removed", "modified"].flatMap((key) => {
    const list = commit.optionalStrings(key);
    return list === undefined ? [] : [[key, list] as const];
  });
  return {
    id: commit.sha("id"),
    distinct: true,
    message: commit.optionalString("message") ?? "",
    timestamp: commit.optionalString("timestamp") ?? null,
    url: commit.optionalString("url") ?? null,
    author: person,
    // GitLab names only the author.
    committer: person,
    ...Object.fromEntries(files),
  };
}

function labelPayload(label: PayloadFields): JsonObject {
  return {
    id: label.optionalNumber("id") ?? null,
    name: label.optionalString("title") ?? "",
    color: (label.optionalString("color") ?? "").replace(/^#/u, ""),
    description: label.optionalString("description") ?? null,
  };
}

/** GitLab writes `[REDACTED]` for an email its owner keeps private. */
function knownEmail(email: string | undefined): string | null {
  return email === undefined || email === "[REDACTED]" ? null : email;
}
