/**
 * Workflow commands: the lines a step prints to talk to the runner (`::error file=app.js::Missing
 * semicolon`), parsed and processed exactly as actions/runner does (`ActionCommand.cs` for the
 * syntax, `ActionCommandManager.cs` for what each command does and the messages it prints).
 *
 * `WorkflowCommandProcessor` holds the state a step's output carries from line to line (commands
 * stopped by `::stop-commands::`, `::echo::on`) and turns each line into a `CommandResult`; it
 * performs nothing itself. Give it raw lines (before masking) and mask what you print.
 */

import { dotNetTrim, dotNetTrimStart, isDotNetBlank } from "./masker.js";

export type AnnotationLevel = "error" | "warning" | "notice";

/** An annotation (the runner's "issue"), from `::error::` and friends or from the runner itself. */
export interface Annotation {
  readonly level: AnnotationLevel;
  readonly message: string;
  /** As the step gave it; the caller makes it relative to the workspace, as the runner does. */
  readonly file?: string;
  readonly title?: string;
  readonly line?: number;
  readonly endLine?: number;
  readonly column?: number;
  readonly endColumn?: number;
}

/** What every result carries besides its own effect, to apply in this order before it. */
interface CommandEffects {
  /** Print this line (masked) to the log: the command itself, echoed. Absent when nothing is echoed. */
  readonly echo?: string;
  /** Annotations the runner adds: deprecation warnings, refusals, the errors of a failed command. */
  readonly issues: readonly Annotation[];
}

export type CommandResult = CommandEffects &
  (
    | { readonly kind: "text"; readonly text: string }
    | { readonly kind: "group"; readonly title: string }
    | { readonly kind: "endgroup" }
    | { readonly kind: "annotation"; readonly annotation: Annotation }
    /** Shown only when step debug logging is on (ACTIONS_STEP_DEBUG). */
    | { readonly kind: "debug"; readonly message: string }
    /** Register with `SecretMasker.add` (it also registers each trimmed line). */
    | { readonly kind: "add-mask"; readonly value: string }
    | { readonly kind: "set-output"; readonly name: string; readonly value: string }
    | { readonly kind: "save-state"; readonly name: string; readonly value: string }
    | { readonly kind: "set-env"; readonly name: string; readonly value: string }
    | { readonly kind: "add-path"; readonly path: string }
    | { readonly kind: "echo"; readonly enabled: boolean }
    /** Commands are ignored until `::<token>::`. The runner masks a token longer than 6 characters. */
    | { readonly kind: "stop-commands"; readonly token: string; readonly maskToken: boolean }
    | { readonly kind: "resume-commands"; readonly token: string }
    | { readonly kind: "add-matcher"; readonly file: string }
    | { readonly kind: "remove-matcher"; readonly owner: string }
    | { readonly kind: "remove-matcher"; readonly file: string }
    /** A command that does nothing but what `echo` and `issues` say (a refused or empty one). */
    | { readonly kind: "consumed" }
    /** The command failed: report `issues` and fail the step (its outcome becomes failure). */
    | { readonly kind: "failed"; readonly command: string }
  );

export interface WorkflowCommandOptions {
  /** ACTIONS_ALLOW_UNSECURE_COMMANDS is true: `::set-env::` and `::add-path::` work. */
  readonly allowUnsecureCommands?: boolean;
  /** ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS is true: any `::stop-commands::` token is accepted. */
  readonly allowUnsecureStopCommandTokens?: boolean;
  /** Echo commands from the start; the runner does when step debug logging is on. */
  readonly echo?: boolean;
}

/** The runner's warning for `set-output` and `save-state` (Constants.Runner.UnsupportedCommandMessage). */
export function deprecatedCommandMessage(command: string): string {
  return (
    `The \`${command}\` command is deprecated and will be disabled soon. Please upgrade to using ` +
    "Environment Files. For more information see: " +
    "https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/"
  );
}

/** The runner's error for `set-env` and `add-path` (Constants.Runner.UnsupportedCommandMessageDisabled). */
export function disabledCommandMessage(command: string): string {
  return (
    `The \`${command}\` command is disabled. Please upgrade to using Environment Files or opt into ` +
    "unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable " +
    "to `true`. For more information see: " +
    "https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/"
  );
}

