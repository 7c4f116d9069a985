/**
 * One step's conversation with the runner: the fresh set of environment files it writes to
 * (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STATE, GITHUB_STEP_SUMMARY), the workflow
 * commands in its output, and masking of everything it prints.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import type { Diagnostic } from "../diagnostic.js";
import type { AnnotationLevel, LogKind } from "../engine/events.js";
import { parseEnvFile, parsePathFile } from "./env-files.js";
import type { EnvFileKind } from "./env-files.js";
import type { OutputLine } from "./line-splitter.js";
import type { SecretMasker } from "./masker.js";
import { WorkflowCommandProcessor } from "./workflow-commands.js";
import type { Annotation as CommandAnnotation } from "./workflow-commands.js";

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
    const directory = join(options.tempDirectory, "_runner_file_commands");
    mkdirSync(directory, { recursive: true });
    const id = randomUUID();
    const files = {} as Record<keyof typeof FILE_NAMES, string>;
    for (const [variable, prefix] of Object.entries(FILE_NAMES) as [keyof typeof FILE_NAMES, string][]) {
      files[variable] = join(directory, `${prefix}_${id}`);
      writeFileSync(files[variable], "");
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
    const read = (variable: keyof typeof FILE_NAMES): string => {
      try {
        return readFileSync(this.fileVariables[variable], "utf8");
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
    for (const path of Object.values(this.fileVariables)) rmSync(path, { force: true });
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

/** Annotation paths are shown relative to the workspace, as GitHub shows them relative to the repository. */
function workspaceRelative(file: string, workspace: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(workspace, file);
  return rel.startsWith("..") ? file : rel;
}
