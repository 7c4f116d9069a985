/** `conveyor var set|list|delete`: configuration variables (the `vars` context) on a Conveyor server. */
import type { Command } from "commander";
import { addServerOptions, connect, runServerCommand, type ServerFlags } from "../api-client.js";
import { addScopeOptions, formatEntries, readStdin, scopePath } from "./secret.js";
import type { ScopeFlags } from "./secret.js";

type Flags = ServerFlags & ScopeFlags;

export function registerVar(program: Command): void {
  const variable = program
    .command("var")
    .description("set, list and delete configuration variables (the vars context) on a Conveyor server")
    .addHelpText(
      "after",
      `
Examples:
  conveyor var set REGION eu-west-1 --repo admin/app
  conveyor var set URL https://staging.example.com --repo admin/app --env staging
  conveyor var set NOTES --org < notes.txt     (no value argument: read from stdin)
  conveyor var list --repo admin/app
  conveyor var delete REGION --repo admin/app`,
    );

  addServerOptions(
    addScopeOptions(
      variable
        .command("set")
        .argument("<name>", "the variable's name, e.g. REGION")
        .argument("[value]", "its value (default: read from stdin)")
        .description("create or replace a variable"),
    ),
  ).action(async (name: string, value: string | undefined, flags: Flags) => {
    process.exitCode = await runServerCommand("var set", async () => {
      const path = scopePath(flags);
      const body = { value: value ?? (await readStdin()) };
      const result = await connect(flags).call<{ name: string; scope: string; created: boolean }>(
        "PUT",
        `${path}/variables/${encodeURIComponent(name)}`,
        { body },
      );
      process.stdout.write(
        `${result.created ? "Created" : "Updated"} variable ${result.name} in ${result.scope}.\n`,
      );
    });
  });

  addServerOptions(
    addScopeOptions(
      variable
        .command("list")
        .option("--json", "print them as JSON", false)
        .description("list variables and their values"),
    ),
  ).action(async (flags: Flags & { readonly json: boolean }) => {
    process.exitCode = await runServerCommand("var list", async () => {
      const listed = await connect(flags).call<{
        scope: string;
        variables: { name: string; value: string; createdAt: string; updatedAt: string }[];
      }>("GET", `${scopePath(flags)}/variables`);
      if (flags.json) process.stdout.write(JSON.stringify(listed.variables, null, 2) + "\n");
      else if (listed.variables.length === 0) process.stdout.write(`No variables in ${listed.scope}.\n`);
      else process.stdout.write(formatEntries(listed.variables, true) + "\n");
    });
  });

  addServerOptions(
    addScopeOptions(
      variable.command("delete").argument("<name>", "the variable's name").description("delete a variable"),
    ),
  ).action(async (name: string, flags: Flags) => {
    process.exitCode = await runServerCommand("var delete", async () => {
      await connect(flags).call("DELETE", `${scopePath(flags)}/variables/${encodeURIComponent(name)}`);
      process.stdout.write(`Deleted variable ${name.toUpperCase()}.\n`);
    });
  });
}