/** The runner's error for a refused stop token (Constants.Runner.UnsupportedStopCommandTokenDisabled). */
export const INVALID_STOP_TOKEN_MESSAGE =
  "You cannot use a endToken that is an empty string, the string 'pause-logging', or another workflow " +
  "command. For more information see: " +
  "https://docs.github.com/actions/learn-github-actions/workflow-commands-for-github-actions#example-stopping-and-starting-workflow-commands " +
  "or opt into insecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS` " +
  "environment variable to `true`.";

const STOP_COMMANDS = "stop-commands";

/** The commands the runner registers (it also registers `internal-set-repo-path`, for its own plugins only). */
const KNOWN_COMMANDS: ReadonlySet<string> = new Set([
  "set-env",
  "set-output",
  "save-state",
  "add-path",
  "add-mask",
  "add-matcher",
  "remove-matcher",
  "warning",
  "error",
  "notice",
  "debug",
  "group",
  "endgroup",
  "echo",
]);

/** Commands whose line the runner never echoes (they print their own text, or secrets). */
const NEVER_ECHOED: ReadonlySet<string> = new Set(["add-mask", "debug", "warning", "error", "notice"]);

export interface ParsedCommand {
  /** Lowercase: command names are case-insensitive. */
  readonly name: string;
  /** Keys lowercase (case-insensitive), values unescaped. */
  readonly properties: ReadonlyMap<string, string>;
  readonly data: string;
}

/**
 * Parses a line as `::name key=value,...::data` (after leading white space) or, failing that, the
 * legacy `##[name key=value;...]data` anywhere in the line. Only names `isCommand` accepts count: the
 * runner treats any other `::foo::` as plain text.
 */
export function parseWorkflowCommand(
  line: string,
  isCommand: (name: string) => boolean,
): ParsedCommand | undefined {
  return parseCommandLine(line, isCommand) ?? parseLegacyCommandLine(line, isCommand);
}

function parseCommandLine(line: string, isCommand: (name: string) => boolean): ParsedCommand | undefined {
  const message = dotNetTrimStart(line);
  if (!message.startsWith("::")) return undefined;
  const end = message.indexOf("::", 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(" ");
  const name = space < 0 ? info : info.slice(0, space);
  if (!isCommand(name)) return undefined;
  const properties =
    space > 0
      ? parseProperties(dotNetTrim(info.slice(space + 1)), ",", unescapeProperty)
      : new Map<string, string>();
  return {
    name: name.toLowerCase(),
    properties,
    data: unescapeData(trimLineBreaksAtEnd(message.slice(end + 2))),
  };
}

function parseLegacyCommandLine(
  line: string,
  isCommand: (name: string) => boolean,
): ParsedCommand | undefined {
  const prefix = line.indexOf("##[");
  if (prefix < 0) return undefined;
  const bracket = line.indexOf("]", prefix);
  if (bracket < 0) return undefined;
  const info = line.slice(prefix + 3, bracket);
  const space = info.indexOf(" ");
  const name = space < 0 ? info : info.slice(0, space);
  if (!isCommand(name)) return undefined;
  const properties =
    space > 0 ? parseProperties(info.slice(space + 1), ";", unescapeLegacy) : new Map<string, string>();
  return {
    name: name.toLowerCase(),
    properties,
    data: unescapeLegacy(trimLineBreaksAtEnd(line.slice(bracket + 1))),
  };
}

/**
 * `key=value` pairs. Like .NET's `Split('=', 2, RemoveEmptyEntries)`: `=` before the key and right
 * after it are skipped, and a pair without a key or a value is dropped. Later keys win.
 */
function parseProperties(
  text: string,
  separator: string,
  unescape: (value: string) => string,
): Map<string, string> {
  const properties = new Map<string, string>();
  for (const pair of text.split(separator)) {
    const match = /^=*([^=]+)=+([^=][\s\S]*)$/.exec(pair);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      properties.set(match[1].toLowerCase(), unescape(match[2]));
    }
  }
  return properties;
}

