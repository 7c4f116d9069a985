/**
 * `uses:` steps: Conveyor's built-in actions, JavaScript actions (run with this host's node),
 * composite actions (their steps run in a scope of their own), and clear errors for what cannot
 * run here (container actions, actions missing from the action cache).
 */
import { join } from "node:path";
import type { BuiltinAction, BuiltinContext } from "../actions/builtin/types.js";
import type { ArtifactStore, CacheStore } from "../actions/builtin/types.js";
import { findBuiltinAction, BUILTIN_ACTIONS } from "../actions/builtin/index.js";
import { containerSupportProblem, loadAction, locateAction } from "../actions/locate.js";
import type { ActionMetadata, NodeRuns } from "../actions/metadata.js";
import { parseActionReference, formatActionReference } from "../actions/reference.js";
import type { ActionReference } from "../actions/reference.js";
import type { StepOutcome } from "../engine/events.js";
import type { ExpressionContexts, JsonObject } from "../expressions/contexts.js";
import { evaluateString, evaluateStringMap } from "../expressions/template.js";
import type { StepDefinition } from "../workflow/model.js";
import type { JobExecution, PreStep, StepRecord, StepScope } from "./job-runner.js";
import { runProcess } from "./process.js";
import { outcomeOf } from "./script-step.js";

export interface ActionStepRequest {
  readonly step: StepDefinition;
  readonly scope: StepScope;
  readonly record: StepRecord;
  /** The env context of the step (workflow, job, exported and step env). */
  readonly envContext: Record<string, string>;
  /** Only the step's own `env:`. */
  readonly stepEnv: Record<string, string>;
  readonly contexts: ExpressionContexts;
}

export interface ActionSteps {
  run(job: JobExecution, request: ActionStepRequest): Promise<StepOutcome>;
  /** The `pre` steps of the job's actions, run when the job starts (remote JavaScript actions only). */
  preSteps?(job: JobExecution, steps: readonly StepDefinition[], scope: StepScope): Promise<PreStep[]>;
}

export interface HostActionStepsOptions {
  /** The action cache folder (remote actions are looked up there). */
  readonly actionCache: string;
  readonly artifacts: ArtifactStore;
  readonly caches: CacheStore;
  /** The node that runs JavaScript actions. */
  readonly nodePath?: string;
}

/** Input names as the runner turns them into variables: `INPUT_` + upper case, spaces as `_`. */
export function inputVariableName(name: string): string {
  return `INPUT_${name.replace(/ /g, "_").toUpperCase()}`;
}

export class HostActionSteps implements ActionSteps {
  constructor(private readonly options: HostActionStepsOptions) {}

  async run(job: JobExecution, request: ActionStepRequest): Promise<StepOutcome> {
    const { step, record } = request;
    const fail = (message: string): StepOutcome => {
      job.emitAnnotation(record.number, { level: "error", message: job.masker.mask(message) });
      return "failure";
    };
    const parsed = parseActionReference(step.uses ?? "", step.location);
    if (!parsed.ok) return fail(parsed.errors.map((e) => e.message).join("; "));
    const reference = parsed.value;
    if (reference.kind === "docker") return fail(containerSupportProblem(reference));
    if (reference.kind === "remote") {
      const builtin = findBuiltinAction(reference.owner, reference.repo, reference.path);
      if (builtin) return this.runBuiltin(job, request, builtin, reference);
    }
    const located = await locateAction(
      reference,
      { workspace: job.host.workspace, actionCache: this.options.actionCache },
      { builtInActions: BUILTIN_ACTIONS.map((a) => a.name) },
    );
    if (!located.ok) return fail(located.errors.map((e) => e.message).join("; "));
    const metadata = await loadAction(located.value);
    if (!metadata.ok) {
      for (const e of metadata.errors) job.stepError(record.number, e);
      return "failure";
    }
    const runs = metadata.value.runs;
    const actionPath = located.value.directory;
    if (runs.using === "docker") return fail(containerSupportProblem(reference, runs.image));
    const inputs = this.actionInputs(job, request, metadata.value);
    if (!inputs.ok) return "failure";
    const identity = actionIdentity(reference);
    if (runs.using === "composite") {
      return this.runComposite(job, request, metadata.value, actionPath, identity, inputs.value);
    }
    if (runs.pre && reference.kind === "local") {
      // GitHub cannot run it either: the job starts before the repository is checked out.
      job.emitAnnotation(record.number, {
        level: "warning",
        message: `\`pre\` execution is not supported for local action from '${step.uses ?? ""}'`,
      });
    }
    return this.runNode(job, request, runs, actionPath, identity, inputs.value);
  }

