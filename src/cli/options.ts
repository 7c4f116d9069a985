/** Options several commands share, declared once so they read the same everywhere. */
import { resolve } from "node:path";
import type { Command } from "commander";

export interface RepositoryOptions {
  readonly directory: string;
  readonly workflows: string[];
  readonly json: boolean;
}

export function addRepositoryOptions(command: Command): Command {
  return command
    .option("-C, --directory <dir>", "the repository to work in", ".")
    .option(
      "-W, --workflows <path>",
      "a workflow file or folder (repeatable); default: .github/workflows (or .gitea/.forgejo)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--json", "print JSON for machines instead of text", false);
}

export function repositoryOptions(
  raw: Record<string, unknown>,
  positional: readonly string[] = [],
): RepositoryOptions {
  const workflows = [...((raw.workflows as string[] | undefined) ?? []), ...positional];
  return { directory: resolve(String(raw.directory ?? ".")), workflows, json: raw.json === true };
}
