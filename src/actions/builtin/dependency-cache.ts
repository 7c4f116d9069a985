/**
 * The `cache:` input of setup-node and setup-python: the package manager's download folder is
 * restored in the main step and saved in the post step under a key built from the lock files'
 * hash, as those actions do with `@actions/cache` (no restore keys unless the action has them).
 */
import { existsSync } from "node:fs";
import { arch } from "node:os";
import { hashFiles } from "../../expressions/hash-files.js";
import { restoreCache, saveCache } from "./cache-client.js";
import type { Checked } from "./inputs.js";
import { checked, messageOf, refused, SUCCEEDED } from "./inputs.js";
import type { BuiltinContext, BuiltinResult } from "./types.js";

const PATHS_STATE = "CACHE_PATHS";
const PRIMARY_KEY_STATE = "CACHE_KEY";
const MATCHED_KEY_STATE = "CACHE_RESULT";

export interface DependencyCachePlan {
  /** The package manager, for messages (`npm`, `pip`, ...). */
  readonly manager: string;
  /** Absolute folders to cache. */
  readonly paths: readonly string[];
  readonly primaryKey: string;
  readonly restoreKeys: readonly string[];
}

/** `RUNNER_OS` as the runner sets it. */
export function runnerOs(env: Readonly<Record<string, string>>): string {
  if (env.RUNNER_OS) return env.RUNNER_OS;
  if (process.platform === "win32") return "Windows";
  if (process.platform === "darwin") return "macOS";
  return "Linux";
}

/** `os.arch()`, as both actions put it in their keys. */
export function runnerArch(): string {
  return arch();
}

/** hashFiles over the workspace, the lock files' part of a key; '' when nothing matched. */
export function hashDependencyFiles(context: BuiltinContext, patterns: readonly string[]): Checked<string> {
  const result = hashFiles(
    context.workspace,
    patterns,
    context.env.HOME ? { homeDirectory: context.env.HOME } : {},
  );
  return result.ok ? checked(result.value) : refused(result.errors.map((e) => e.message).join("; "));
}

/** Restores and remembers the plan for the post step; the key restored, if any. */
export async function restoreDependencies(
  context: BuiltinContext,
  plan: DependencyCachePlan,
): Promise<Checked<string | undefined>> {
  context.saveState(PATHS_STATE, JSON.stringify(plan.paths));
  context.saveState(PRIMARY_KEY_STATE, plan.primaryKey);
  const restored = await restoreCache(context, {
    paths: plan.paths,
    primaryKey: plan.primaryKey,
    restoreKeys: plan.restoreKeys,
    lookupOnly: false,
    enableCrossOsArchive: false,
  });
  if (!restored.ok) return restored;
  if (restored.value === undefined) {
    context.log(`${plan.manager} cache is not found`);
  } else {
    context.saveState(MATCHED_KEY_STATE, restored.value);
    context.log(`Cache restored from key: ${restored.value}`);
  }
  return restored;
}

/** The post step: saves unless the primary key was restored exactly. Never fails the job. */
export async function saveDependencies(context: BuiltinContext, manager: string): Promise<BuiltinResult> {
  const primaryKey = context.getState(PRIMARY_KEY_STATE);
  if (primaryKey === "") return SUCCEEDED; // the main step did not get as far as planning a cache
  if (context.getState(MATCHED_KEY_STATE) === primaryKey) {
    context.log(`Cache hit occurred on the primary key ${primaryKey}, not saving cache.`);
    return SUCCEEDED;
  }
  const paths = JSON.parse(context.getState(PATHS_STATE) || "[]") as string[];
  const missing = paths.filter((path) => !existsSync(path));
  for (const path of missing) {
    context.log(
      `Cache folder path is retrieved for ${manager} but doesn't exist on disk: ${path}. This likely indicates that there are no dependencies to cache.`,
    );
  }
  if (missing.length === paths.length) return SUCCEEDED;
  try {
    // All paths, missing ones too: they are part of the version the main step looked up.
    const saved = await saveCache(context, paths, primaryKey, false);
    if (!saved.ok) context.warning(saved.message);
    else if (saved.value === "saved") context.log(`Cache saved with the key: ${primaryKey}`);
    else if (saved.value === "exists")
      context.log(`Cache entry ${primaryKey} exists already (keys are immutable); not saving.`);
  } catch (cause) {
    context.warning(`Failed to save: ${messageOf(cause)}`);
  }
  return SUCCEEDED;
}
