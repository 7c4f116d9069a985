/**
 * What a run is rebuilt from, in any server process: the workflow files as they were at the run's
 * commit, the event, and the facts its contexts are made of. Stored as JSON with the run; the
 * engine is pure, so the same definition and the same inputs give the same engine.
 */
import { buildGithubContext } from "../../engine/github-context.js";
import type { GithubContext, RepositoryFacts } from "../../engine/github-context.js";
import type { RunContexts } from "../../engine/run-engine.js";
import type { JsonObject } from "../../json.js";
import { placeholderContext } from "../secrets/job-secrets.js";
import type { RunSecretRefs } from "../secrets/job-secrets.js";

export interface RunDefinition {
  readonly workflowPath: string;
  /** The run's workflow files by repository-relative path: the top one and those it calls. */
  readonly workflowFiles: Readonly<Record<string, string>>;
  readonly eventName: string;
  readonly payload: JsonObject;
  readonly facts: RepositoryFacts;
  readonly workflowName: string;
  readonly actor: string;
  readonly serverUrl: string;
  readonly vars: JsonObject;
  readonly inputs: JsonObject;
  /** Where runners fetch the repository from. */
  readonly cloneUrl: string;
  /**
   * The names of the secrets the run may use (none for a fork's pull request) and the nonce of
   * their placeholders: values are never stored, a job's are added to its lease.
   */
  readonly secretRefs?: RunSecretRefs;
  /** A pull request from a fork (the webhook said so): its runs get no secrets. */
  readonly fromFork?: boolean;
  /** For a workflow_run run: how many workflow_run levels led to it (GitHub stops at three). */
  readonly chainDepth?: number;
}

/** The `github` context of an attempt of the run. */
export function runGithubContext(
  definition: RunDefinition,
  run: { readonly id: number; readonly runNumber: number; readonly attempt: number },
): GithubContext {
  return buildGithubContext({
    eventName: definition.eventName,
    payload: definition.payload,
    state: definition.facts,
    runId: run.id,
    runNumber: run.runNumber,
    runAttempt: run.attempt,
    actor: definition.actor,
    workflow: { name: definition.workflowName, path: definition.workflowPath },
    serverUrl: definition.serverUrl,
  });
}

export function runContexts(
  definition: RunDefinition,
  run: { readonly id: number; readonly runNumber: number; readonly attempt: number },
): RunContexts {
  return {
    github: runGithubContext(definition, run),
    vars: definition.vars,
    // Placeholders only: values are added when a job is handed to a runner, never stored with the run.
    secrets: placeholderContext(definition.secretRefs),
    inputs: definition.inputs,
  };
}