function trimLineBreaksAtEnd(text: string): string {
  return text.replace(/[\r\n]+$/, "");
}

const DATA_ESCAPES: Readonly<Record<string, string>> = { "%25": "%", "%0D": "\r", "%0A": "\n" };
const PROPERTY_ESCAPES: Readonly<Record<string, string>> = { ...DATA_ESCAPES, "%3A": ":", "%2C": "," };
const LEGACY_ESCAPES: Readonly<Record<string, string>> = { ...DATA_ESCAPES, "%3B": ";", "%5D": "]" };

// One left-to-right pass; case matters (`%0a` stays as it is), as with the runner's ordinal Replace.
function unescapeData(text: string): string {
  return text.replace(/%(?:25|0D|0A)/g, (escape) => DATA_ESCAPES[escape] ?? escape);
}

function unescapeProperty(text: string): string {
  return text.replace(/%(?:25|0D|0A|3A|2C)/g, (escape) => PROPERTY_ESCAPES[escape] ?? escape);
}

function unescapeLegacy(text: string): string {
  return text.replace(/%(?:25|0D|0A|3B|5D)/g, (escape) => LEGACY_ESCAPES[escape] ?? escape);
}

/** The state of one step's output: whether commands are stopped, and whether they are echoed. */
export class WorkflowCommandProcessor {
  private readonly allowUnsecureCommands: boolean;
  private readonly allowUnsecureStopCommandTokens: boolean;
  private echoing: boolean;
  /** Set while commands are stopped. */
  private stopToken: string | undefined;

  constructor(options: WorkflowCommandOptions = {}) {
    this.allowUnsecureCommands = options.allowUnsecureCommands ?? false;
    this.allowUnsecureStopCommandTokens = options.allowUnsecureStopCommandTokens ?? false;
    this.echoing = options.echo ?? false;
  }

  /** Whether commands are currently echoed (`::echo::on`). */
  get echo(): boolean {
    return this.echoing;
  }

  /** The token that resumes commands, while they are stopped. */
  get stoppedUntil(): string | undefined {
    return this.stopToken;
  }

  /** One line of output, without its line break. Never throws. */
  processLine(line: string): CommandResult {
    const command = parseWorkflowCommand(line, (name) => this.isCommand(name));
    if (command === undefined) return { kind: "text", text: line, issues: [] };

    if (this.stopToken !== undefined) {
      // An empty token never resumes: the runner checks for one before comparing.
      if (this.stopToken === "" || command.name !== this.stopToken.toLowerCase()) {
        return { kind: "text", text: line, issues: [] };
      }
      const token = this.stopToken;
      this.stopToken = undefined;
      return { kind: "resume-commands", token, echo: line, issues: [] };
    }
    if (command.name === STOP_COMMANDS) return this.stopCommands(line, command.data);

    const echo = this.echoing && !NEVER_ECHOED.has(command.name) ? line : undefined;
    const outcome = this.run(command);
    const issues = outcome.issues ?? [];
    if ("failure" in outcome) {
      // The runner names the command by its line, unless the line may hold what it must not print.
      const shown = NEVER_ECHOED.has(command.name) ? command.name : line;
      const errors = [`Unable to process command '${shown}' successfully.`, outcome.failure].map(errorIssue);
      return withEcho({ kind: "failed", command: command.name, issues: [...issues, ...errors] }, echo);
    }
    return withEcho({ ...outcome.result, issues }, outcome.echo ?? echo);
  }

  private isCommand(name: string): boolean {
    const lower = name.toLowerCase();
    return (
      KNOWN_COMMANDS.has(lower) ||
      lower === STOP_COMMANDS ||
      (this.stopToken !== undefined && lower === this.stopToken.toLowerCase())
    );
  }

  private stopCommands(line: string, token: string): CommandResult {
    const invalid = token === "" || token.toLowerCase() === "pause-logging" || this.isCommand(token);
    if (invalid && !this.allowUnsecureStopCommandTokens) {
      // The runner throws here, outside its per-command error handling: the step fails with this message.
      return { kind: "failed", command: STOP_COMMANDS, issues: [errorIssue(INVALID_STOP_TOKEN_MESSAGE)] };
    }
    this.stopToken = token;
    return { kind: "stop-commands", token, maskToken: token.length > 6, echo: line, issues: [] };
  }

