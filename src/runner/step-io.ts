/**
 * One step's conversation with the runner: the fresh set of environment files it writes to
 * (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STATE, GITHUB_STEP_SUMMARY), the workflow
 * commands in its output, and masking of everything it prints.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import type { Diagnostic } from "../diagnostic.js";
import type { AnnotationLevel, LogKind } from "../engine/events.js";
import { parseEnvFile, parsePathFile } from "./env-files.js";
import type { EnvFileKind } from "./env-files.js";
import type { OutputLine } from "./line-splitter.js";
import type { SecretMasker } from "./masker.js";
import { WorkflowCommandProcessor } from "./workflow-commands.js";
import type { Annotation as CommandAnnotation } from "./workflow-commands.js";
import { fileId } from "./file-id.js";

/** GitHub limits a step summary to 1 MiB. */
export const MAX_STEP_SUMMARY_BYTES = 1024 * 1024;

export interface StepOutputSink {
  line(text: string, kind: LogKind, stream: "stdout" | "stderr" | "runner"): void;
  annotation(annotation: CommandAnnotation): void;
}

/** What a step changed, read from its commands and environment files when it ended. */
export interface StepEffects {
  readonly outputs: Record<string, string>;
  readonly state: Record<string, string>;
  readonly env: Record<string, string>;
  readonly paths: string[];
  readonly summary: string;
  /** A workflow command or an environment file was malformed: the step fails. */
  readonly failed: boolean;
}

export interface StepIOOptions {
  readonly tempDirectory: string;
  readonly workspace: string;
  readonly masker: SecretMasker;
  readonly sink: StepOutputSink;
  /** ACTIONS_STEP_DEBUG: debug lines are shown and commands echoed. */
  readonly debug: boolean;
  readonly allowUnsecureCommands: boolean;
  /** Where the files come from and go back to; without one, each is created and removed. */
  readonly files?: StepFilePool;
}

/**
 * The environment files of steps. Every step gets a fresh set under names of its own, but the
 * files themselves are reused: a file a step left empty is renamed for a later step. Creating a
 * file (an inode to allocate) and removing it are the costliest file-system work of a step; a
 * rename is neither. A file a step wrote to is removed, never handed on.
 *
 * A job has a pool of its own. A run can lend its jobs a shared one (`JobHost.stepFiles`), kept
 * in a folder of its own: a job takes from it what it lacks and returns its files when it ends.
 */
export class StepFilePool {
  private readonly spare: string[] = [];
  private kept = 0;

  /**
   * @param home where the files wait between jobs (a pool shared by jobs); a job's own pool
   *   leaves them where its last step had them.
   * @param lender the pool to take from when this one is empty, and to return files to.
   */
  constructor(
    private readonly home?: string,
    private readonly lender?: StepFilePool,
  ) {}

  /** An empty file at `path`. */
  take(path: string): void {
    const spare = this.spare.pop();
    if (spare !== undefined && moveFile(spare, path)) return;
    if (this.lender) this.lender.take(path);
    else createEmptyFile(path);
  }

  /** A file its step is done with. */
  give(path: string, empty: boolean): void {
    if (!empty) removeFile(path);
    else if (this.home === undefined) this.spare.push(path);
    else {
      const kept = join(this.home, String(this.kept++));
      if (moveFile(path, kept)) this.spare.push(kept);
      else removeFile(path);
    }
  }

  /** The job ended: its files go back to the lender, or are removed. */
  dispose(): void {
    for (const path of this.spare.splice(0)) {
      if (this.lender) this.lender.give(path, true);
      else removeFile(path);
    }
  }
}

/** The folder of a step's environment files, in the job's temporary folder (as the runner has it). */
export function stepFilesFolder(tempDirectory: string): string {
  return join(tempDirectory, "_runner_file_commands");
}

