/**
 * Gitea's and Forgejo's push and pull_request deliveries, made GitHub's. Their payloads follow
 * GitHub's closely; what differs is filled or renamed:
 * - a push has no created/deleted/forced (they follow from the shas; forced is unknown, so false),
 *   `compare_url` for `compare`, and a `total_commits` that tells when `commits` was cut short
 *   (Gitea sends at most `FEED_MAX_COMMIT_NUM`, 5 by default);
 * - users carry `full_name` where GitHub has `name`, and `is_admin` for `site_admin`;
 * - pull request actions: `synchronized` is GitHub's `synchronize`, `label_updated` and
 *   `label_cleared` are `labeled` and `unlabeled`;
 * - `mergeable` is false while Gitea is still checking a new pull request, so it is not passed
 *   on: GitHub's false means a conflict, and would stop every pull_request workflow.
 * Pure.
 */
import type { Result } from "../../diagnostic.js";
import type { JsonObject } from "../../json.js";
import { type Normalized, githubPushPayload, pullRequestEvent, pushEvent } from "./normalized-event.js";
import { pullRequestFacts, repositoryFacts } from "./normalize-github.js";
import { PayloadFields } from "./payload-fields.js";

const GITHUB_ACTIONS: Readonly<Record<string, string>> = {
  synchronized: "synchronize",
  label_updated: "labeled",
  label_cleared: "unlabeled",
};

export function normalizeGiteaPush(root: JsonObject, forge: string): Result<Normalized> {
  const fields = PayloadFields.of(root);
  const repo = fields.object("repository");
  const repository = repositoryFacts(repo);
  const commits = (fields.optionalObjects("commits") ?? []).map(commitPayload);
  const headCommit = fields.optionalObject("head_commit");
  const after = fields.sha("after");
  const totalCommits = fields.optionalNumber("total_commits");
  const payload: JsonObject = {
    ...githubPushPayload({
      ref: fields.ref("ref"),
      before: fields.sha("before"),
      after,
      compare: fields.optionalString("compare_url") ?? null,
      commits,
      headCommit: headCommit ? commitPayload(headCommit) : null,
      repository: repositoryPayload(repo),
      pusher: pusherPayload(fields.optionalObject("pusher")),
      sender: userPayload(fields.optionalObject("sender")),
    }),
    // Kept so that a list cut short is seen as one (see changedFilesOfPush).
    ...(totalCommits === undefined ? {} : { total_commits: totalCommits }),
  };
  const sha = headCommit?.optionalSha("id") ?? after;
  return fields.finish(`${forge} push payload`, {
    kind: "event",
    event: pushEvent(payload, repository, sha),
  });
}

export function normalizeGiteaPullRequest(root: JsonObject, forge: string): Result<Normalized> {
  const fields = PayloadFields.of(root);
  const given = fields.string("action");
  const action = Object.hasOwn(GITHUB_ACTIONS, given) ? (GITHUB_ACTIONS[given] ?? given) : given;
  const number = fields.positiveInteger("number");
  const pr = fields.object("pull_request");
  const repo = fields.object("repository");
  const repository = repositoryFacts(repo);
  const headRepo = pr.optionalObject("head.repo");
  const baseRepo = pr.optionalObject("base.repo") ?? repo;
  const facts = pullRequestFacts(pr, number);
  const merged = facts.merged;
  const mergedBy = pr.optionalObject("merged_by");
  const pullRequest: JsonObject = {
    ...pr.value,
    number,
    user: userPayload(pr.optionalObject("user")),
    merged_by: mergedBy ? userPayload(mergedBy) : null,
    draft: pr.optionalBoolean("draft") ?? false,
    merged,
    mergeable: null,
    head: branchPayload(pr.object("head"), headRepo),
    base: branchPayload(pr.object("base"), baseRepo),
  };
  const payload: JsonObject = {
    action,
    number,
    pull_request: pullRequest,
    repository: repositoryPayload(repo),
    sender: userPayload(fields.optionalObject("sender")),
  };
  const ids = { head: headRepo?.optionalNumber("id"), base: repo.optionalNumber("id") };
  return fields.finish(`${forge} pull_request payload`, {
    kind: "event",
    event: pullRequestEvent(payload, repository, facts, ids),
  });
}

function repositoryPayload(repo: PayloadFields): JsonObject {
  const isPrivate = repo.optionalBoolean("private") ?? false;
  return {
    ...repo.value,
    owner: userPayload(repo.optionalObject("owner")),
    visibility: isPrivate ? "private" : "public",
  };
}

function branchPayload(branch: PayloadFields, repo: PayloadFields | undefined): JsonObject {
  return {
    label: branch.optionalString("label") ?? branch.optionalString("ref") ?? "",
    ref: branch.optionalString("ref") ?? "",
    sha: branch.optionalString("sha") ?? "",
    user: repo ? userPayload(repo.optionalObject("owner")) : null,
    repo: repo ? repositoryPayload(repo) : null,
  };
}

function userPayload(user: PayloadFields | undefined): JsonObject {
  if (!user) return {};
  const name = user.optionalString("full_name");
  return {
    ...user.value,
    login: user.optionalString("login") ?? user.optionalString("username") ?? "",
    ...(name === undefined ? {} : { name }),
    type: "User",
    site_admin: user.optionalBoolean("is_admin") ?? false,
  };
}

function pusherPayload(user: PayloadFields | undefined): JsonObject {
  return {
    name: user?.optionalString("login") ?? user?.optionalString("username") ?? "",
    email: user?.optionalString("email") ?? null,
  };
}

function commitPayload(commit: PayloadFields): JsonObject {
  return { distinct: true, ...commit.value, id: commit.sha("id") };
}