  private run(command: ParsedCommand): Outcome {
    const { name, properties, data } = command;
    switch (name) {
      case "group":
        return done({ kind: "group", title: data });
      case "endgroup":
        return done({ kind: "endgroup" });
      case "debug":
        return done({ kind: "debug", message: data });
      case "error":
      case "warning":
      case "notice":
        return done({ kind: "annotation", annotation: annotationOf(name, command) });
      case "add-mask":
        return addMask(data, this.echoing);
      case "set-output":
      case "save-state":
        return setOutputOrState(name, properties, data);
      case "set-env":
        return this.setEnv(properties, data);
      case "add-path":
        if (!this.allowUnsecureCommands) return fail(disabledCommandMessage("add-path"));
        if (data === "") return fail(valueCannotBeNull("path"));
        return done({ kind: "add-path", path: data });
      case "add-matcher":
        if (data === "") return consumed(warningIssue("File path must be specified."));
        return done({ kind: "add-matcher", file: data });
      case "remove-matcher":
        return removeMatcher(properties.get("owner") ?? "", data);
      case "echo":
        return this.setEcho(data);
      default:
        // Unreachable: only registered names parse. The runner's wording, should one slip through.
        return consumed(warningIssue(`Can't find command extension for ##[${name}.command].`));
    }
  }

  private setEnv(properties: ReadonlyMap<string, string>, data: string): Outcome {
    if (!this.allowUnsecureCommands) return fail(disabledCommandMessage("set-env"));
    const name = properties.get("name") ?? "";
    if (name === "") return fail(requiredNameMissing("set-env"));
    if (name.toUpperCase() === "NODE_OPTIONS") {
      return consumed(
        errorIssue("Can't update NODE_OPTIONS environment variable using ::set-env:: command."),
      );
    }
    return done({ kind: "set-env", name, value: data });
  }

  private setEcho(data: string): Outcome {
    if (data === "") return fail(valueCannotBeNull("value"));
    switch (dotNetTrim(data).toUpperCase()) {
      case "ON":
        this.echoing = true;
        return done({ kind: "echo", enabled: true });
      case "OFF":
        this.echoing = false;
        return done({ kind: "echo", enabled: false });
      default:
        return fail(
          `Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: '${data}'.`,
        );
    }
  }
}

type CommandAction = DistributiveOmit<CommandResult, "issues" | "echo">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What running one command gives: an action, or the message of the exception the runner would throw. */
type Outcome =
  | {
      readonly result: CommandAction;
      readonly issues?: readonly Annotation[];
      /** What to echo instead of the line, when echoing. */
      readonly echo?: string;
    }
  | { readonly failure: string; readonly issues?: readonly Annotation[] };

function done(result: CommandAction, issues: readonly Annotation[] = []): Outcome {
  return { result, issues };
}

function consumed(issue: Annotation): Outcome {
  return { result: { kind: "consumed" }, issues: [issue] };
}

function fail(message: string, issues: readonly Annotation[] = []): Outcome {
  return { failure: message, issues };
}

function withEcho(result: CommandResult, echo: string | undefined): CommandResult {
  return echo === undefined ? result : { ...result, echo };
}

function errorIssue(message: string): Annotation {
  return { level: "error", message };
}

function warningIssue(message: string): Annotation {
  return { level: "warning", message };
}

function requiredNameMissing(command: string): string {
  return `Required field 'name' is missing in ##[${command}] command.`;
}

/** The message of .NET's ArgumentNullException, which the runner's ArgUtil throws for an empty value. */
function valueCannotBeNull(parameter: string): string {
  return `Value cannot be null. (Parameter '${parameter}')`;
}

function addMask(data: string, echoing: boolean): Outcome {
  if (isDotNetBlank(data))
    return consumed(warningIssue("Can't add secret mask for empty string in ##[add-mask] command."));
  // Echo shows the command with the secret already masked.
  return { result: { kind: "add-mask", value: data }, ...(echoing ? { echo: "::add-mask::***" } : {}) };
}

