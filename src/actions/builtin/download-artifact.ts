/**
 * `actions/download-artifact`, v4 semantics, from this run's ArtifactStore.
 *
 * With `name`, that artifact's files go straight into `path`; otherwise every artifact (or those
 * whose name matches `pattern`, or whose id is in `artifact-ids`) goes into `path/<name>/`, or all
 * into `path` with `merge-multiple: true` (later artifacts win on equal paths, in name order).
 * `path` defaults to the workspace and expands a leading `~`. Artifacts of other runs or
 * repositories (`github-token` with `run-id`/`repository`) are not available offline.
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import picomatch from "picomatch";
import { failedWith, readInput, readStrictBoolean, SUCCEEDED } from "./inputs.js";
import type { ArtifactRecord, BuiltinAction, BuiltinContext, BuiltinResult } from "./types.js";

/** `~` and `~/x` as the action expands them (relative paths are relative to the workspace). */
export function downloadDirectory(input: string, workspace: string, home: string): string {
  if (input === "") return resolve(workspace);
  const expanded = input === "~" ? home : input.startsWith("~/") ? join(home, input.slice(2)) : input;
  return resolve(workspace, expanded);
}

/** Which of `records` a download without `name` takes. */
export function selectArtifacts(
  records: readonly ArtifactRecord[],
  selection: { readonly pattern: string; readonly ids: readonly number[] },
): ArtifactRecord[] {
  if (selection.ids.length > 0) return records.filter((record) => selection.ids.includes(record.id));
  if (selection.pattern === "") return [...records];
  const matches = picomatch(selection.pattern);
  return records.filter((record) => matches(record.name));
}

function parseIds(text: string): number[] | string {
  const ids: number[] = [];
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    if (!/^\d+$/.test(part))
      return `Invalid artifact-ids: '${part}' is not an artifact id (ids are whole numbers, comma-separated).`;
    ids.push(Number(part));
  }
  return ids;
}

/** Other runs and repositories need the artifact service: refuse them clearly instead of guessing. */
function otherRunProblem(context: BuiltinContext): string | undefined {
  if (readInput(context, "github-token") === "") return undefined; // as on GitHub: without a token, these are ignored
  const repository = readInput(context, "repository");
  const runId = readInput(context, "run-id");
  const otherRepository =
    repository !== "" && repository.toLowerCase() !== context.run.repository.toLowerCase();
  const otherRun = runId !== "" && runId !== context.run.runId;
  if (!otherRepository && !otherRun) return undefined;
  const what = otherRepository ? `repository '${repository}'` : `run ${runId}`;
  return (
    `Artifacts of ${what} are not available offline: Conveyor's local run only has the artifacts this run ` +
    "uploaded. Remove `github-token`/`run-id`/`repository` to download this run's artifacts."
  );
}

async function download(context: BuiltinContext): Promise<BuiltinResult> {
  const name = readInput(context, "name");
  const idsInput = readInput(context, "artifact-ids");
  if (name !== "" && idsInput !== "") {
    return failedWith("Inputs `name` and `artifact-ids` cannot be used together. Please specify only one.");
  }
  const otherRun = otherRunProblem(context);
  if (otherRun) return failedWith(otherRun);
  const merge = readStrictBoolean(context, "merge-multiple", false);
  if (!merge.ok) return failedWith(merge.message);
  const ids = parseIds(idsInput);
  if (typeof ids === "string") return failedWith(ids);
  const destination = downloadDirectory(
    readInput(context, "path"),
    context.workspace,
    context.env.HOME ?? homedir(),
  );

  if (name !== "") {
    const record = await context.artifacts.describe(name);
    if (!record) {
      const available = await context.artifacts.list();
      return failedWith(
        `Unable to download artifact(s): Artifact not found for name: ${name}. ` +
          (available.length === 0
            ? "No artifact was uploaded in this run yet: the job that uploads it must finish first (use `needs:`)."
            : `This run has: ${available.map((record) => record.name).join(", ")}.`),
      );
    }
    await fetchArtifact(context, record, destination);
  } else {
    const records = await context.artifacts.list();
    const pattern = readInput(context, "pattern");
    const selected = selectArtifacts(records, { pattern, ids });
    if (pattern !== "" || ids.length > 0) {
      context.log(`Filtered from ${records.length} to ${selected.length} artifacts`);
    }
    if (ids.length > 0 && selected.length < ids.length) {
      const missing = ids.filter((id) => !selected.some((record) => record.id === id));
      return failedWith(
        `Unable to download artifact(s): no artifact with id ${missing.join(", ")} in this run.`,
      );
    }
    for (const record of selected) {
      await fetchArtifact(context, record, merge.value ? destination : join(destination, record.name));
    }
    context.log(`Total of ${selected.length} artifact(s) downloaded`);
  }
  context.setOutput("download-path", destination);
  context.log(`Download artifact has finished successfully`);
  return SUCCEEDED;
}

async function fetchArtifact(
  context: BuiltinContext,
  record: ArtifactRecord,
  destination: string,
): Promise<void> {
  const fetched = await context.artifacts.fetch(record, destination);
  // As the real action: content that changed since the upload is a warning, not a failure.
  if (!fetched.digestMatches) {
    context.warning(
      `Artifact '${record.name}' does not match the digest recorded at upload: it changed after it was uploaded.`,
    );
  }
  context.log(
    `Artifact '${record.name}' (ID: ${record.id}, ${fetched.files} files) downloaded to ${destination}`,
  );
}

export const downloadArtifactAction: BuiltinAction = {
  name: "actions/download-artifact",
  inputs: {
    name: {},
    "artifact-ids": {},
    path: {},
    pattern: {},
    "merge-multiple": { default: "false" },
    "github-token": {},
    repository: {},
    "run-id": {},
  },
  main: download,
};
