/**
 * `conveyor repo create NAME` and `conveyor repo list`: the repositories a Conveyor server hosts.
 * After create, the lines that push a first commit to it.
 */
import type { Command } from "commander";
import {
  addServerOptions,
  connect,
  runServerCommand,
  type RepositoryJson,
  type ServerFlags,
} from "../api-client.js";
import { formatTable, styleFor } from "../style.js";

interface CreateFlags extends ServerFlags {
  readonly owner?: string;
  readonly defaultBranch?: string;
}

export function registerRepo(program: Command): void {
  const repo = program
    .command("repo")
    .description("create and list the repositories a Conveyor server hosts")
    .addHelpText(
      "after",
      `
Examples:
  conveyor repo create my-app            a repository admin/my-app (your login as owner)
  conveyor repo list`,
    );

  addServerOptions(
    repo
      .command("create")
      .argument("<name>", "the repository's name: letters, digits, '.', '-' and '_'")
      .option("--owner <owner>", "the owner (default: you; administrators may name another)")
      .option("--default-branch <branch>", "the branch schedules and dispatches use (default: main)")
      .description("create a hosted repository and print how to push to it"),
  ).action(async (name: string, flags: CreateFlags) => {
    process.exitCode = await runServerCommand("repo create", async () => {
      const created = await connect(flags).createRepository({
        name,
        ...(flags.owner !== undefined ? { owner: flags.owner } : {}),
        ...(flags.defaultBranch !== undefined ? { defaultBranch: flags.defaultBranch } : {}),
      });
      process.stdout.write(
        [
          `Created ${created.fullName} (default branch ${created.defaultBranch}).`,
          `Clone URL: ${created.cloneUrl}`,
          "",
          "Push a repository to it (git asks for a user name and password: any name, and an API token):",
          `  git remote add conveyor ${created.cloneUrl}`,
          `  git push conveyor ${created.defaultBranch}`,
          "",
        ].join("\n"),
      );
    });
  });

  addServerOptions(
    repo
      .command("list")
      .option("--json", "print the repositories as JSON", false)
      .description("list the server's repositories"),
  ).action(async (flags: ServerFlags & { readonly json: boolean }) => {
    process.exitCode = await runServerCommand("repo list", async () => {
      const repositories = await connect(flags).repositories();
      if (flags.json) process.stdout.write(JSON.stringify(repositories, null, 2) + "\n");
      else if (repositories.length === 0)
        process.stdout.write("no repositories yet: create one with `conveyor repo create NAME`\n");
      else process.stdout.write(formatRepositories(repositories) + "\n");
    });
  });
}

export function formatRepositories(repositories: readonly RepositoryJson[]): string {
  const style = styleFor(process.stdout);
  const header = ["Repository", "Default branch", "Kind", "Clone URL"].map(style.bold);
  return formatTable([header, ...repositories.map((r) => [r.fullName, r.defaultBranch, r.kind, r.cloneUrl])]);
}
