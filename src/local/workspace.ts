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
import {
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  rm,
  rmdir,
  symlink,
  unlink,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runCommand as run } from "./run-command.js";

/** Folders never copied into a workspace: Conveyor's own records, and git's. */
const SKIPPED = new Set([".git", ".conveyor"]);

/**
 * Makes the clone and lists the files, from one shell: `$1` is the repository, `$2` the clone.
 * The listing runs while the clone is made (it reads only the repository); the script fails if
 * either does. The index is set to HEAD without writing files (with no commit yet there is nothing
 * to reset). No template: git would copy sample hooks and a description that nothing reads, nearly
 * half of a fresh `.git`'s files, into the clone and into every workspace made from it.
 */
const CLONE_AND_LIST = [
  '{ git clone --quiet --shared --no-checkout --template= "$1" "$2" </dev/null >&2 &&',
  '  { git -C "$2" reset --quiet >/dev/null 2>&1 || true; }; } &',
  "cloning=$!",
  'git -C "$1" ls-files -z --cached --others --exclude-standard || exit',
  'wait "$cloning"',
].join("\n");

interface RepositoryClone {
  readonly folder: string;
  /** The clone's `.git`: its folders, parents first (git needs `refs/` even when empty), and files. */
  readonly gitFolders: readonly string[];
  readonly gitFiles: readonly string[];
}

/** What every job's workspace of a run is made from. */
export class WorkspaceSource {
  private constructor(
    private readonly repositoryRoot: string,
    /** The files to copy from the working tree, repository-relative. */
    private readonly files: readonly string[],
    /** A clone whose `.git` each workspace gets a copy of; undefined outside a git repository. */
    private readonly clone?: RepositoryClone,
  ) {}

  /**
   * Clones the repository (once) and lists its files; `dispose()` removes the clone. The clone
   * starts at once, before `isGitRepository` is known (most runs are in a repository), so that it
   * runs alongside the reading of the repository's state instead of after it.
   */
  static async prepare(
    repositoryRoot: string,
    isGitRepository: boolean | Promise<boolean>,
  ): Promise<WorkspaceSource> {
    if (isGitRepository === false) {
      return new WorkspaceSource(repositoryRoot, await listTree(repositoryRoot));
    }
    const folder = await mkdtemp(join(tmpdir(), "conveyor-clone-"));
    const cloning = cloneAndList(repositoryRoot, join(folder, "repository"));
    // The clone may fail before `isGitRepository` is known (a plain folder): it is awaited below,
    // but a rejection with no handler yet would end the process.
    cloning.catch(() => undefined);
    try {
      if (!(await isGitRepository)) {
        await cloning.catch(() => undefined); // the expected failure: there is nothing to clone
        await removeFolder(folder);
        return new WorkspaceSource(repositoryRoot, await listTree(repositoryRoot));
      }
      const listed = await cloning;
      const gitFolders: string[] = [];
      const gitFiles = await listTree(join(folder, "repository", ".git"), false, gitFolders);
      return new WorkspaceSource(repositoryRoot, listed, { folder, gitFolders, gitFiles });
    } catch (e) {
      await cloning.catch(() => undefined);
      await removeFolder(folder);
      throw e;
    }
  }

  /** Fills `target` (created if needed) with a copy of the working tree and its own repository. */
  async copyTo(target: string): Promise<void> {
    await mkdir(target, { recursive: true });
    const copies = [copyFiles(this.repositoryRoot, target, this.files)];
    if (this.clone) copies.push(copyRepository(this.clone, join(target, ".git")));
    await Promise.all(copies);
  }

  async dispose(): Promise<void> {
    if (this.clone) await removeFolder(this.clone.folder);
  }
}

/**
 * The clone's `.git` into `git`. Its folders and files are known (a fresh clone has no symbolic
 * links and nothing changes it), so folders are made level by level, each once, and files copied
 * without looking at them first.
 */
async function copyRepository(clone: RepositoryClone, git: string): Promise<void> {
  await mkdir(git, { recursive: true });
  const levels: string[][] = [];
  for (const folder of clone.gitFolders) (levels[folder.split("/").length - 1] ??= []).push(folder);
  for (const level of levels) await Promise.all(level.map((folder) => makeFolder(join(git, folder))));
  const from = join(clone.folder, "repository", ".git");
  await inParallel(clone.gitFiles, (file) => copyFile(join(from, file), join(git, file)));
}

/** Removes a folder and everything in it; a folder already gone is fine. */
export async function removeFolder(path: string): Promise<void> {
  try {
    await removeTree(path);
  } catch {
    // What the quick way cannot remove (on a file system whose listings do not tell folders from
    // files, say): the thorough way, which looks at each entry.
    await rm(path, { recursive: true, force: true });
  }
}

/** Entries are removed by the type their folder listing gives: no look at each before removing it. */
async function removeTree(path: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  await Promise.all(
    entries.map((entry) => {
      const child = join(path, entry.name);
      return entry.isDirectory() ? removeTree(child) : unlink(child);
    }),
  );
  await rmdir(path);
}

async function makeFolder(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
}

/** Runs `work` on every item, at most 16 at a time. */
async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(16, items.length) }, worker));
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
  });
  const files = stdout.split("\0").filter((f) => f !== "" && !f.startsWith(".conveyor/"));
  return [...new Set(files)];
}

/** Copies files (keeping modes and symlinks), a bounded number at a time; deleted ones are skipped. */
async function copyFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  const made = new Set<string>();
  await inParallel(files, async (file) => {
    const source = join(from, file);
    const destination = join(to, file);
    const info = await lstat(source).catch(() => undefined);
    if (!info) return; // deleted in the working tree
    const parent = dirname(destination);
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    if (info.isSymbolicLink()) await symlink(await readlink(source), destination).catch(() => undefined);
    else if (info.isFile()) await copyFile(source, destination);
  });
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
