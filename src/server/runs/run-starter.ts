/**
 * From an event in a repository to runs: which of the repository's workflows (at the event's
 * commit) the event starts, each becoming a run on the coordinator. Push, pull_request, webhooks,
 * dispatch, schedule and workflow_run all come through here.
 */
import { error, formatDiagnostic } from "../../diagnostic.js";
import type { Diagnostic } from "../../diagnostic.js";
import type { RepositoryFacts } from "../../engine/github-context.js";
import { evaluateString } from "../../expressions/template.js";
import type { JsonObject } from "../../json.js";
import type { Repository } from "../../store/repositories.js";
import type { RunRecord } from "../../store/runs.js";
import { eventInputs, resolveInputs } from "../../workflow/inputs.js";
import type { Workflow } from "../../workflow/model.js";
import { matchTrigger } from "../../workflow/triggers.js";
import type { RunCoordinator } from "./run-coordinator.js";
import { runGithubContext } from "./run-definition.js";
import type { RunDefinition } from "./run-definition.js";
import { secretsWithheld } from "../secrets/job-secrets.js";
import type { SecretsService } from "../secrets/secrets-service.js";

export interface RepositoryEvent {
  readonly repository: Repository;
  readonly eventName: string;
  readonly payload: JsonObject;
  readonly ref: string;
  readonly sha: string;
  readonly actor: string;
  /** Files the push or pull request changed; undefined when unknown (paths filters then match). */
  readonly changedFiles?: readonly string[];
  /** The repository's workflow files at `sha`, by path. */
  readonly workflowFiles: Readonly<Record<string, string>>;
  /** workflow_dispatch: the one workflow to run (its path or file name) and its inputs. */
  readonly dispatch?: { readonly workflow: string; readonly inputs: Readonly<Record<string, unknown>> };
  /** schedule: the workflow and the cron that fired. */
  readonly schedule?: { readonly workflowPath: string; readonly cron: string };
  readonly serverUrl: string;
  readonly cloneUrl: string;
  /** workflow_run: the level of the chain the new runs are at. */
  readonly chainDepth?: number;
  /** A pull request whose head is in another repository (a fork): no secrets. */
  readonly fromFork?: boolean;
}

export interface StartedRuns {
  readonly runs: RunRecord[];
  /** Workflows the event does not start, with why (for people asking "why did nothing run?"). */
  readonly skipped: string[];
  /** Workflow files that are invalid, or a dispatch that cannot start. */
  readonly errors: Diagnostic[];
}

export class RunStarter {
  constructor(
    private readonly coordinator: RunCoordinator,
    /** Variables and secret names for new runs; without it runs get none. */
    private readonly secrets?: SecretsService,
  ) {}

