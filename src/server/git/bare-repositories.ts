/**
 * The bare repositories the server hosts, one folder each: `<root>/<owner>/<name>.git`. Folder
 * names are in lower case, so `Octo/Hello` and `octo/hello` are one repository on any file
 * system, as the store (which compares names without case) sees them.
 */
import { mkdir, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { error, failed, ok } from "../../diagnostic.js";
import type { Result } from "../../diagnostic.js";
import { runGit } from "../../git/repository-state.js";
import { checkRepositoryName } from "./repository-names.js";

export interface RepositoryFoldersOptions {
  /** Environment for git (tests isolate it from the machine's git config). Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface CreateRepositoryOptions {
  /** The branch HEAD names before the first push. Default `main`. */
  readonly defaultBranch?: string;
}

export class RepositoryFolders {
  constructor(
    readonly root: string,
    private readonly options: RepositoryFoldersOptions = {},
  ) {}

  /**
   * The folder of a repository (which may not exist). Names must have passed
   * `checkRepositoryName`: anything else throws, as it is a bug in the caller, not a user's mistake.
   */
  pathOf(owner: string, name: string): string {
    const checked = checkRepositoryName(owner, name);
    if (!checked.ok) {
      throw new Error(`pathOf was given a name checkRepositoryName refuses: ${checked.errors[0]?.message}`);
    }
    return join(this.root, owner.toLowerCase(), `${name.toLowerCase()}.git`);
  }

  async exists(owner: string, name: string): Promise<boolean> {
    if (!checkRepositoryName(owner, name).ok) return false;
    const head = await stat(join(this.pathOf(owner, name), "HEAD")).catch(() => undefined);
    return head?.isFile() ?? false;
  }

  /**
   * Creates an empty bare repository that accepts pushes over HTTP (the server checks who may
   * push before git sees the request). Returns its folder.
   */
  async create(owner: string, name: string, options: CreateRepositoryOptions = {}): Promise<Result<string>> {
    const checked = checkRepositoryName(owner, name);
    if (!checked.ok) return checked;
    const path = this.pathOf(owner, name);
    await mkdir(join(path, ".."), { recursive: true });
    try {
      // Not recursive: of two requests creating one repository at once, exactly one gets the folder.
      await mkdir(path);
    } catch (e) {
      if (e instanceof Error && "code" in e && e.code === "EEXIST") {
        return failed([
          error(`repository ${owner}/${name} exists already: choose another name, or delete that one first.`),
        ]);
      }
      throw e;
    }
    const branch = options.defaultBranch ?? "main";
    // No template: the sample hooks and description are of no use to a server.
    const init = await runGit(
      path,
      ["init", "--bare", "--quiet", "--template=", `--initial-branch=${branch}`],
      this.options.env,
    );
    const configured = init.ok
      ? await runGit(path, ["config", "http.receivepack", "true"], this.options.env)
      : init;
    if (!configured.ok) {
      await rm(path, { recursive: true, force: true });
      const reason = configured.missing ? "git is not installed" : configured.stderr.trim().split("\n")[0];
      return failed([error(`cannot create repository ${owner}/${name}: ${reason}.`)]);
    }
    return ok(path);
  }

  /**
   * The commit a branch or tag names (`main`, `v1`, or in full: `refs/heads/main`); a branch wins
   * over a tag of the same name, as in git. Undefined when there is no such ref (or repository).
   */
  async resolveRef(owner: string, name: string, ref: string): Promise<string | undefined> {
    if (!(await this.exists(owner, name))) return undefined;
    return resolveRefAt(this.pathOf(owner, name), ref, this.options.env);
  }

  /** Deletes a repository's folder; false when there was none. */
  async remove(owner: string, name: string): Promise<boolean> {
    if (!(await this.exists(owner, name))) return false;
    const path = this.pathOf(owner, name);
    await rm(path, { recursive: true, force: true });
    // The owner's folder goes with its last repository; another one keeps it.
    await rmdir(join(path, "..")).catch(() => undefined);
    return true;
  }
}

/**
 * The commit a branch name, tag name or full ref names in the bare repository at `path` (a branch
 * wins over a tag of the same name, as in git); undefined when there is no such ref.
 */
export async function resolveRefAt(
  path: string,
  ref: string,
  env?: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  // Ref names hold no spaces or glob characters, and none starts with `-` (an option to git).
  if (!/^[^-\s*?[\\][^\s*?[\\]*$/.test(ref)) return undefined;
  const candidates = ref.startsWith("refs/") ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  const output = await runGit(
    path,
    ["for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", ...candidates],
    env,
  );
  if (!output.ok) return undefined;
  const found = new Map<string, string>();
  for (const line of output.stdout.split("\n")) {
    const [refName = "", object = "", peeled = ""] = line.split(" ");
    if (refName !== "") found.set(refName, peeled || object);
  }
  return candidates.map((candidate) => found.get(candidate)).find((sha) => sha !== undefined);
}
