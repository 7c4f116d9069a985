/**
 * GitHub's push and pull_request deliveries: already the payloads workflows read, so they pass
 * through whole once the fields Conveyor relies on are checked. Pure.
 */
import type { Result } from "../../diagnostic.js";
import type { JsonObject } from "../../json.js";
import {
  type Normalized,
  type NormalizedRepository,
  type PullRequestFacts,
  isNullSha,
  pullRequestEvent,
  pushEvent,
} from "./normalized-event.js";
import { PayloadFields } from "./payload-fields.js";

export function normalizeGitHubPush(root: JsonObject): Result<Normalized> {
  const fields = PayloadFields.of(root);
  const ref = fields.ref("ref");
  const before = fields.sha("before");
  const after = fields.sha("after");
  const repository = repositoryFacts(fields.object("repository"));
  fields.optionalObjects("commits");
  const headCommitId = fields.optionalSha("head_commit.id");
  const payload: JsonObject = {
    ...root,
    created: fields.optionalBoolean("created") ?? (isNullSha(before) && !isNullSha(after)),
    deleted: fields.optionalBoolean("deleted") ?? isNullSha(after),
    forced: fields.optionalBoolean("forced") ?? false,
  };
  // For an annotated tag `after` is the tag object; head_commit is the commit it points to.
  const sha = headCommitId ?? after;
  return fields.finish("GitHub push payload", {
    kind: "event",
    event: pushEvent({ ...payload, ref }, repository, sha),
  });
}

export function normalizeGitHubPullRequest(root: JsonObject): Result<Normalized> {
  const fields = PayloadFields.of(root);
  const action = fields.string("action");
  const number = fields.positiveInteger("number");
  const pr = fields.object("pull_request");
  const headRepo = pr.optionalObject("head.repo");
  const repository = repositoryFacts(fields.object("repository"));
  const facts = pullRequestFacts(pr, number);
  const ids = { head: headRepo?.optionalNumber("id"), base: fields.optionalNumber("repository.id") };
  return fields.finish("GitHub pull_request payload", {
    kind: "event",
    event: pullRequestEvent({ ...root, action }, repository, facts, ids),
  });
}

/** The facts of a pull request as GitHub's payload has them (and Gitea's, which follows it). */
export function pullRequestFacts(pr: PayloadFields, number: number): PullRequestFacts {
  const headRepo = pr.optionalObject("head.repo");
  return {
    number,
    headBranch: pr.branch("head.ref"),
    headSha: pr.sha("head.sha"),
    baseBranch: pr.branch("base.ref"),
    baseSha: pr.sha("base.sha"),
    headFetchRef: `refs/pull/${number}/head`,
    ...(headRepo ? { headRepository: repositoryFacts(headRepo) } : {}),
    merged: pr.optionalBoolean("merged") ?? false,
  };
}

export function repositoryFacts(repo: PayloadFields): NormalizedRepository {
  return {
    fullName: repo.string("full_name"),
    cloneUrl: repo.string("clone_url"),
    defaultBranch: repo.branch("default_branch"),
  };
}