  /**
   * The `pre` steps of the remote JavaScript actions among `steps` that are in the action cache,
   * in step order, as GitHub adds them when the job is set up. What a pre step saves with
   * GITHUB_STATE reaches its action's main and post steps.
   */
  async preSteps(job: JobExecution, steps: readonly StepDefinition[], scope: StepScope): Promise<PreStep[]> {
    const found: PreStep[] = [];
    for (const step of steps) {
      const parsed = parseActionReference(step.uses ?? "", step.location);
      if (!step.uses || !parsed.ok || parsed.value.kind !== "remote") continue;
      const reference = parsed.value;
      if (findBuiltinAction(reference.owner, reference.repo, reference.path)) continue;
      // A missing or broken action has nothing to run now; its main step reports the problem.
      const located = await locateAction(
        reference,
        { workspace: job.host.workspace, actionCache: this.options.actionCache },
        { builtInActions: BUILTIN_ACTIONS.map((a) => a.name) },
      );
      if (!located.ok) continue;
      const metadata = await loadAction(located.value);
      if (!metadata.ok) continue;
      const runs = metadata.value.runs;
      if (runs.using === "docker" || runs.using === "composite" || !runs.pre) continue;
      const pre = runs.pre;
      const actionPath = located.value.directory;
      found.push({
        step,
        condition: runs.preIf,
        run: async (record, envContext, contexts) => {
          const request = { step, scope, record, envContext, stepEnv: {}, contexts };
          const inputs = this.actionInputs(job, request, metadata.value);
          if (!inputs.ok) return "failure";
          const identity = actionIdentity(reference);
          return this.runNodeScript(job, request, pre, actionPath, identity, inputs.value, {});
        },
      });
    }
    return found;
  }

  /** `with:` evaluated, plus the defaults the action declares; unknown inputs warned about as GitHub does. */
  private actionInputs(
    job: JobExecution,
    request: ActionStepRequest,
    metadata: ActionMetadata,
  ): { ok: true; value: Record<string, string> } | { ok: false } {
    const { step, record, contexts, scope } = request;
    const given = step.with ? evaluateStringMap(step.with, contexts, job.stepOptions(scope)) : undefined;
    if (given && !given.ok) {
      for (const e of given.errors) job.stepError(record.number, e);
      return { ok: false };
    }
    const values: Record<string, string> = {};
    const known = new Map(metadata.inputs.map((input) => [input.id.toLowerCase(), input]));
    const unexpected = Object.keys(given?.value ?? {}).filter((name) => !known.has(name.toLowerCase()));
    warnUnexpectedInputs(
      job,
      record,
      unexpected,
      metadata.inputs.map((i) => i.id),
    );
    for (const input of metadata.inputs) {
      const provided = Object.entries(given?.value ?? {}).find(
        ([name]) => name.toLowerCase() === input.id.toLowerCase(),
      );
      if (provided) {
        values[input.id] = provided[1];
        continue;
      }
      if (input.default) {
        const value = evaluateString(input.default, contexts, { fileName: metadata.fileName });
        if (!value.ok) {
          for (const e of value.errors) job.stepError(record.number, e);
          return { ok: false };
        }
        values[input.id] = value.value;
      }
    }
    for (const name of unexpected) values[name] = given?.value[name] ?? "";
    return { ok: true, value: values };
  }

