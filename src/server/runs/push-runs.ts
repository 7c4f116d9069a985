/**
 * A push to a hosted repository, turned into runs: each accepted ref update (branches and tags)
 * with a GitHub-shaped push payload, the workflows at the pushed commit, and the files it changed.
 * A deleted ref starts no push workflows, as on GitHub.
 */
import type { JsonObject } from "../../json.js";
import type { User } from "../../store/accounts.js";
import type { Repository } from "../../store/repositories.js";
import type { RunRecord } from "../../store/runs.js";
import { buildPushPayload } from "../git/push-payload.js";
import type { RefUpdate } from "../git/ref-updates.js";
import { readWorkflowFilesAt } from "../git/workflow-files.js";
import type { ServerContext } from "../server-context.js";
import { changedFilesOfPush } from "../webhooks/normalized-event.js";

export async function startPushRuns(
  context: ServerContext,
  repository: Repository,
  pusher: User,
  updates: readonly RefUpdate[],
): Promise<RunRecord[]> {
  const repositoryPath = context.repositoryPathOf(repository);
  if (!repositoryPath) return [];
  const runs: RunRecord[] = [];
  for (const update of updates) {
    if (update.deleted) continue;
    const [payload, workflowFiles] = await Promise.all([
      buildPushPayload(repositoryPath, update, {
        serverUrl: context.publicUrl,
        repository: {
          id: repository.id,
          owner: repository.owner,
          name: repository.name,
          defaultBranch: repository.defaultBranch,
        },
        pusher: { login: pusher.login, id: pusher.id },
      }),
      readWorkflowFilesAt(repositoryPath, update.after),
    ]);
    const started = await context.starter.start({
      repository,
      eventName: "push",
      payload,
      ref: update.ref,
      // An annotated tag's `after` is the tag object; the run is of the commit it tags, as on GitHub.
      sha: commitOf(payload) ?? update.after,
      actor: pusher.login,
      changedFiles: changedFilesOfPush(payload).changedFiles,
      workflowFiles,
      serverUrl: context.publicUrl,
      cloneUrl: context.cloneUrlOf(repository),
    });
    runs.push(...started.runs);
  }
  return runs;
}

function commitOf(payload: JsonObject): string | undefined {
  const head = payload.head_commit;
  return head && typeof head === "object" && !Array.isArray(head) && typeof head.id === "string"
    ? head.id
    : undefined;
}
