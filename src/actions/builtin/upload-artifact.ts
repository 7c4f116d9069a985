/**
 * `actions/upload-artifact`, v4 semantics (v3's inputs are a subset), through the ArtifactStore.
 *
 * As in the real action: files are found with `@actions/glob` (links followed, hidden files left
 * out unless `include-hidden-files`), and the root of the uploaded tree is the least common ancestor
 * of the search paths — with a single search path, that path, or its folder when it names the one
 * file uploaded. A name can be uploaded once per run unless `overwrite: true`.
 *
 * Where the files go is the ArtifactStore's: on a server runner, a zip made with `compression-level`
 * and uploaded to the server's artifact service as GitHub's action does (`artifact-digest` is the
 * zip's SHA-256); in `conveyor run`, folders under `.conveyor/`, where `compression-level` is checked
 * but has no effect and `artifact-digest` is the SHA-256 of the files (paths and contents).
 */
import { homedir } from "node:os";
import { dirname, relative, sep } from "node:path";
import { stat } from "node:fs/promises";
import { artifactFilePathProblem, artifactNameProblem } from "./artifact-names.js";
import { findPaths } from "./glob.js";
import {
  failedWith,
  readInput,
  readInputLines,
  readInteger,
  readStrictBoolean,
  SUCCEEDED,
  messageOf,
} from "./inputs.js";
import type { BuiltinAction, BuiltinContext, BuiltinResult } from "./types.js";

const NO_FILE_BEHAVIOURS = ["warn", "error", "ignore"] as const;
type NoFileBehaviour = (typeof NO_FILE_BEHAVIOURS)[number];

/** GitHub's default retention when the repository does not set one. */
const DEFAULT_RETENTION_DAYS = 90;

/** The folder uploaded paths are relative to: upload-artifact's rule. */
export function uploadRoot(searchPaths: readonly string[], files: readonly string[]): string {
  if (searchPaths.length > 1) return commonAncestor(searchPaths);
  const only = searchPaths[0] ?? "/";
  // A single file named without wildcards is uploaded on its own, without its folders.
  if (files.length === 1 && files[0] === only) return dirname(only);
  return only;
}

/** The deepest folder holding all of `paths` (absolute). */
export function commonAncestor(paths: readonly string[]): string {
  const split = paths.map((path) => path.split("/").filter((name) => name !== ""));
  const first = split[0] ?? [];
  let length = 0;
  while (length < first.length && split.every((names) => names[length] === first[length])) length++;
  return `/${first.slice(0, length).join("/")}`;
}

interface UploadSettings {
  readonly name: string;
  readonly patterns: readonly string[];
  readonly ifNoFilesFound: NoFileBehaviour;
  readonly retentionDays: number;
  readonly overwrite: boolean;
  readonly includeHiddenFiles: boolean;
  readonly compressionLevel: number;
}

function readSettings(context: BuiltinContext): UploadSettings | string {
  const name = readInput(context, "name") || "artifact";
  const nameProblem = artifactNameProblem(name);
  if (nameProblem) return nameProblem;
  const patterns = readInputLines(context, "path");
  if (patterns.length === 0)
    return "Input required and not supplied: path. Say which files to upload, e.g. `path: dist/`.";
  const ifNoFilesFound = readInput(context, "if-no-files-found") || "warn";
  if (!(NO_FILE_BEHAVIOURS as readonly string[]).includes(ifNoFilesFound)) {
    return `Unrecognized if-no-files-found input. Provided: ${ifNoFilesFound}. Available options: ${NO_FILE_BEHAVIOURS.join(", ")}.`;
  }
  const overwrite = readStrictBoolean(context, "overwrite", false);
  if (!overwrite.ok) return overwrite.message;
  const includeHiddenFiles = readStrictBoolean(context, "include-hidden-files", false);
  if (!includeHiddenFiles.ok) return includeHiddenFiles.message;
  const retention = readInteger(context, "retention-days", 0);
  if (!retention.ok) return retention.message;
  if (retention.value < 0)
    return `Invalid retention-days: ${retention.value}. Use 1 to 90, or 0 for the default.`;
  const compression = readInteger(context, "compression-level", 6);
  if (!compression.ok) return compression.message;
  if (compression.value < 0 || compression.value > 9) {
    return `Invalid compression-level: ${compression.value}. Valid values are 0-9.`;
  }
  const maxRetention = Number.parseInt(context.env.GITHUB_RETENTION_DAYS ?? "", 10) || DEFAULT_RETENTION_DAYS;
  let retentionDays = retention.value === 0 ? maxRetention : retention.value;
  if (retentionDays > maxRetention) {
    context.warning(
      `Retention days cannot be greater than the maximum allowed retention (${maxRetention} days). Using ${maxRetention} instead.`,
    );
    retentionDays = maxRetention;
  }
  return {
    name,
    patterns,
    ifNoFilesFound: ifNoFilesFound as NoFileBehaviour,
    retentionDays,
    overwrite: overwrite.value,
    includeHiddenFiles: includeHiddenFiles.value,
    compressionLevel: compression.value,
  };
}

