/**
 * `conveyor deploy list|history|rollback`: a repository's environments with what is live, an
 * environment's deployment history, and a rollback that redeploys an earlier deployment (its job
 * runs again with that run's commit, event and artifacts, through the environment's rules).
 */
import type { Command } from "commander";
import {
  addServerOptions,
  CommandFailure,
  connect,
  parseId,
  parseRepositoryName,
  runServerCommand,
  type RepositoryName,
  type ServerFlags,
} from "../api-client.js";
import { formatTable } from "../style.js";

interface DeployFlags extends ServerFlags {
  readonly repo?: string;
  readonly json: boolean;
}

interface DeploymentJson {
  readonly id: number;
  readonly environment: string;
  readonly runId: number;
  readonly attempt: number;
  readonly job: string;
  readonly sha: string;
  readonly creator: string;
  readonly approver: string | null;
  readonly status: string;
  readonly url: string | null;
  readonly rollbackOf: number | null;
  readonly createdAt: string;
}

interface EnvironmentJson {
  readonly name: string;
  readonly reviewers: readonly string[];
  readonly waitTimer: number;
  readonly deploymentPolicy: {
    readonly branches: readonly string[];
    readonly tags: readonly string[];
  } | null;
  readonly live: DeploymentJson | null;
}

export function registerDeploy(program: Command): void {
  const deploy = program
    .command("deploy")
    .description("environments and their deployments on a Conveyor server: list, history, rollback");

  addServerOptions(
    deploy
      .command("list")
      .description("the repository's environments, their rules and what is live in each")
      .option("--repo <owner/name>", "the repository (required)")
      .option("--json", "print the API's answer as JSON", false),
  ).action(async (flags: DeployFlags) => {
    process.exitCode = await runServerCommand("deploy list", async () => {
      const repository = repositoryOf(flags);
      const answer = await connect(flags).call<{ environments: EnvironmentJson[] }>(
        "GET",
        `/repos/${path(repository)}/environments`,
      );
      if (flags.json) return void process.stdout.write(JSON.stringify(answer, null, 2) + "\n");
      if (answer.environments.length === 0) return void process.stdout.write("no environments yet\n");
      const rows = answer.environments.map((e) => [
        e.name,
        e.live ? `#${e.live.id} ${e.live.sha.slice(0, 7)} (run ${e.live.runId})` : "-",
        rulesText(e),
      ]);
      process.stdout.write(formatTable([["ENVIRONMENT", "LIVE", "RULES"], ...rows]) + "\n");
    });
  });

  addServerOptions(
    deploy
      .command("history")
      .argument("<environment>", "the environment's name")
      .description("an environment's deployments, newest first")
      .option("--repo <owner/name>", "the repository (required)")
      .option("--limit <n>", "at most this many, 1 to 500", "20")
      .option("--json", "print the API's answer as JSON", false),
  ).action(async (environment: string, flags: DeployFlags & { limit: string }) => {
    process.exitCode = await runServerCommand("deploy history", async () => {
      const repository = repositoryOf(flags);
      const answer = await connect(flags).call<{ deployments: DeploymentJson[] }>(
        "GET",
        `/repos/${path(repository)}/environments/${encodeURIComponent(environment)}/deployments`,
        { query: { limit: flags.limit } },
      );
      if (flags.json) return void process.stdout.write(JSON.stringify(answer, null, 2) + "\n");
      if (answer.deployments.length === 0)
        return void process.stdout.write(`no deployments to ${environment} yet\n`);
      const rows = answer.deployments.map((d) => [
        `#${d.id}`,
        d.status,
        d.sha.slice(0, 7),
        `run ${d.runId}.${d.attempt}`,
        d.creator,
        d.approver ?? "-",
        d.rollbackOf === null ? "" : `rollback to #${d.rollbackOf}`,
        d.createdAt,
      ]);
      process.stdout.write(
        formatTable([["ID", "STATUS", "COMMIT", "RUN", "BY", "APPROVED BY", "", "CREATED"], ...rows]) + "\n",
      );
    });
  });

  addServerOptions(
    deploy
      .command("rollback")
      .argument("<environment>", "the environment's name")
      .requiredOption(
        "--to <deployment>",
        "the earlier deployment to redeploy (its id, from `deploy history`)",
      )
      .description(
        "redeploy an earlier successful deployment: its job runs again, through the environment's rules",
      )
      .option("--repo <owner/name>", "the repository (required)")
      .option("--json", "print the API's answer as JSON", false),
  ).action(async (environment: string, flags: DeployFlags & { to: string }) => {
    process.exitCode = await runServerCommand("deploy rollback", async () => {
      const repository = repositoryOf(flags);
      const to = parseId(flags.to, "--to");
      const answer = await connect(flags).call<{ runId: number; attempt: number; sha: string }>(
        "POST",
        `/repos/${path(repository)}/environments/${encodeURIComponent(environment)}/rollback`,
        { body: { to } },
      );
      if (flags.json) return void process.stdout.write(JSON.stringify(answer, null, 2) + "\n");
      process.stdout.write(
        `Rolling ${environment} back to deployment #${to} (${answer.sha.slice(0, 7)}): run ${answer.runId}, attempt ${answer.attempt}.\n` +
          `It passes ${environment}'s rules again: \`conveyor approve ${answer.runId}\` if it needs a review.\n`,
      );
    });
  });
}

function repositoryOf(flags: DeployFlags): RepositoryName {
  if (flags.repo === undefined)
    throw new CommandFailure("--repo owner/name is required: name the repository.", 2);
  return parseRepositoryName(flags.repo);
}

function path(repository: RepositoryName): string {
  return `${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}`;
}

function rulesText(environment: EnvironmentJson): string {
  const rules: string[] = [];
  if (environment.reviewers.length > 0) rules.push(`reviewers: ${environment.reviewers.join(", ")}`);
  if (environment.waitTimer > 0) rules.push(`wait ${environment.waitTimer} min`);
  if (environment.deploymentPolicy) {
    const refs = [
      ...environment.deploymentPolicy.branches,
      ...environment.deploymentPolicy.tags.map((t) => `tag ${t}`),
    ];
    rules.push(`refs: ${refs.join(", ") || "none"}`);
  }
  return rules.join("; ") || "none (continuous deployment)";
}
