/**
 * `actions/cache`, `actions/cache/restore` and `actions/cache/save` (v4), over the CacheStore.
 *
 * As the real actions: the main step of actions/cache restores and its post step (after a
 * successful job) saves under the primary key unless that key was an exact hit; `cache-hit` is
 * `'true'` only for an exact match, `'false'` for a partial one and left unset on a miss;
 * actions/cache/restore also outputs `cache-primary-key` and `cache-matched-key`; actions/cache/save
 * saves in its main step. Saving never fails a step: an existing key (keys are immutable) or
 * paths that match nothing are reported and skipped. Events that GitHub refuses (not tied to a ref)
 * do not exist locally. Branch scoping is not applied: every run of the repository shares entries.
 */
import { isExactKeyMatch, restoreCache, saveCache } from "./cache-client.js";
import type { SaveOutcome } from "./cache-client.js";
import type { Checked } from "./inputs.js";
import { failedWith, messageOf, readFlag, readInput, readInputLines, SUCCEEDED } from "./inputs.js";
import type { BuiltinAction, BuiltinContext, BuiltinResult } from "./types.js";

/** State names the real action uses between main and post. */
const PRIMARY_KEY_STATE = "CACHE_KEY";
const MATCHED_KEY_STATE = "CACHE_RESULT";

const SAVE_ALWAYS_DEPRECATED =
  "The `save-always` input is deprecated and does not work as intended (as on GitHub). " +
  "Use actions/cache/restore, then actions/cache/save with `if: always()`.";

interface RestoreOutputs {
  /** actions/cache/restore reports keys as outputs; actions/cache keeps them as state for its post step. */
  readonly keysAsOutputs: boolean;
}

async function restore(context: BuiltinContext, how: RestoreOutputs): Promise<BuiltinResult> {
  const primaryKey = readInput(context, "key");
  if (primaryKey === "") return failedWith("Input required and not supplied: key");
  const remember = (state: string, output: string, value: string): void => {
    if (how.keysAsOutputs) context.setOutput(output, value);
    else context.saveState(state, value);
  };
  remember(PRIMARY_KEY_STATE, "cache-primary-key", primaryKey);
  if (!how.keysAsOutputs && readFlag(context, "save-always", false)) context.warning(SAVE_ALWAYS_DEPRECATED);
  const restoreKeys = readInputLines(context, "restore-keys");
  const paths = readInputLines(context, "path");
  if (paths.length === 0) return failedWith("Input required and not supplied: path");
  const lookupOnly = readFlag(context, "lookup-only", false);
  const restored = await restoreCache(context, {
    paths,
    primaryKey,
    restoreKeys,
    lookupOnly,
    enableCrossOsArchive: readFlag(context, "enableCrossOsArchive", false),
  });
  if (!restored.ok) return failedWith(restored.message);
  const matched = restored.value;
  if (matched === undefined) {
    if (readFlag(context, "fail-on-cache-miss", false)) {
      return failedWith(
        `Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${primaryKey}`,
      );
    }
    // `cache-hit` stays unset on a miss, as in actions/cache (issue #1466).
    context.log(`Cache not found for input keys: ${[primaryKey, ...restoreKeys].join(", ")}`);
    return SUCCEEDED;
  }
  remember(MATCHED_KEY_STATE, "cache-matched-key", matched);
  context.setOutput("cache-hit", String(isExactKeyMatch(primaryKey, matched)));
  context.log(
    lookupOnly
      ? `Cache found and can be restored from key: ${matched}`
      : `Cache restored from key: ${matched}`,
  );
  return SUCCEEDED;
}

interface SaveSource {
  /** actions/cache's post step: keys from the main step's state. */
  readonly fromState: boolean;
}

async function save(context: BuiltinContext, source: SaveSource): Promise<BuiltinResult> {
  const primaryKey =
    (source.fromState ? context.getState(PRIMARY_KEY_STATE) : "") || readInput(context, "key");
  if (primaryKey === "") {
    context.warning("Key is not specified.");
    return SUCCEEDED;
  }
  if (source.fromState) {
    const restoredKey = context.getState(MATCHED_KEY_STATE);
    if (isExactKeyMatch(primaryKey, restoredKey === "" ? undefined : restoredKey)) {
      context.log(`Cache hit occurred on the primary key ${primaryKey}, not saving cache.`);
      return SUCCEEDED;
    }
  }
  const paths = readInputLines(context, "path");
  const enableCrossOsArchive = readFlag(context, "enableCrossOsArchive", false);
  const failed = (message: string): BuiltinResult => {
    context.warning(message);
    if (!source.fromState) context.warning("Cache save failed.");
    return SUCCEEDED;
  };
  const outcome: Checked<SaveOutcome> = await saveCache(
    context,
    paths,
    primaryKey,
    enableCrossOsArchive,
  ).catch((cause: unknown) => ({ ok: false, message: `Failed to save: ${messageOf(cause)}` }) as const);
  if (!outcome.ok) return failed(outcome.message);
  switch (outcome.value) {
    case "saved":
      context.log(`Cache saved with key: ${primaryKey}`);
      return SUCCEEDED;
    case "exists":
      context.log(
        `Failed to save: Unable to reserve cache with key ${primaryKey}, another job may be creating this cache. ` +
          "(An entry with this key exists: cache keys are immutable; change the key to save new content.)",
      );
      if (!source.fromState) context.warning("Cache save failed.");
      return SUCCEEDED;
    case "no-files":
      return failed(
        "Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved.",
      );
  }
}

const SHARED_INPUTS = {
  path: { required: true },
  key: { required: true },
  "upload-chunk-size": {},
  enableCrossOsArchive: { default: "false" },
} as const;

export const cacheAction: BuiltinAction = {
  name: "actions/cache",
  inputs: {
    ...SHARED_INPUTS,
    "restore-keys": {},
    "fail-on-cache-miss": { default: "false" },
    "lookup-only": { default: "false" },
    "save-always": { default: "false" },
  },
  main: (context) => restore(context, { keysAsOutputs: false }),
  post: (context) => save(context, { fromState: true }),
  postIf: "success()",
};

export const cacheRestoreAction: BuiltinAction = {
  name: "actions/cache/restore",
  inputs: {
    path: { required: true },
    key: { required: true },
    "restore-keys": {},
    enableCrossOsArchive: { default: "false" },
    "fail-on-cache-miss": { default: "false" },
    "lookup-only": { default: "false" },
  },
  main: (context) => restore(context, { keysAsOutputs: true }),
};

export const cacheSaveAction: BuiltinAction = {
  name: "actions/cache/save",
  inputs: SHARED_INPUTS,
  main: (context) => save(context, { fromState: false }),
};
