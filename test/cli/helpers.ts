/** Runs the built `conveyor` executable as a user would, and makes throwaway repositories. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(PROJECT_ROOT, "bin", "conveyor.cjs");
export const SEED_WORKFLOWS = join(PROJECT_ROOT, "examples", "seed-workflows");

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function conveyor(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
    timeout: 60_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A temporary repository whose .github/workflows holds the given files. */
export function repositoryWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "conveyor-test-"));
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
  return root;
}

/** A temporary repository holding a copy of the seed example workflows. */
export function seedRepository(): string {
  const root = mkdtempSync(join(tmpdir(), "conveyor-seed-"));
  cpSync(SEED_WORKFLOWS, join(root, ".github", "workflows"), { recursive: true });
  return root;
}
