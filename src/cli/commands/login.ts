/**
 * `conveyor login --server URL --token T`: checks the token against the server, then saves both
 * for the other server commands (src/cli/client-config.ts). The token is never printed.
 */
import type { Command } from "commander";
import { CommandFailure, ConveyorApi, runServerCommand, type ServerFlags } from "../api-client.js";
import { clientConfigPath, resolveClientConfig, saveClientConfig } from "../client-config.js";

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description("check an API token against a Conveyor server and save both for the other commands")
    .option("--server <url>", "the server's URL, e.g. http://127.0.0.1:8080 (default: $CONVEYOR_SERVER)")
    .option(
      "--token <token>",
      "an API token (default: $CONVEYOR_TOKEN); `conveyor up` prints one on first start",
    )
    .addHelpText(
      "after",
      `
The server and token are saved, readable by you only, in $XDG_CONFIG_HOME/conveyor/client.json
(~/.config/conveyor/client.json by default); --server/--token and CONVEYOR_SERVER/CONVEYOR_TOKEN
override them for one command.

Example:
  conveyor login --server http://127.0.0.1:8080 --token cvt_...`,
    )
    .action(async (flags: ServerFlags) => {
      process.exitCode = await runServerCommand("login", async () => {
        const resolved = resolveClientConfig(flags);
        if (!resolved.ok) throw new CommandFailure(resolved.message, 2);
        const api = new ConveyorApi(resolved.config.server, resolved.config.token);
        const user = await api.user();
        saveClientConfig({ server: api.server, token: resolved.config.token });
        process.stdout.write(
          `Logged in to ${api.server} as ${user.login}${user.admin ? " (administrator)" : ""}.\n` +
            `Saved in ${clientConfigPath()}.\n`,
        );
      });
    });
}
