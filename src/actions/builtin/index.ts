/**
 * Conveyor's built-in actions: offline versions of the actions most workflows start with. A step's
 * `uses: owner/repo[/path]@ref` runs one of these whatever the ref (`@v4`, `@v3`, `@main`, a sha):
 * each accepts the union of its versions' inputs, with the newest version's behaviour.
 */
import { cacheAction, cacheRestoreAction, cacheSaveAction } from "./cache.js";
import { checkoutAction } from "./checkout.js";
import { downloadArtifactAction } from "./download-artifact.js";
import { setupNodeAction } from "./setup-node.js";
import { setupPythonAction } from "./setup-python.js";
import type { BuiltinAction } from "./types.js";
import { uploadArtifactAction } from "./upload-artifact.js";

export const BUILTIN_ACTIONS: readonly BuiltinAction[] = [
  checkoutAction,
  setupNodeAction,
  setupPythonAction,
  uploadArtifactAction,
  downloadArtifactAction,
  cacheAction,
  cacheRestoreAction,
  cacheSaveAction,
];

/** The built-in action for `owner/repo` and the folder inside it ('' or absent for the root); names match without case, as on GitHub. */
export function findBuiltinAction(owner: string, repo: string, path?: string): BuiltinAction | undefined {
  const folder = (path ?? "").replace(/^\/+|\/+$/g, "");
  const name = `${owner}/${repo}${folder === "" ? "" : `/${folder}`}`.toLowerCase();
  return BUILTIN_ACTIONS.find((action) => action.name.toLowerCase() === name);
}
