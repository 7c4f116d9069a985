/**
 * `conveyor runner-token`: a registration token for a new runner (administrators only), printed
 * as the `conveyor runner ...` line to run on the runner's machine.
 */
import type { Command } from "commander";
import { addServerOptions, connect, runServerCommand, type ServerFlags } from "../api-client.js";

export function registerRunnerToken(program: Command): void {
  addServerOptions(
    program
      .command("runner-token")
      .description("make a token to register a runner with (administrators), and print the command to run"),
  ).action(async (flags: ServerFlags) => {
    process.exitCode = await runServerCommand("runner-token", async () => {
      const { command } = await connect(flags).registrationToken();
      process.stderr.write("On the runner's machine, run (add --labels a,b and --capacity N as needed):\n");
      process.stdout.write(`${command}\n`);
    });
  });
}