function setOutputOrState(
  name: "set-output" | "save-state",
  properties: ReadonlyMap<string, string>,
  data: string,
): Outcome {
  // GitHub prints the deprecation warning first, even when the command then fails.
  const deprecation = [warningIssue(deprecatedCommandMessage(name))];
  const key = properties.get("name") ?? "";
  if (key === "") return fail(requiredNameMissing(name), deprecation);
  return done({ kind: name, name: key, value: data }, deprecation);
}

function removeMatcher(owner: string, file: string): Outcome {
  if (owner !== "" && file !== "") {
    return consumed(
      warningIssue(
        "Either specify an owner name or a file path in ##[remove-matcher] command. Both values cannot be set.",
      ),
    );
  }
  if (owner === "" && file === "") {
    return consumed(
      warningIssue("Either an owner name or a file path must be specified in ##[remove-matcher] command."),
    );
  }
  return done(owner !== "" ? { kind: "remove-matcher", owner } : { kind: "remove-matcher", file });
}

/**
 * The annotation of `::error::`, `::warning::` or `::notice::`, with the runner's repairs of
 * inconsistent positions (`IssueCommandExtension.ValidateLinesAndColumns`): `endLine` alone becomes
 * `line`, `endColumn` alone becomes `col`, columns need a line and a one-line range, and an end
 * before its start drops the pair.
 */
export function annotationOf(level: AnnotationLevel, command: ParsedCommand): Annotation {
  const properties = new Map(command.properties);
  repairPositions(properties);
  const file = properties.get("file");
  const title = properties.get("title");
  const line = parseDotNetInt(properties.get("line"));
  const endLine = parseDotNetInt(properties.get("endline"));
  const column = parseDotNetInt(properties.get("col"));
  const endColumn = parseDotNetInt(properties.get("endcolumn"));
  return {
    level,
    message: command.data,
    ...(file ? { file } : {}),
    ...(title ? { title } : {}),
    ...(line !== undefined ? { line } : {}),
    ...(endLine !== undefined ? { endLine } : {}),
    ...(column !== undefined ? { column } : {}),
    ...(endColumn !== undefined ? { endColumn } : {}),
  };
}

function repairPositions(properties: Map<string, string>): void {
  let line = properties.get("line");
  const endLine = properties.get("endline");
  let column = properties.get("col");
  const endColumn = properties.get("endcolumn");
  // As in the runner, the numbers stay those first parsed (0 when absent) even after a copy.
  const lineNumber = parseDotNetInt(line);
  const endLineNumber = parseDotNetInt(endLine);
  const columnNumber = parseDotNetInt(column);
  const endColumnNumber = parseDotNetInt(endColumn);
  let hasLine = lineNumber !== undefined;
  const hasEndLine = endLineNumber !== undefined;
  let hasColumn = columnNumber !== undefined;
  const hasEndColumn = endColumnNumber !== undefined;
  const hasAnyColumn = hasColumn || hasEndColumn;
  const dropColumns = (): void => {
    properties.delete("col");
    properties.delete("endcolumn");
  };

  if (hasEndLine && !hasLine && endLine !== undefined) {
    properties.set("line", endLine);
    hasLine = true;
    line = endLine;
  }
  if (hasEndColumn && !hasColumn && endColumn !== undefined) {
    properties.set("col", endColumn);
    hasColumn = true;
    column = endColumn;
  }
  if (!hasLine && hasAnyColumn) dropColumns();
  if (hasEndLine && line !== endLine && hasAnyColumn) dropColumns();
  if (hasLine && hasEndLine && (endLineNumber ?? 0) < (lineNumber ?? 0)) {
    properties.delete("line");
    properties.delete("endline");
  }
  if (hasColumn && hasEndColumn && (endColumnNumber ?? 0) < (columnNumber ?? 0)) dropColumns();
}

/** .NET `int.TryParse`: optional white space and sign around decimal digits, within 32 bits. */
function parseDotNetInt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^[\t-\r ]*([+-]?[0-9]+)[\t-\r ]*$/.exec(text);
  if (match?.[1] === undefined) return undefined;
  const value = Number(match[1]);
  return value >= -2147483648 && value <= 2147483647 ? value : undefined;
}