  private async runNode(
    job: JobExecution,
    request: ActionStepRequest,
    runs: NodeRuns,
    actionPath: string,
    identity: ActionIdentity,
    inputs: Record<string, string>,
  ): Promise<StepOutcome> {
    const { record, step, scope } = request;
    // What the pre step saved (if it ran) is the main step's STATE_*.
    const preState = job.actionState(step);
    const outcome = await this.runNodeScript(job, request, runs.main, actionPath, identity, inputs, preState);
    if (runs.post) {
      // The post step sees what the pre and main steps saved with GITHUB_STATE (read when a step ends).
      const mainState = record.io.savedState;
      const post = runs.post;
      job.registerPostStep({
        name: `Post ${record.name}`,
        condition: runs.postIf,
        scope,
        run: (postRecord, env) =>
          this.runNodeScript(
            job,
            { ...request, record: postRecord, envContext: env },
            post,
            actionPath,
            identity,
            inputs,
            { ...preState, ...mainState },
          ),
      });
    }
    return outcome;
  }

  /** Runs one of a JavaScript action's scripts (pre, main or post) with the host's node. */
  private async runNodeScript(
    job: JobExecution,
    request: ActionStepRequest,
    script: string,
    actionPath: string,
    identity: ActionIdentity,
    inputs: Record<string, string>,
    state: Readonly<Record<string, string>>,
  ): Promise<StepOutcome> {
    const { record, step } = request;
    const inputVariables = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [inputVariableName(k), v]),
    );
    const actionVariables = {
      GITHUB_ACTION: step.id,
      GITHUB_ACTION_PATH: actionPath,
      GITHUB_ACTION_REPOSITORY: identity.repository,
      GITHUB_ACTION_REF: identity.ref,
    };
    const stateVariables = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
    const end = await runProcess({
      command: this.options.nodePath ?? process.execPath,
      args: [join(actionPath, script)],
      cwd: job.host.workspace,
      env: job.processEnvironment(request.envContext, record.io, {
        ...inputVariables,
        ...actionVariables,
        ...stateVariables,
        ...job.actionsRuntimeVariables(),
      }),
      onLine: (line, stream) => record.io.onLine(line, stream),
      onStarted: (group) => job.trackProcessGroup(group),
      timeoutMs: record.timeoutMs,
      signal: record.signal,
    });
    return outcomeOf(end, (message) => job.emitAnnotation(record.number, { level: "error", message }));
  }

  private async runComposite(
    job: JobExecution,
    request: ActionStepRequest,
    metadata: ActionMetadata,
    actionPath: string,
    identity: ActionIdentity,
    inputs: Record<string, string>,
  ): Promise<StepOutcome> {
    if (metadata.runs.using !== "composite") return "failure";
    const { scope, record, stepEnv } = request;
    const inner: StepScope = {
      steps: {},
      inputs: inputs as JsonObject,
      env: { ...scope.env, ...stepEnv },
      fileName: metadata.fileName,
      action: { path: actionPath, repository: identity.repository, ref: identity.ref, status: "success" },
    };
    record.io.info(`Running the ${metadata.runs.steps.length} steps of ${identity.display}`);
    await job.runSteps(metadata.runs.steps, inner);
    // The composite's outputs come from its steps, through `outputs.<id>.value`.
    const contexts = job.stepContexts(inner);
    const outputs: Record<string, string> = {};
    for (const output of metadata.outputs) {
      if (!output.value) continue;
      const value = evaluateString(output.value, contexts, { fileName: metadata.fileName });
      if (value.ok) outputs[output.id] = value.value;
      else for (const e of value.errors) job.stepError(record.number, e);
    }
    for (const [name, value] of Object.entries(outputs)) record.io.setOutput(name, value);
    return inner.action?.status === "failure" ? "failure" : "success";
  }

  private async runBuiltin(
    job: JobExecution,
    request: ActionStepRequest,
    action: BuiltinAction,
    reference: ActionReference,
  ): Promise<StepOutcome> {
    const { step, record, contexts, scope } = request;
    const given = step.with ? evaluateStringMap(step.with, contexts, job.stepOptions(scope)) : undefined;
    if (given && !given.ok) {
      for (const e of given.errors) job.stepError(record.number, e);
      return "failure";
    }
    const inputs: Record<string, string> = {};
    for (const [name, spec] of Object.entries(action.inputs))
      if (spec.default !== undefined) inputs[name] = spec.default;
    const unexpected: string[] = [];
    for (const [name, value] of Object.entries(given?.value ?? {})) {
      if (!(name in action.inputs)) unexpected.push(name);
      inputs[name] = value;
    }
    warnUnexpectedInputs(job, record, unexpected, Object.keys(action.inputs));
    record.io.info(`${formatActionReference(reference)} is built into Conveyor and runs offline.`);
    const state: Record<string, string> = {};
    const run = async (
      which: "main" | "post",
      target: StepRecord,
      env: Record<string, string>,
    ): Promise<StepOutcome> => {
      const context = this.builtinContext(job, target, inputs, env, state, which === "main");
      const body = which === "main" ? action.main : action.post;
      if (!body) return "success";
      try {
        const result = await body(context);
        if (result.ok) return "success";
        if (target.signal.aborted) {
          // What failed was the cancellation (a probe killed half-way), not what the message would say.
          target.io.annotation({ level: "error", message: "The operation was canceled." });
          return "cancelled";
        }
        target.io.annotation({ level: "error", message: result.message });
        if (result.unavailableOnHost) job.unavailableOnHost(action.name);
        return "failure";
      } catch (e) {
        target.io.annotation({
          level: "error",
          message: `${action.name} failed: ${e instanceof Error ? e.message : String(e)}`,
        });
        return "failure";
      }
    };
    const outcome = await run("main", record, request.envContext);
    if (action.post) {
      job.registerPostStep({
        name: `Post ${record.name}`,
        condition: action.postIf ?? "always()",
        scope,
        run: (postRecord, env) => run("post", postRecord, env),
      });
    }
    return outcome;
  }

  private builtinContext(
    job: JobExecution,
    record: StepRecord,
    inputs: Record<string, string>,
    envContext: Record<string, string>,
    state: Record<string, string>,
    isMain: boolean,
  ): BuiltinContext {
    const github = (job.assignment.contexts.github ?? {}) as Record<string, unknown>;
    const io = record.io;
    return {
      inputs,
      workspace: job.host.workspace,
      runnerTemp: job.host.runnerTemp,
      toolCache: job.host.toolCache,
      env: job.processEnvironment(envContext, io, job.actionsRuntimeVariables()),
      run: {
        repositoryRoot: job.host.run.repositoryRoot,
        repository: String(github.repository ?? ""),
        sha: String(github.sha ?? ""),
        ref: String(github.ref ?? ""),
        runId: job.host.run.runId,
        runAttempt: job.host.run.runAttempt,
        jobId: job.id,
        workspaceHoldsRepository: job.host.workspaceHoldsRepository,
      },
      artifacts: this.options.artifacts,
      caches: this.options.caches,
      signal: record.signal,
      log: (line) => io.info(line),
      warning: (message) => io.annotation({ level: "warning", message }),
      error: (message) => io.annotation({ level: "error", message }),
      notice: (message) => io.annotation({ level: "notice", message }),
      setOutput: (name, value) => io.setOutput(name, value),
      exportVariable: (name, value) => io.exportVariable(name, value),
      addPath: (path) => io.addPath(path),
      saveState: (name, value) => {
        if (isMain) state[name] = value;
      },
      getState: (name) => state[name] ?? "",
      addMask: (value) => job.masker.add(value),
    };
  }
}

interface ActionIdentity {
  readonly repository: string;
  readonly ref: string;
  readonly display: string;
}

function actionIdentity(reference: ActionReference): ActionIdentity {
  if (reference.kind === "remote") {
    return {
      repository: `${reference.owner}/${reference.repo}`,
      ref: reference.ref,
      display: formatActionReference(reference),
    };
  }
  return { repository: "", ref: "", display: formatActionReference(reference) };
}

/** GitHub's warning for `with:` keys the action does not declare (the step still runs). */
function warnUnexpectedInputs(
  job: JobExecution,
  record: StepRecord,
  unexpected: readonly string[],
  valid: readonly string[],
): void {
  if (unexpected.length === 0) return;
  job.emitAnnotation(record.number, {
    level: "warning",
    message: `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${valid.join("', '")}']`,
  });
}