const FILE_NAMES: Record<
  "GITHUB_OUTPUT" | "GITHUB_ENV" | "GITHUB_PATH" | "GITHUB_STATE" | "GITHUB_STEP_SUMMARY",
  string
> = {
  GITHUB_OUTPUT: "set_output",
  GITHUB_ENV: "set_env",
  GITHUB_PATH: "add_path",
  GITHUB_STATE: "save_state",
  GITHUB_STEP_SUMMARY: "step_summary",
};

export class StepIO {
  /** The variables pointing at this step's files, to put in its environment. */
  readonly fileVariables: Readonly<Record<keyof typeof FILE_NAMES, string>>;
  private readonly processor: WorkflowCommandProcessor;
  private readonly outputs: Record<string, string> = {};
  private readonly state: Record<string, string> = {};
  private readonly env: Record<string, string> = {};
  private readonly paths: string[] = [];
  private failed = false;

  constructor(private readonly options: StepIOOptions) {
    const directory = stepFilesFolder(options.tempDirectory);
    const id = fileId();
    const files = {} as Record<keyof typeof FILE_NAMES, string>;
    for (const [variable, prefix] of Object.entries(FILE_NAMES) as [keyof typeof FILE_NAMES, string][]) {
      files[variable] = join(directory, `${prefix}_${id}`);
      if (options.files) options.files.take(files[variable]);
      else createEmptyFile(files[variable]);
    }
    this.fileVariables = files;
    this.processor = new WorkflowCommandProcessor({
      echo: options.debug,
      allowUnsecureCommands: options.allowUnsecureCommands,
    });
  }

  /** A line the step's process printed. */
  onLine(line: OutputLine, stream: "stdout" | "stderr"): void {
    if (!line.startsLine) {
      this.print(line.text, "output", stream);
      return;
    }
    this.handleCommandLine(line.text, stream);
  }

  /** A line the runner itself prints into the step's log. */
  info(text: string): void {
    this.print(text, "info", "runner");
  }

  /** An annotation raised by the runner or a built-in action for this step. */
  annotation(annotation: CommandAnnotation): void {
    this.annotate(annotation);
  }

  /** The step's saved state; filled from GITHUB_STATE by `finish()`, so read it after that. */
  get savedState(): Readonly<Record<string, string>> {
    return this.state;
  }

  // Effects set directly by built-in actions, as their environment files would.
  setOutput(name: string, value: string): void {
    this.outputs[name] = value;
  }

  saveState(name: string, value: string): void {
    this.state[name] = value;
  }

  exportVariable(name: string, value: string): void {
    this.env[name] = value;
  }

  addPath(path: string): void {
    this.paths.push(path);
  }

  private handleCommandLine(text: string, stream: "stdout" | "stderr"): void {
    const result = this.processor.processLine(text);
    if (result.echo !== undefined) this.print(result.echo, "command", stream);
    for (const issue of result.issues) this.annotate(issue);
    switch (result.kind) {
      case "text":
        this.print(result.text, "output", stream);
        break;
      case "group":
        this.print(result.title, "group", stream);
        break;
      case "endgroup":
        this.print("", "endgroup", stream);
        break;
      case "annotation":
        this.annotate(result.annotation);
        break;
      case "debug":
        if (this.options.debug) this.print(result.message, "debug", stream);
        break;
      case "add-mask":
        this.options.masker.add(result.value);
        break;
      case "set-output":
        this.outputs[result.name] = result.value;
        break;
      case "save-state":
        this.state[result.name] = result.value;
        break;
      case "set-env":
        this.env[result.name] = result.value;
        break;
      case "add-path":
        this.paths.push(result.path);
        break;
      case "stop-commands":
        if (result.maskToken) this.options.masker.add(result.token);
        break;
      case "failed":
        this.failed = true;
        break;
      default:
        // echo, resume-commands, problem matchers and consumed commands change nothing more here.
        break;
    }
  }

