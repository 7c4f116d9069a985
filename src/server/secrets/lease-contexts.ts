/**
 * What a job's lease adds to the contexts the engine stored: the secrets' values (decrypted now,
 * never stored), the environment's variables, and the job token's permissions. Runs as a runner
 * takes the job, so a job held back by its environment's rules gets nothing until they pass.
 */
import type { JsonObject } from "../../json.js";
import { findJob } from "../../agent/job-assignment.js";
import type { RunDefinition } from "../runs/run-definition.js";
import { effectivePermissions } from "../auth/job-permissions.js";
import type { TokenPermissions } from "../auth/job-permissions.js";
import type { ServerContext } from "../server-context.js";
import { jobSecretsContext, secretsWithheld } from "./job-secrets.js";

export interface LeaseAdditions {
  /** The `secrets` context with values, without GITHUB_TOKEN (the lease adds it). */
  readonly secrets: Record<string, string>;
  /** The `vars` context: the run's, under the environment's. */
  readonly vars: JsonObject;
  readonly permissions: TokenPermissions;
}

export async function leaseAdditions(
  context: ServerContext,
  job: {
    readonly key: string;
    readonly repositoryId: number;
    readonly environment: string | undefined;
    readonly contexts: { readonly secrets?: JsonObject; readonly vars?: JsonObject };
  },
  definition: RunDefinition,
): Promise<LeaseAdditions> {
  const withheld = secretsWithheld(definition.eventName, definition.payload, definition.fromFork);
  const { secrets } = context;
  const environment = job.environment;
  const [runSecrets, environmentSecrets, environmentVars] = withheld
    ? [{}, {}, environment ? await secrets.environmentVariables(job.repositoryId, environment) : {}]
    : await Promise.all([
        secrets.runSecretValues(job.repositoryId),
        environment ? secrets.environmentSecretValues(job.repositoryId, environment) : Promise.resolve({}),
        environment ? secrets.environmentVariables(job.repositoryId, environment) : Promise.resolve({}),
      ]);
  const tree = await context.coordinator.trees.load(definition.workflowPath, definition.workflowFiles);
  const found = tree.ok ? findJob(tree.value, job.key) : undefined;
  const permissions = effectivePermissions(
    found?.ok ? found.value.job.permissions : undefined,
    found?.ok ? found.value.workflow.permissions : undefined,
    { forkPullRequest: withheld },
  );
  return {
    secrets: jobSecretsContext({
      jobKey: job.key,
      assigned: job.contexts.secrets ?? {},
      refs: definition.secretRefs,
      withheld,
      runSecrets,
      environmentSecrets,
    }),
    vars: { ...(job.contexts.vars ?? {}), ...environmentVars },
    permissions,
  };
}
