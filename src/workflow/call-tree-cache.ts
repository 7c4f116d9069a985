/**
 * A run's workflow files, as the server stores them and leases carry them, parsed into a call tree
 * (the workflow and the reusable workflows it calls). Cached by content: the jobs of a run, and the
 * runs of a commit, share their files, and parsing is the costly part of rebuilding an engine or an
 * assignment.
 */
import { createHash } from "node:crypto";
import { failed, fileError } from "../diagnostic.js";
import type { Result } from "../diagnostic.js";
import { resolveCalls } from "./calls.js";
import type { CallTree } from "./calls.js";
import { fileMapCallResolver } from "./discover.js";
import { loadWorkflow } from "./load.js";

export class CallTreeCache {
  private readonly trees = new Map<string, Promise<Result<CallTree>>>();

  constructor(private readonly capacity = 64) {}

  load(workflowPath: string, files: Readonly<Record<string, string>>): Promise<Result<CallTree>> {
    const key = contentKey(workflowPath, files);
    let tree = this.trees.get(key);
    if (tree)
      this.trees.delete(key); // re-inserted below: the most recently used is last
    else tree = loadCallTree(workflowPath, files);
    this.trees.set(key, tree);
    for (const oldest of this.trees.keys()) {
      if (this.trees.size <= this.capacity) break;
      this.trees.delete(oldest);
    }
    return tree;
  }
}

async function loadCallTree(
  workflowPath: string,
  files: Readonly<Record<string, string>>,
): Promise<Result<CallTree>> {
  const text = files[workflowPath];
  if (text === undefined) {
    return failed([fileError(workflowPath, "the run's workflow file is not among its files.")]);
  }
  // Screened as files on disk are (an alias bomb hangs the parser), whoever checked them before.
  const workflow = await loadWorkflow({ path: workflowPath, bytes: Buffer.from(text, "utf8") });
  if (!workflow.ok) return workflow;
  return resolveCalls(workflow.value, fileMapCallResolver(files));
}

function contentKey(workflowPath: string, files: Readonly<Record<string, string>>): string {
  const hash = createHash("sha256").update(workflowPath).update("\0");
  for (const path of Object.keys(files).sort())
    hash
      .update(path)
      .update("\0")
      .update(files[path] ?? "")
      .update("\0");
  return hash.digest("hex");
}
