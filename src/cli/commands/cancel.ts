/** `conveyor cancel RUN`: stops a run on the server; its running jobs stop within a second. */
import type { Command } from "commander";
import { addServerOptions, connect, parseId, runServerCommand, type ServerFlags } from "../api-client.js";

export function registerCancel(program: Command): void {
  addServerOptions(
    program
      .command("cancel")
      .argument("<run>", "the run's id, as `conveyor runs` shows it")
      .description("cancel a run on a Conveyor server"),
  ).action(async (run: string, flags: ServerFlags) => {
    process.exitCode = await runServerCommand("cancel", async () => {
      const runId = parseId(run, "RUN");
      await connect(flags).cancelRun(runId);
      process.stdout.write(
        `Cancelling run ${runId}: queued jobs will not start, running ones are stopped.\n`,
      );
    });
  });
}