async function upload(context: BuiltinContext): Promise<BuiltinResult> {
  const settings = readSettings(context);
  if (typeof settings === "string") return failedWith(settings);
  const found = await findPaths(settings.patterns, {
    workspace: context.workspace,
    homeDirectory: context.env.HOME ?? homedir(),
    implicitDescendants: true,
    followSymbolicLinks: true,
    excludeHiddenFiles: !settings.includeHiddenFiles,
    matchDirectories: true,
  });
  if (!found.ok) return failedWith(found.message);
  const files: string[] = [];
  for (const path of new Set(found.value.paths)) {
    if (!(await stat(path)).isDirectory()) files.push(path);
  }
  if (files.length === 0) {
    const message = `No files were found with the provided path: ${settings.patterns.join(", ")}. No artifacts will be uploaded.`;
    if (settings.ifNoFilesFound === "error") return failedWith(message);
    if (settings.ifNoFilesFound === "warn") context.warning(message);
    else context.log(message);
    return SUCCEEDED;
  }
  const root = uploadRoot(found.value.searchPaths, files);
  const entries = files.map((file) => ({ file, path: relative(root, file).split(sep).join("/") }));
  for (const entry of entries) {
    const problem = artifactFilePathProblem(entry.path);
    if (problem) return failedWith(problem);
  }
  context.log(
    `With the provided path, there will be ${files.length} file${files.length === 1 ? "" : "s"} uploaded`,
  );
  context.log(`The root of the uploaded files is ${root}`);

  const existing = await context.artifacts.describe(settings.name);
  if (existing && !settings.overwrite) return failedWith(conflictMessage(settings.name));
  try {
    const record = await context.artifacts.publish(
      settings.name,
      entries.map((entry) => ({ source: entry.file, path: entry.path })),
      {
        overwrite: settings.overwrite,
        retentionDays: settings.retentionDays,
        compressionLevel: settings.compressionLevel,
      },
    );
    if (!record) return failedWith(conflictMessage(settings.name));
    if (existing)
      context.log(`Artifact '${settings.name}' (ID: ${existing.id}) was replaced (overwrite: true).`);
    context.log(
      `Artifact ${record.name} has been successfully uploaded! Final size is ${record.size} bytes. Artifact ID is ${record.id}`,
    );
    context.log(`Artifact download URL: ${record.url}`);
    context.setOutput("artifact-id", String(record.id));
    context.setOutput("artifact-url", record.url);
    context.setOutput("artifact-digest", record.digest);
    return SUCCEEDED;
  } catch (cause) {
    return failedWith(`Uploading artifact '${settings.name}' failed: ${messageOf(cause)}`);
  }
}

function conflictMessage(name: string): string {
  return (
    `Failed to create the artifact '${name}': an artifact with this name was already uploaded in this run. ` +
    "actions/upload-artifact@v4 does not add to or replace artifacts: give each upload its own name " +
    "(in matrix jobs, include the matrix values, e.g. `name: build-${{ matrix.os }}`), or set `overwrite: true`."
  );
}

export const uploadArtifactAction: BuiltinAction = {
  name: "actions/upload-artifact",
  inputs: {
    name: { default: "artifact" },
    path: { required: true },
    "if-no-files-found": { default: "warn" },
    "retention-days": { default: "0" },
    "compression-level": { default: "6" },
    overwrite: { default: "false" },
    "include-hidden-files": { default: "false" },
  },
  main: upload,
};
