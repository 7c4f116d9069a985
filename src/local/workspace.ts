/**
 * A job's workspace for `conveyor run`: a copy of the working tree, uncommitted and untracked
 * (not ignored) files included, with a git repository of its own so steps can run git commands
 * without touching the user's repository.
 */
import { execFile } from "node:child_process";
import { copyFile, lstat, mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Folders never copied into a workspace: Conveyor's own records, and git's. */
const SKIPPED = new Set([".git", ".conveyor"]);

export async function prepareWorkspace(
  repositoryRoot: string,
  target: string,
  isGitRepository: boolean,
): Promise<void> {
  await mkdir(target, { recursive: true });
  if (!isGitRepository) {
    await copyTree(repositoryRoot, target);
    return;
  }
  // A clone that borrows the repository's objects: fast, and its own index, HEAD and config.
  await git(["clone", "--quiet", "--shared", "--no-checkout", repositoryRoot, target], repositoryRoot);
  // The index as at HEAD, without writing files (there may be no commit yet: then nothing to reset).
  await git(["reset", "--quiet"], target).catch(() => undefined);
  const listed = await git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], repositoryRoot);
  const files = listed.split("\0").filter((f) => f !== "" && !f.startsWith(".conveyor/"));
  await copyFiles(repositoryRoot, target, [...new Set(files)]);
}

async function git(args: readonly string[], cwd: string): Promise<string> {
  const { stdout } = await run("git", [...args], { cwd, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" });
  return stdout;
}

/** Copies files (keeping modes and symlinks), a bounded number at a time; deleted ones are skipped. */
async function copyFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  const made = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++] as string;
      const source = join(from, file);
      const destination = join(to, file);
      const info = await lstat(source).catch(() => undefined);
      if (!info) continue; // deleted in the working tree
      const parent = dirname(destination);
      if (!made.has(parent)) {
        await mkdir(parent, { recursive: true });
        made.add(parent);
      }
      if (info.isSymbolicLink()) await symlink(await readlink(source), destination).catch(() => undefined);
      else if (info.isFile()) await copyFile(source, destination);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, files.length) }, worker));
}

async function copyTree(from: string, to: string): Promise<void> {
  const files: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(from, relative), { withFileTypes: true })) {
      if (relative === "" && SKIPPED.has(entry.name)) continue;
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else files.push(path);
    }
  };
  await walk("");
  await copyFiles(from, to, files);
}
