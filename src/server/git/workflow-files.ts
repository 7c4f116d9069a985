/**
 * Workflow files as a commit has them, read from a bare repository without a checkout: the
 * folders and precedence of `src/workflow/discover.ts`, in one `git cat-file --batch` process
 * (the three folders' trees in one round trip, then their YAML files in a second).
 */
import { WORKFLOW_DIRECTORIES } from "../../workflow/discover.js";
import { CatFileBatch } from "./cat-file-batch.js";

const WORKFLOW_FILE = /\.ya?ml$/;
/** A regular file (plain or executable) or a symbolic link, which reading follows. */
const FILE_MODES = new Set(["100644", "100755", "120000"]);

/**
 * The top-level `*.yml` and `*.yaml` files of the first of `.forgejo/workflows`,
 * `.gitea/workflows` and `.github/workflows` that has any at `revision` (a commit id), by
 * repository-relative path, sorted. Empty when there are none.
 */
export async function readWorkflowFilesAt(
  repositoryPath: string,
  revision: string,
  env?: NodeJS.ProcessEnv,
): Promise<Record<string, string>> {
  checkRevision(revision);
  const batch = new CatFileBatch(repositoryPath, env);
  try {
    const folders = await Promise.all(WORKFLOW_DIRECTORIES.map((dir) => batch.read(`${revision}:${dir}`)));
    for (const [index, folder] of folders.entries()) {
      if (!folder.found || folder.type !== "tree") continue;
      const names = treeEntries(folder.content, folder.oid.length / 2)
        .filter((entry) => FILE_MODES.has(entry.mode) && WORKFLOW_FILE.test(entry.name))
        .map((entry) => entry.name)
        .sort();
      if (names.length === 0) continue;
      const dir = WORKFLOW_DIRECTORIES[index] as string;
      const files = await Promise.all(names.map((name) => batch.read(`${revision}:${dir}/${name}`)));
      const found: Record<string, string> = {};
      for (const [at, file] of files.entries()) {
        if (file.found && file.type === "blob") found[`${dir}/${names[at]}`] = file.content.toString("utf8");
      }
      return found;
    }
    return {};
  } finally {
    batch.close();
  }
}

/**
 * One file at `revision` (a reusable workflow called as `./.github/workflows/x.yml`; a leading
 * `./` is allowed); undefined when there is no such file, or the path leaves the repository.
 */
export async function readFileAt(
  repositoryPath: string,
  revision: string,
  path: string,
  env?: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  checkRevision(revision);
  const relative = path.replace(/^(\.\/)+/, "");
  const segments = relative.split("/");
  if (
    relative === "" ||
    segments.some((s) => s === "" || s === "." || s === "..") ||
    /[\n\0]/.test(relative)
  ) {
    return undefined;
  }
  const batch = new CatFileBatch(repositoryPath, env);
  try {
    const file = await batch.read(`${revision}:${relative}`);
    return file.found && file.type === "blob" ? file.content.toString("utf8") : undefined;
  } finally {
    batch.close();
  }
}

/** A revision goes into `<revision>:<path>` requests: one without spaces or colons cannot change their meaning. */
function checkRevision(revision: string): void {
  if (!/^[^\s:]+$/.test(revision)) throw new Error(`not a revision: ${JSON.stringify(revision)}`);
}

interface TreeEntry {
  readonly mode: string;
  readonly name: string;
}

/** A tree object's entries: `<mode> <name>\0<binary oid>` each. */
export function treeEntries(tree: Buffer, oidBytes: number): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < tree.length) {
    const space = tree.indexOf(0x20, at);
    const nul = tree.indexOf(0x00, space + 1);
    if (space === -1 || nul === -1) break;
    entries.push({ mode: tree.toString("latin1", at, space), name: tree.toString("utf8", space + 1, nul) });
    at = nul + 1 + oidBytes;
  }
  return entries;
}
