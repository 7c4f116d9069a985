/**
 * `on: workflow_run`: when a run finishes, the workflows on the repository's default branch that
 * name its workflow start (action `completed`), as on GitHub. GitHub stops such chains after three
 * levels; so does Conveyor, so two workflows that trigger each other cannot loop for ever.
 */
import type { JsonObject } from "../../json.js";
import type { RunRecord } from "../../store/runs.js";
import { resolveRefAt } from "../git/bare-repositories.js";
import { readWorkflowFilesAt } from "../git/workflow-files.js";
import type { ServerContext } from "../server-context.js";
import type { RunDefinition } from "./run-definition.js";

/** GitHub: "You can't use workflow_run to chain together more than three levels of workflows." */
export const MAX_WORKFLOW_RUN_CHAIN = 3;

export async function startWorkflowRunWorkflows(
  context: ServerContext,
  finished: RunRecord,
): Promise<number[]> {
  const depth = chainDepthOf(finished, await context.store.runs.definition(finished.id));
  if (depth >= MAX_WORKFLOW_RUN_CHAIN) return [];
  const repository = await context.store.repositories.byId(finished.repositoryId);
  const path = repository ? context.repositoryPathOf(repository) : undefined;
  const sha = repository && path ? await resolveRefAt(path, repository.defaultBranch) : undefined;
  if (!repository || !path || !sha) return [];
  const workflowFiles = await readWorkflowFilesAt(path, sha);
  const branch = finished.ref.startsWith("refs/heads/") ? finished.ref.slice("refs/heads/".length) : null;
  const repositoryPayload: JsonObject = {
    full_name: repository.fullName,
    name: repository.name,
    owner: { login: repository.owner },
    default_branch: repository.defaultBranch,
  };
  const payload: JsonObject = {
    action: "completed",
    workflow_run: {
      id: finished.id,
      name: finished.workflowName,
      path: finished.workflowPath,
      display_title: finished.title,
      head_branch: branch,
      head_sha: finished.sha,
      run_number: finished.runNumber,
      run_attempt: finished.attempt,
      event: finished.event,
      status: "completed",
      conclusion: finished.conclusion,
      html_url: `${context.publicUrl}/${repository.fullName}/runs/${finished.id}`,
      created_at: finished.createdAt,
      updated_at: finished.finishedAt,
      repository: repositoryPayload,
      head_repository: repositoryPayload,
      actor: { login: finished.actor },
    },
    workflow: { name: finished.workflowName, path: finished.workflowPath },
    repository: repositoryPayload,
    sender: { login: finished.actor },
  };
  const started = await context.starter.start({
    repository,
    eventName: "workflow_run",
    payload,
    ref: `refs/heads/${repository.defaultBranch}`,
    sha,
    actor: finished.actor,
    workflowFiles,
    chainDepth: depth + 1,
    serverUrl: context.publicUrl,
    cloneUrl: context.cloneUrlOf(repository),
  });
  return started.runs.map((r) => r.id);
}

/** How many workflow_run levels led to this run (0 for a run started by anything else). */
function chainDepthOf(run: RunRecord, definitionText: string | undefined): number {
  if (run.event !== "workflow_run" || !definitionText) return 0;
  return (JSON.parse(definitionText) as RunDefinition).chainDepth ?? 1;
}
