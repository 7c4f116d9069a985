/** `conveyor token create|list|revoke`: your API tokens on a Conveyor server. */
import type { Command } from "commander";
import {
  addServerOptions,
  connect,
  parseId,
  runServerCommand,
  type ServerFlags,
  type TokenJson,
} from "../api-client.js";
import { formatTable, styleFor } from "../style.js";
import { localTime } from "./logs.js";

export function registerToken(program: Command): void {
  const token = program
    .command("token")
    .description("create, list and revoke your API tokens on a Conveyor server")
    .addHelpText(
      "after",
      `
Examples:
  conveyor token create ci      prints the new token once, alone on stdout: TOKEN=$(conveyor token create ci)
  conveyor token list
  conveyor token revoke 3`,
    );

  addServerOptions(
    token
      .command("create")
      .argument("<name>", "what the token is for, e.g. ci or laptop")
      .description("create an API token; its value is printed once"),
  ).action(async (name: string, flags: ServerFlags) => {
    process.exitCode = await runServerCommand("token create", async () => {
      const created = await connect(flags).createToken(name);
      process.stderr.write(`Created token ${created.id} '${created.name}'; its value is shown this once:\n`);
      process.stdout.write(`${created.token}\n`);
    });
  });

  addServerOptions(
    token
      .command("list")
      .option("--json", "print the tokens as JSON", false)
      .description("list your API tokens (never their values)"),
  ).action(async (flags: ServerFlags & { readonly json: boolean }) => {
    process.exitCode = await runServerCommand("token list", async () => {
      const tokens = await connect(flags).tokens();
      if (flags.json) process.stdout.write(JSON.stringify(tokens, null, 2) + "\n");
      else process.stdout.write(formatTokens(tokens) + "\n");
    });
  });

  addServerOptions(
    token
      .command("revoke")
      .argument("<id>", "the token's id, as `conveyor token list` shows it")
      .description("revoke one of your API tokens: it stops working at once"),
  ).action(async (id: string, flags: ServerFlags) => {
    process.exitCode = await runServerCommand("token revoke", async () => {
      const tokenId = parseId(id, "ID");
      await connect(flags).revokeToken(tokenId);
      process.stdout.write(`Revoked token ${tokenId}.\n`);
    });
  });
}

function formatTokens(tokens: readonly TokenJson[]): string {
  const style = styleFor(process.stdout);
  const header = ["Id", "Name", "Created", "Last used", "State"].map(style.bold);
  const rows = tokens.map((t) => [
    String(t.id),
    t.name,
    localTime(t.createdAt),
    t.lastUsedAt ? localTime(t.lastUsedAt) : "never",
    t.revokedAt ? `revoked ${localTime(t.revokedAt)}` : "active",
  ]);
  return formatTable([header, ...rows]);
}
