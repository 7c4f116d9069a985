/**
 * Finds workflow files on disk. The one effectful part of the workflow front end: everything
 * after it works on the bytes it returns.
 */
import { readdir as readdirCallback, readFile as readFileCallback, stat as statCallback } from "node:fs";
import { promisify } from "node:util";
import { join, relative, resolve, sep } from "node:path";
import { fileError, ok, failed } from "../diagnostic.js";
import type { Diagnostic, Result } from "../diagnostic.js";
import { loadWorkflow } from "./load.js";
import type { WorkflowSource } from "./load.js";
import type { CallResolver } from "./calls.js";
import type { Workflow } from "./model.js";

/**
 * Folders searched, in order of precedence: like Forgejo and Gitea, a repository that has its
 * own `.forgejo/workflows` or `.gitea/workflows` uses that folder instead of `.github/workflows`.
 */
export const WORKFLOW_DIRECTORIES = [".forgejo/workflows", ".gitea/workflows", ".github/workflows"] as const;

const WORKFLOW_FILE = /\.ya?ml$/;

// The callback API, promisified: node:fs/promises is not in Node's start-up snapshot and costs a
// short command like `conveyor validate` a few milliseconds to load.
const readdir = promisify(readdirCallback);
const readFile = promisify(readFileCallback);
const stat = promisify(statCallback);

/**
 * Workflow files under `root`, or in `paths` (files, or folders whose *.yml and *.yaml files are
 * taken) when given. Paths are returned relative to `root`, which is what errors show.
 */
export async function discoverWorkflowFiles(
  root: string,
  paths: readonly string[] = [],
): Promise<Result<string[]>> {
  if (paths.length === 0) {
    for (const dir of WORKFLOW_DIRECTORIES) {
      const files = await workflowFilesIn(join(root, dir));
      if (files && files.length > 0) return ok(files.map((f) => displayPath(root, f)));
    }
    return failed([
      fileError(
        displayPath(root, join(root, ".github/workflows")),
        "no workflow files found: put *.yml files in .github/workflows/ (or .gitea/workflows, .forgejo/workflows), or name files with -W.",
      ),
    ]);
  }
  const found: string[] = [];
  const errors: Diagnostic[] = [];
  for (const path of paths) {
    const absolute = resolve(root, path);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) {
      errors.push(fileError(path, "no such file or folder."));
    } else if (info.isDirectory()) {
      const files = (await workflowFilesIn(absolute)) ?? [];
      if (files.length === 0) errors.push(fileError(path, "this folder has no *.yml or *.yaml files."));
      found.push(...files.map((f) => displayPath(root, f)));
    } else {
      found.push(displayPath(root, absolute));
    }
  }
  return errors.length > 0 ? failed(errors) : ok([...new Set(found)]);
}

/** YAML files directly in `dir` (GitHub does not look in subfolders), sorted; undefined if no such folder. */
async function workflowFilesIn(dir: string): Promise<string[] | undefined> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return undefined;
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && WORKFLOW_FILE.test(e.name))
    .map((e) => join(dir, e.name))
    .sort();
}

function displayPath(root: string, absolute: string): string {
  const rel = relative(root, absolute);
  return rel.startsWith("..") ? absolute : rel.split(sep).join("/");
}

/** Reads a discovered workflow file. */
export async function readWorkflowSource(root: string, path: string): Promise<Result<WorkflowSource>> {
  try {
    return ok({ path, bytes: await readFile(resolve(root, path)) });
  } catch (e) {
    const reason = e instanceof Error && "code" in e ? String(e.code) : "unreadable";
    return failed([fileError(path, `cannot read the file (${reason}).`)]);
  }
}

export interface LoadedWorkflows {
  readonly workflows: Workflow[];
  readonly errors: Diagnostic[];
  /** Files looked at, valid or not, in order. */
  readonly files: string[];
}

/** Discovers and loads every workflow; a bad file does not stop the others from loading. */
export async function loadWorkflowFiles(
  root: string,
  paths: readonly string[] = [],
): Promise<LoadedWorkflows> {
  const discovered = await discoverWorkflowFiles(root, paths);
  if (!discovered.ok) return { workflows: [], errors: discovered.errors, files: [] };
  const results = await Promise.all(
    discovered.value.map(async (path) => {
      const source = await readWorkflowSource(root, path);
      return source.ok ? loadWorkflow(source.value) : source;
    }),
  );
  const workflows: Workflow[] = [];
  const errors: Diagnostic[] = [];
  for (const result of results) {
    if (result.ok) workflows.push(result.value);
    else errors.push(...result.errors);
  }
  return { workflows, errors, files: discovered.value };
}

/**
 * Resolves `jobs.<id>.uses` against the repository on disk. Remote reusable workflows cannot be
 * downloaded here; the error says how to make one available.
 */
export function localCallResolver(root: string): CallResolver {
  return callResolver(async (path) => {
    const source = await readWorkflowSource(root, path);
    return source.ok ? source.value : undefined;
  });
}

/**
 * Resolves `jobs.<id>.uses` against workflow files already read (a run's files, as the server
 * stores them), keyed by repository-relative path.
 */
export function fileMapCallResolver(files: Readonly<Record<string, string>>): CallResolver {
  return callResolver((path) =>
    Promise.resolve(
      Object.hasOwn(files, path) ? { path, bytes: Buffer.from(files[path] as string) } : undefined,
    ),
  );
}

/** A resolver reading local reusable workflows (`./path`) with `read`, each once. */
function callResolver(read: (path: string) => Promise<WorkflowSource | undefined>): CallResolver {
  const cache = new Map<string, Promise<Result<Workflow>>>();
  return (ref) => {
    let pending = cache.get(ref);
    if (!pending) {
      pending = resolveCall(ref, read);
      cache.set(ref, pending);
    }
    return pending;
  };
}

async function resolveCall(
  ref: string,
  read: (path: string) => Promise<WorkflowSource | undefined>,
): Promise<Result<Workflow>> {
  if (!ref.startsWith("./")) {
    return failed([
      fileError(
        ref,
        `${ref} is a remote reusable workflow, and Conveyor does not download workflows: copy the file into ./.github/workflows/ and call it as ./.github/workflows/<file>.`,
      ),
    ]);
  }
  const path = ref.slice(2);
  const source = await read(path);
  if (!source) {
    return failed([fileError(path, `the reusable workflow ${ref} does not exist in this repository.`)]);
  }
  return loadWorkflow(source);
}
