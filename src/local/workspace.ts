/**
 * A job's workspace for `conveyor run`: a copy of the working tree, uncommitted and untracked
 * (not ignored) files included, with a git repository of its own so steps can run git commands
 * without touching the user's repository.
 *
 * Starting a process is the expensive part (several milliseconds each on a small machine; more
 * than copying a few hundred files). So a run prepares a `WorkspaceSource` once: one git clone
 * (borrowing the repository's objects) with its index at HEAD, and the list of files to copy. Each
 * job's workspace is then made with file copies only: the clone's `.git` and the working tree's
 * files, as they are when the job starts.
 */
import { execFile } from "node:child_process";
import { copyFile, lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Folders never copied into a workspace: Conveyor's own records, and git's. */
const SKIPPED = new Set([".git", ".conveyor"]);

/**
 * Makes the clone and lists the files, in one process: `$1` is the repository, `$2` the clone.
 * The index is set to HEAD without writing files (with no commit yet there is nothing to reset).
 */
const CLONE_AND_LIST = [
  'git clone --quiet --shared --no-checkout "$1" "$2"',
  'git -C "$2" reset --quiet >/dev/null 2>&1 || true',
  'exec git -C "$1" ls-files -z --cached --others --exclude-standard',
].join(" && ");

/** What every job's workspace of a run is made from. */
export class WorkspaceSource {
  private constructor(
    private readonly repositoryRoot: string,
    /** The files to copy from the working tree, repository-relative. */
    private readonly files: readonly string[],
    /** A clone whose `.git` each workspace gets a copy of; undefined outside a git repository. */
    private readonly clone?: {
      readonly folder: string;
      /** The clone's `.git`: its folders (git needs `refs/` even when empty) and files. */
      readonly gitFolders: readonly string[];
      readonly gitFiles: readonly string[];
    },
  ) {}

  /** Clones the repository (once) and lists its files; `dispose()` removes the clone. */
  static async prepare(repositoryRoot: string, isGitRepository: boolean): Promise<WorkspaceSource> {
    if (!isGitRepository) return new WorkspaceSource(repositoryRoot, await listTree(repositoryRoot));
    const folder = await mkdtemp(join(tmpdir(), "conveyor-clone-"));
    try {
      const listed = await cloneAndList(repositoryRoot, join(folder, "repository"));
      const gitFolders: string[] = [];
      const gitFiles = await listTree(join(folder, "repository", ".git"), false, gitFolders);
      return new WorkspaceSource(repositoryRoot, listed, { folder, gitFolders, gitFiles });
    } catch (e) {
      await rm(folder, { recursive: true, force: true });
      throw e;
    }
  }

  /** Fills `target` (created if needed) with a copy of the working tree and its own repository. */
  async copyTo(target: string): Promise<void> {
    await mkdir(target, { recursive: true });
    const jobs = [copyFiles(this.repositoryRoot, target, this.files)];
    if (this.clone) {
      const { folder, gitFolders, gitFiles } = this.clone;
      const git = join(target, ".git");
      await Promise.all(gitFolders.map((relative) => mkdir(join(git, relative), { recursive: true })));
      jobs.push(copyFiles(join(folder, "repository", ".git"), git, gitFiles));
    }
    await Promise.all(jobs);
  }

  async dispose(): Promise<void> {
    if (this.clone) await rm(this.clone.folder, { recursive: true, force: true });
  }
}

/** One workspace, made directly (a checkout into another path, a submodule). */
export async function prepareWorkspace(
  repositoryRoot: string,
  target: string,
  isGitRepository: boolean,
): Promise<void> {
  await mkdir(target, { recursive: true });
  if (!isGitRepository) {
    await copyFiles(repositoryRoot, target, await listTree(repositoryRoot));
    return;
  }
  await copyFiles(repositoryRoot, target, await cloneAndList(repositoryRoot, target));
}

/** Clones `repositoryRoot` into `target` (no files written) and lists the working tree's files. */
async function cloneAndList(repositoryRoot: string, target: string): Promise<string[]> {
  const { stdout } = await run("sh", ["-c", CLONE_AND_LIST, "sh", repositoryRoot, target], {
    cwd: repositoryRoot,
    maxBuffer: 256 * 1024 * 1024,
    encoding: "utf8",
  });
  const files = stdout.split("\0").filter((f) => f !== "" && !f.startsWith(".conveyor/"));
  return [...new Set(files)];
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

/**
 * Every file under `root`, relative; `skipTopLevel` leaves out `.git` and `.conveyor` at the top.
 * Folders are added to `folders` (parents first) when it is given.
 */
async function listTree(root: string, skipTopLevel = true, folders?: string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
      if (skipTopLevel && relative === "" && SKIPPED.has(entry.name)) continue;
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        folders?.push(path);
        await walk(path);
      } else files.push(path);
    }
  };
  await walk("");
  return files;
}
