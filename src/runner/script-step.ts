/** A `run:` step: its script written to a file and run by the shell GitHub would use. */
import { statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { StepOutcome } from "../engine/events.js";
import type { ExpressionContexts } from "../expressions/contexts.js";
import { evaluateString } from "../expressions/template.js";
import type { StepDefinition } from "../workflow/model.js";
import type { JobExecution, StepRecord, StepScope } from "./job-runner.js";
import { runProcess } from "./process.js";
import type { ProcessEnd } from "./process.js";
import { resolveShell } from "./shell.js";
import { fileId } from "./file-id.js";

export async function runScriptStep(
  job: JobExecution,
  step: StepDefinition,
  scope: StepScope,
  record: StepRecord,
  envContext: Record<string, string>,
  contexts: ExpressionContexts,
): Promise<StepOutcome> {
  const options = job.stepOptions(scope);
  const fail = (message: string): StepOutcome => {
    job.emitAnnotation(record.number, { level: "error", message: job.masker.mask(message) });
    return "failure";
  };
  const script = step.run ? evaluateString(step.run, contexts, options) : undefined;
  if (!script?.ok) {
    for (const e of script?.errors ?? []) job.stepError(record.number, e);
    return "failure";
  }
  const shellName = step.shell ? evaluateString(step.shell, contexts, options) : undefined;
  if (shellName && !shellName.ok) {
    for (const e of shellName.errors) job.stepError(record.number, e);
    return "failure";
  }
  const workingDirectoryText = step.workingDirectory
    ? evaluateString(step.workingDirectory, contexts, options)
    : undefined;
  if (workingDirectoryText && !workingDirectoryText.ok) {
    for (const e of workingDirectoryText.errors) job.stepError(record.number, e);
    return "failure";
  }
  const shell = shellName?.value ?? scope.defaults?.shell;
  const directoryName = workingDirectoryText?.value ?? scope.defaults?.workingDirectory;
  const workspace = job.host.workspace;
  const cwd = directoryName
    ? isAbsolute(directoryName)
      ? directoryName
      : resolve(workspace, directoryName)
    : workspace;
  if (!isDirectory(cwd)) {
    return fail(
      `working-directory '${directoryName}' does not exist in the workspace (${cwd}): create it in an earlier step or fix the path.`,
    );
  }

  // A composite action's steps see where the action is (GITHUB_ACTION_PATH), as on GitHub.
  const actionVariables: Record<string, string> = scope.action
    ? {
        GITHUB_ACTION_PATH: scope.action.path,
        GITHUB_ACTION_REPOSITORY: scope.action.repository,
        GITHUB_ACTION_REF: scope.action.ref,
      }
    : {};
  const processEnv = job.processEnvironment(envContext, record.io, {
    GITHUB_ACTION: step.id,
    ...actionVariables,
  });
  const resolution = resolveShell(shell, processEnv.PATH ?? "");
  if (!resolution.ok) return fail(resolution.message);
  const file = join(job.host.runnerTemp, fileId() + resolution.extension);
  writeFileSync(file, resolution.prefix + script.value + resolution.suffix);
  const invocation = resolution.invocation(file);

  // What the runner prints before a script: the script, the shell, the step's env.
  const lines = script.value.replace(/\n$/, "").split("\n");
  record.io.onLine({ text: `::group::Run ${lines[0] ?? ""}`, startsLine: true, endsLine: true }, "stdout");
  for (const line of lines) record.io.info(line);
  record.io.info(`shell: ${resolution.display}`);
  const envNames = Object.keys(envContext);
  if (envNames.length > 0) {
    record.io.info("env:");
    for (const name of envNames) record.io.info(`  ${name}: ${envContext[name]}`);
  }
  record.io.onLine({ text: "::endgroup::", startsLine: true, endsLine: true }, "stdout");

  const end = await runProcess({
    command: invocation.command,
    args: invocation.args,
    cwd,
    env: processEnv,
    onLine: (line, stream) => record.io.onLine(line, stream),
    onStarted: (group) => job.trackProcessGroup(group),
    timeoutMs: record.timeoutMs,
    signal: record.signal,
  });
  return outcomeOf(end, (message) => job.emitAnnotation(record.number, { level: "error", message }));
}

/** How a finished process turns into a step outcome, with GitHub's messages. */
export function outcomeOf(end: ProcessEnd, error: (message: string) => void): StepOutcome {
  switch (end.kind) {
    case "exited":
      if (end.code === 0) return "success";
      error(`Process completed with exit code ${end.code}.`);
      return "failure";
    case "signalled":
      error(`The process was killed by signal ${end.signal}.`);
      return "failure";
    case "timed-out":
      error("The action has timed out.");
      return "failure";
    case "cancelled":
      error("The operation was canceled.");
      return "cancelled";
    case "not-started":
      error(`The process could not start: ${end.reason}`);
      return "failure";
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
