/**
 * `conveyor approve RUN` and `conveyor reject RUN`: review a run's deployments waiting for their
 * environment's required reviewers, with an optional comment (a rejection's comment is shown in the
 * failed job's log).
 */
import type { Command } from "commander";
import { addServerOptions, connect, parseId, runServerCommand, type ServerFlags } from "../api-client.js";

interface ReviewFlags extends ServerFlags {
  readonly comment?: string;
  readonly env?: string;
}

interface ReviewAnswer {
  readonly runId: number;
  readonly deployments: readonly {
    readonly id: number;
    readonly environment: string;
    readonly job: string;
    readonly status: string;
  }[];
}

export function registerReview(program: Command): void {
  for (const verdict of ["approve", "reject"] as const) {
    addServerOptions(
      program
        .command(verdict)
        .argument("<run>", "the run's id, as `conveyor runs` shows it")
        .option("--comment <text>", "a comment kept with the review (a rejection's shows in the job's log)")
        .option("--env <environment>", "only the deployments to this environment")
        .description(
          verdict === "approve"
            ? "approve a run's deployments waiting for your review"
            : "reject a run's deployments waiting for your review: their jobs fail",
        ),
    ).action(async (run: string, flags: ReviewFlags) => {
      process.exitCode = await runServerCommand(verdict, async () => {
        const runId = parseId(run, "RUN");
        const answer = await connect(flags).call<ReviewAnswer>("POST", `/runs/${runId}/${verdict}`, {
          body: {
            ...(flags.comment !== undefined ? { comment: flags.comment } : {}),
            ...(flags.env !== undefined ? { environment: flags.env } : {}),
          },
        });
        for (const deployment of answer.deployments) {
          process.stdout.write(
            verdict === "approve"
              ? `Approved deployment ${deployment.id} of ${deployment.job} to ${deployment.environment}.\n`
              : `Rejected deployment ${deployment.id} of ${deployment.job} to ${deployment.environment}: the job fails.\n`,
          );
        }
      });
    });
  }
}
