/**
 * The `conveyor` command. Each subcommand lives in its own file under commands/; this file only
 * wires them together and makes sure a user never sees a stack trace for their own mistake.
 */
import { Command, CommanderError } from "commander";
import { registerGraph } from "./commands/graph.js";
import { registerList } from "./commands/list.js";
import { registerLogs } from "./commands/logs.js";
import { registerCancel } from "./commands/cancel.js";
import { registerDeploy } from "./commands/deploy.js";
import { registerReview } from "./commands/review.js";
import { registerDispatch } from "./commands/dispatch.js";
import { registerLogin } from "./commands/login.js";
import { registerRepo } from "./commands/repo.js";
import { registerRerun } from "./commands/rerun.js";
import { registerRunner } from "./commands/runner.js";
import { registerRunnerToken } from "./commands/runner-token.js";
import { registerRuns } from "./commands/runs.js";
import { registerToken } from "./commands/token.js";
import { registerSecret } from "./commands/secret.js";
import { registerVar } from "./commands/var.js";
import { registerRun } from "./commands/run.js";
import { registerUp } from "./commands/up.js";
import { registerValidate } from "./commands/validate.js";
import { VERSION } from "./version.js";

export function buildProgram(): Command {
  const program = new Command("conveyor")
    .description(
      "Conveyor runs GitHub Actions workflows unchanged: here and now, on a server, and on to deployment.",
    )
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run `conveyor help` or add --help for usage)")
    .configureHelp({ sortSubcommands: false });
  registerRun(program);
  registerLogs(program);
  registerValidate(program);
  registerList(program);
  registerGraph(program);
  registerUp(program);
  registerLogin(program);
  registerRepo(program);
  registerRuns(program);
  registerCancel(program);
  registerReview(program);
  registerDeploy(program);
  registerRerun(program);
  registerDispatch(program);
  registerSecret(program);
  registerVar(program);
  registerToken(program);
  registerRunnerToken(program);
  registerRunner(program);
  program.addHelpText(
    "after",
    `
Examples:
  conveyor run                           run the workflows a push of this commit starts, here
  conveyor validate                      check every workflow in .github/workflows
  conveyor list --event pull_request     which jobs a pull request would start
  conveyor graph -W .github/workflows/ci.yml
`,
  );
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    // A bug in Conveyor, not a user mistake: say so plainly; the stack only on request.
    const detail =
      e instanceof Error ? (process.env.CONVEYOR_DEBUG ? (e.stack ?? e.message) : e.message) : String(e);
    process.stderr.write(
      `conveyor: internal error: ${detail}\nThis is a bug in Conveyor; set CONVEYOR_DEBUG=1 for details and report it.\n`,
    );
    return 70;
  }
}
