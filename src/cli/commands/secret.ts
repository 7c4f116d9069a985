/**
 * `conveyor secret set|list|delete`: secrets on a Conveyor server, at the organisation
 * (`--org`), a repository (`--repo owner/name`) or one of its environments (`--repo … --env E`).
 * A secret's value is read from stdin, never from an argument (arguments end up in shell history
 * and process lists), and no command ever prints one.
 */
import type { Command } from "commander";
import {
  CommandFailure,
  addServerOptions,
  connect,
  parseRepositoryName,
  runServerCommand,
  type ServerFlags,
} from "../api-client.js";
import { formatTable, styleFor } from "../style.js";
import { localTime } from "./logs.js";

export interface ScopeFlags {
  readonly repo?: string;
  readonly env?: string;
  readonly org?: boolean;
}

/** The API path of the scope the flags name, or a usage failure saying which flags to give. */
export function scopePath(flags: ScopeFlags): string {
  if (flags.org === true) {
    if (flags.repo !== undefined || flags.env !== undefined) {
      throw new CommandFailure("--org cannot be given with --repo or --env: choose one scope.", 2);
    }
    return "";
  }
  if (flags.repo === undefined) {
    throw new CommandFailure(
      flags.env === undefined
        ? "say where: --repo owner/name for a repository, add --env NAME for an environment, or --org for every repository."
        : "--env needs --repo owner/name: environments belong to a repository.",
      2,
    );
  }
  const repository = parseRepositoryName(flags.repo);
  const base = `/repos/${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}`;
  if (flags.env === undefined) return base;
  if (flags.env.trim() === "")
    throw new CommandFailure("--env is empty: name the environment, e.g. --env production.", 2);
  return `${base}/environments/${encodeURIComponent(flags.env)}`;
}

export function addScopeOptions(command: Command): Command {
  return command
    .option("--repo <owner/name>", "a repository's")
    .option("--env <name>", "an environment's (with --repo)")
    .option("--org", "the organisation's: every repository's runs see them (administrators)");
}

/** Everything on stdin; one trailing newline (what `echo` adds) is dropped. */
export async function readStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/u, "");
}

interface EntryJson {
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly value?: string;
}

export function formatEntries(entries: readonly EntryJson[], withValues: boolean): string {
  const style = styleFor(process.stdout);
  const header = (withValues ? ["Name", "Value", "Updated"] : ["Name", "Updated"]).map(style.bold);
  const rows = entries.map((e) =>
    withValues ? [e.name, e.value ?? "", localTime(e.updatedAt)] : [e.name, localTime(e.updatedAt)],
  );
  return formatTable([header, ...rows]);
}

type Flags = ServerFlags & ScopeFlags;

export function registerSecret(program: Command): void {
  const secret = program
    .command("secret")
    .description("set, list and delete secrets on a Conveyor server (values are write-only)")
    .addHelpText(
      "after",
      `
Examples:
  conveyor secret set API_KEY --repo admin/app < key.txt
  printf %s "$TOKEN" | conveyor secret set DEPLOY_TOKEN --repo admin/app --env production
  conveyor secret set REGISTRY_PASSWORD --org          (type the value, then Ctrl-D)
  conveyor secret list --repo admin/app
  conveyor secret delete API_KEY --repo admin/app

Names: letters, digits and _, not starting with a digit or GITHUB_; stored upper-case.
The value is read from stdin; one trailing newline is dropped, other newlines are kept.`,
    );

  addServerOptions(
    addScopeOptions(
      secret
        .command("set")
        .argument("<name>", "the secret's name, e.g. API_KEY")
        .description("create or replace a secret, its value read from stdin"),
    ),
  ).action(async (name: string, flags: Flags) => {
    process.exitCode = await runServerCommand("secret set", async () => {
      const path = scopePath(flags);
      if (process.stdin.isTTY) process.stderr.write(`Value for ${name} (end with Ctrl-D on a new line):\n`);
      const value = await readStdin();
      if (value === "")
        throw new CommandFailure(
          "the value on stdin is empty: pipe the secret in, e.g. `conveyor secret set NAME --repo R < file`.",
          2,
        );
      const result = await connect(flags).call<{ name: string; scope: string; created: boolean }>(
        "PUT",
        `${path}/secrets/${encodeURIComponent(name)}`,
        { body: { value } },
      );
      process.stdout.write(
        `${result.created ? "Created" : "Updated"} secret ${result.name} in ${result.scope}.\n`,
      );
    });
  });

  addServerOptions(
    addScopeOptions(
      secret
        .command("list")
        .option("--json", "print them as JSON", false)
        .description("list secrets: names and dates only"),
    ),
  ).action(async (flags: Flags & { readonly json: boolean }) => {
    process.exitCode = await runServerCommand("secret list", async () => {
      const listed = await connect(flags).call<{ scope: string; secrets: EntryJson[] }>(
        "GET",
        `${scopePath(flags)}/secrets`,
      );
      if (flags.json) process.stdout.write(JSON.stringify(listed.secrets, null, 2) + "\n");
      else if (listed.secrets.length === 0) process.stdout.write(`No secrets in ${listed.scope}.\n`);
      else process.stdout.write(formatEntries(listed.secrets, false) + "\n");
    });
  });

  addServerOptions(
    addScopeOptions(
      secret.command("delete").argument("<name>", "the secret's name").description("delete a secret"),
    ),
  ).action(async (name: string, flags: Flags) => {
    process.exitCode = await runServerCommand("secret delete", async () => {
      await connect(flags).call("DELETE", `${scopePath(flags)}/secrets/${encodeURIComponent(name)}`);
      process.stdout.write(`Deleted secret ${name.toUpperCase()}.\n`);
    });
  });
}