  private print(text: string, kind: LogKind, stream: "stdout" | "stderr" | "runner"): void {
    this.options.sink.line(this.options.masker.mask(text), kind, stream);
  }

  private annotate(annotation: CommandAnnotation): void {
    const masked: CommandAnnotation = {
      ...annotation,
      message: this.options.masker.mask(annotation.message),
      ...(annotation.title !== undefined ? { title: this.options.masker.mask(annotation.title) } : {}),
      ...(annotation.file !== undefined
        ? { file: workspaceRelative(annotation.file, this.options.workspace) }
        : {}),
    };
    this.options.sink.annotation(masked);
  }

  /** Reads the environment files once the step's process ended, and removes them. */
  finish(): StepEffects {
    /** The files left as they were given (empty, writable plain files): later steps can have them. */
    const untouched = new Set<string>();
    const read = (variable: keyof typeof FILE_NAMES): string => {
      const path = this.fileVariables[variable];
      try {
        // Most steps write none of the files: one look instead of a whole read for each.
        const info = lstatSync(path, { throwIfNoEntry: false });
        if (info?.isFile() && info.size === 0 && (info.mode & 0o600) === 0o600) {
          untouched.add(path);
          return "";
        }
        return readFileSync(path, "utf8");
      } catch {
        return "";
      }
    };
    const fileErrors: Diagnostic[] = [];
    const apply = (variable: EnvFileKind, into: Record<string, string>): void => {
      const parsed = parseEnvFile(read(variable), variable);
      for (const entry of parsed.entries) into[entry.name] = entry.value;
      for (const refused of parsed.refused) this.annotateDiagnostic("warning", refused);
      if (parsed.error) fileErrors.push(parsed.error);
    };
    apply("GITHUB_OUTPUT", this.outputs);
    apply("GITHUB_STATE", this.state);
    apply("GITHUB_ENV", this.env);
    this.paths.push(...parsePathFile(read("GITHUB_PATH")));
    let summary = read("GITHUB_STEP_SUMMARY");
    if (Buffer.byteLength(summary) > MAX_STEP_SUMMARY_BYTES) {
      this.annotate({
        level: "warning",
        message: `The step summary is larger than 1 MiB (GitHub's limit) and was cut; write less to $GITHUB_STEP_SUMMARY.`,
      });
      summary = Buffer.from(summary).subarray(0, MAX_STEP_SUMMARY_BYTES).toString("utf8");
    }
    for (const e of fileErrors) this.annotateDiagnostic("error", e);
    for (const path of Object.values(this.fileVariables)) {
      if (this.options.files) this.options.files.give(path, untouched.has(path));
      else removeFile(path);
    }
    return {
      outputs: this.outputs,
      state: this.state,
      env: this.env,
      paths: this.paths,
      summary: this.options.masker.mask(summary),
      failed: this.failed || fileErrors.length > 0,
    };
  }

  private annotateDiagnostic(level: AnnotationLevel, d: Diagnostic): void {
    const where = d.location ? `${d.location.file} line ${d.location.line}: ` : "";
    this.annotate({ level, message: `${where}${d.message}` });
  }
}

/**
 * Creates (or empties) a file. The folder is made only when missing: once per job, or again after
 * a step removed it, instead of asking for it before every file.
 */
function createEmptyFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, "w");
  }
  closeSync(fd);
}

/** Renames `from` to `to`, making `to`'s folder when missing; false when `from` is gone. */
function moveFile(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return false;
  }
  try {
    mkdirSync(dirname(to), { recursive: true });
    renameSync(from, to);
    return true;
  } catch {
    return false; // the file itself is gone (a step cleared the temporary folder)
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (the step removed it), or not a file any more: nothing of ours to remove.
  }
}

/** Annotation paths are shown relative to the workspace, as GitHub shows them relative to the repository. */
function workspaceRelative(file: string, workspace: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(workspace, file);
  return rel.startsWith("..") ? file : rel;
}