  async start(event: RepositoryEvent): Promise<StartedRuns> {
    const runs: RunRecord[] = [];
    const skipped: string[] = [];
    const errors: Diagnostic[] = [];
    const candidates = this.candidates(event);
    if (event.dispatch && candidates.length === 0) {
      errors.push(
        error(`no workflow '${event.dispatch.workflow}' at ${event.ref}: name a file in .github/workflows.`),
      );
    }
    for (const path of candidates) {
      // Parsed with the workflows it calls (screened as files on disk are), once per content: the
      // coordinator rebuilds the run's engine from the same cache.
      const loaded = await this.coordinator.trees.load(path, event.workflowFiles);
      if (!loaded.ok) {
        errors.push(...loaded.errors);
        continue;
      }
      const workflow = loaded.value.workflow;
      const payload = this.payloadFor(event, workflow);
      const match = matchTrigger(workflow.on, {
        name: event.eventName,
        payload,
        changedFiles: event.changedFiles,
      });
      if (!match.runs) {
        skipped.push(`${path}: ${match.reason}`);
        continue;
      }
      let inputs: JsonObject = {};
      let runPayload = payload;
      if (event.dispatch) {
        const resolved = resolveInputs("workflow_dispatch", workflow.dispatchInputs, event.dispatch.inputs);
        if (!resolved.ok) {
          errors.push(...resolved.errors.map((e) => error(`${path}: ${e.message}`, e.location)));
          continue;
        }
        inputs = resolved.value;
        runPayload = { ...payload, inputs: eventInputs(resolved.value) };
      }
      const definition: RunDefinition = {
        workflowPath: path,
        workflowFiles: event.workflowFiles,
        eventName: event.eventName,
        payload: runPayload,
        facts: factsOf(event),
        workflowName: workflow.name,
        actor: event.actor,
        serverUrl: event.serverUrl,
        vars: (await this.secrets?.runVariables(event.repository.id)) ?? {},
        inputs,
        cloneUrl: event.cloneUrl,
        ...(this.secrets
          ? {
              secretRefs: await this.secrets.runSecretRefs(
                event.repository.id,
                secretsWithheld(event.eventName, runPayload, event.fromFork),
              ),
            }
          : {}),
        ...(event.fromFork === true ? { fromFork: true } : {}),
        ...(event.chainDepth === undefined ? {} : { chainDepth: event.chainDepth }),
      };
      runs.push(
        await this.coordinator.startRun(
          {
            repositoryId: event.repository.id,
            workflowPath: path,
            workflowName: workflow.name,
            event: event.eventName,
            ref: event.ref,
            sha: event.sha,
            actor: event.actor,
            title: runTitle(workflow, definition, runPayload),
          },
          definition,
        ),
      );
    }
    return { runs, skipped, errors };
  }

  /** The workflow files the event may start: one for a dispatch or a schedule, else all. */
  private candidates(event: RepositoryEvent): string[] {
    const paths = Object.keys(event.workflowFiles).sort();
    if (event.dispatch) {
      const wanted = event.dispatch.workflow;
      return paths.filter((p) => p === wanted || p.split("/").pop() === wanted);
    }
    if (event.schedule) return paths.filter((p) => p === event.schedule?.workflowPath);
    return paths.filter((p) => isTopLevelWorkflow(p));
  }

  private payloadFor(event: RepositoryEvent, workflow: Workflow): JsonObject {
    if (event.schedule) return { ...event.payload, schedule: event.schedule.cron };
    if (event.dispatch) return { ...event.payload, workflow: workflow.path };
    return event.payload;
  }
}

/** Workflows sit directly in their folder; files deeper are not workflows (GitHub ignores them). */
function isTopLevelWorkflow(path: string): boolean {
  return /^\.(github|gitea|forgejo)\/workflows\/[^/]+\.ya?ml$/.test(path);
}

function factsOf(event: RepositoryEvent): RepositoryFacts {
  return {
    owner: event.repository.owner,
    name: event.repository.name,
    ref: event.ref,
    headSha: event.sha,
    defaultBranch: event.repository.defaultBranch,
    root: "",
    user: { login: event.actor, name: event.actor, email: "" },
  };
}

/**
 * What the run is called, as GitHub names it: `run-name` evaluated (github and inputs contexts
 * only), else the pull request's title, else the head commit's first line, else the workflow's name.
 */
function runTitle(workflow: Workflow, definition: RunDefinition, payload: JsonObject): string {
  if (workflow.runName) {
    const github = runGithubContext(definition, { id: 0, runNumber: 0, attempt: 1 });
    const value = evaluateString(
      workflow.runName,
      { github, inputs: definition.inputs },
      { fileName: workflow.fileName },
    );
    if (value.ok) return value.value;
    return `${workflow.name} (run-name: ${value.errors.map(formatDiagnostic).join("; ")})`;
  }
  const pullRequest = payload.pull_request;
  if (
    pullRequest &&
    typeof pullRequest === "object" &&
    !Array.isArray(pullRequest) &&
    typeof pullRequest.title === "string"
  ) {
    return pullRequest.title;
  }
  const headCommit = payload.head_commit;
  if (
    headCommit &&
    typeof headCommit === "object" &&
    !Array.isArray(headCommit) &&
    typeof headCommit.message === "string"
  ) {
    return headCommit.message.split("\n")[0] ?? workflow.name;
  }
  return workflow.name;
}
