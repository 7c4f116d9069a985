/**
 * `conveyor rerun RUN [--failed]`: runs a finished run again as a new attempt, all its jobs or
 * only those that did not succeed; the old attempt's logs stay.
 */
import type { Command } from "commander";
import { addServerOptions, connect, parseId, runServerCommand, type ServerFlags } from "../api-client.js";

export function registerRerun(program: Command): void {
  addServerOptions(
    program
      .command("rerun")
      .argument("<run>", "the run's id, as `conveyor runs` shows it")
      .option(
        "--failed",
        "re-run only the jobs that failed or were cancelled (and those that need them)",
        false,
      )
      .description("re-run a finished run on a Conveyor server as a new attempt"),
  ).action(async (run: string, flags: ServerFlags & { readonly failed: boolean }) => {
    process.exitCode = await runServerCommand("rerun", async () => {
      const runId = parseId(run, "RUN");
      const started = await connect(flags).rerun(runId, flags.failed);
      process.stdout.write(
        `Run ${started.runId} runs again as attempt ${started.attempt}${flags.failed ? " (only the failed jobs)" : ""}.\n` +
          `Follow it: conveyor logs --remote ${started.runId} -f\n`,
      );
    });
  });
}
