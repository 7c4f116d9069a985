/**
 * Runs one job (one matrix job) on this host: evaluates the job's fields when it starts, runs
 * its steps in order with GitHub's rules (conditions, continue-on-error, timeouts, environment
 * files, workflow commands, masking), then its post steps, and computes its outputs.
 * `conveyor run` and the server's runners both call this.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import type { Diagnostic } from "../diagnostic.js";
import { formatDiagnostic } from "../diagnostic.js";
import type { JobAssignment, JobOutcome } from "../engine/run-engine.js";
import { now } from "../engine/events.js";
import { environmentUrlToken, evaluateEnvironmentUrl } from "../engine/job-gates.js";
import type { LogKind, RunEventSink, StepOutcome } from "../engine/events.js";
import type { ExpressionContexts, JsonObject } from "../expressions/contexts.js";
import { evaluateCondition } from "../expressions/evaluate.js";
import { hashFilesFunction } from "../expressions/hash-files.js";
import { statusFunctions, statusValues } from "../expressions/status-functions.js";
import type { JobStatus } from "../expressions/status-functions.js";
import { evaluateString, evaluateStringMap, evaluateTemplate } from "../expressions/template.js";
import type { TemplateOptions } from "../expressions/template.js";
import type { JsonValue } from "../json.js";
import type { RunDefaults, StepDefinition } from "../workflow/model.js";
import { githubContextForJob, githubEnvironmentVariables } from "../engine/github-context.js";
import type { GithubContext } from "../engine/github-context.js";
import { killProcessGroup } from "./process.js";
import { SecretMasker } from "./masker.js";
import { composePath, addToPrependPath } from "./env-files.js";
import type { StepEffects } from "./step-io.js";
import { StepFilePool, StepIO } from "./step-io.js";
import type { Annotation as CommandAnnotation } from "./workflow-commands.js";
import { runScriptStep } from "./script-step.js";
import type { ActionSteps } from "./action-steps.js";

/** GitHub's default job timeout: six hours. */
export const DEFAULT_JOB_TIMEOUT_MINUTES = 360;

export interface RunInfo {
  readonly runId: string;
  readonly runNumber: number;
  readonly runAttempt: number;
  /** The working tree the run is for. */
  readonly repositoryRoot: string;
}

/** Everything a job needs from the host that starts it. */
export interface JobHost {
  readonly run: RunInfo;
  /** The job's workspace, already prepared (a copy of the working tree, or the tree itself). */
  readonly workspace: string;
  readonly workspaceHoldsRepository: boolean;
  /** The job's own temporary folder (RUNNER_TEMP). */
  readonly runnerTemp: string;
  readonly toolCache: string;
  /** The event payload file (GITHUB_EVENT_PATH). */
  readonly eventPath: string;
  /** The environment Conveyor itself was started with: PATH, HOME and the rest. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** Env for every step as if written in the workflow's top-level `env` (`conveyor run --env`); the workflow's own values win. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** How `uses:` steps run (built-in, JavaScript, composite actions). */
  readonly actions: ActionSteps;
  /** Environment files the run's jobs share (see StepFilePool); by default each job makes its own. */
  readonly stepFiles?: StepFilePool;
  /**
   * The server's services for actions (artifacts, caches) on a server runner: given to JavaScript
   * actions and built-in actions only, as GitHub's runner gives them; the token is masked everywhere.
   */
  readonly actionsRuntime?: {
    readonly token: string;
    readonly resultsUrl: string;
    readonly cacheUrl: string;
  };
  readonly emit: RunEventSink;
  /** Aborted when the run is cancelled. */
  readonly signal: AbortSignal;
}

/** The steps context of one scope: the job's steps, or a composite action's. */
export type StepsContext = Record<
  string,
  { outputs: Record<string, string>; outcome: StepOutcome; conclusion: StepOutcome }
>;

/** Where steps run: the job itself, or inside a composite action. */
export interface StepScope {
  readonly steps: StepsContext;
  /** `inputs` as the steps of this scope see it. */
  readonly inputs: JsonObject;
  /** Env added by the scope (a composite action's `uses` step env); workflow/job env come from the job. */
  readonly env: Record<string, string>;
  /** Resolves token file ids for this scope's steps (the workflow, or an action.yml). */
  readonly fileName: (fileId: number | undefined) => string;
  /** For a composite action: its folder, and its own success/failure so far. */
  readonly action?: {
    readonly path: string;
    readonly repository: string;
    readonly ref: string;
    status: "success" | "failure";
  };
  /** `defaults.run` applying to this scope (none inside composite actions). */
  readonly defaults?: { readonly shell?: string; readonly workingDirectory?: string };
}

export interface StepRecord {
  readonly number: number;
  readonly name: string;
  readonly io: StepIO;
  readonly signal: AbortSignal;
  readonly timeoutMs: number | undefined;
}

/** An action's `pre` step, run when the job starts, before the main steps (in step order). */
export interface PreStep {
  /** The step whose action has the pre script. */
  readonly step: StepDefinition;
  /** `pre-if`, with status functions on the job's status. */
  readonly condition: string;
  readonly run: (
    step: StepRecord,
    env: Record<string, string>,
    contexts: ExpressionContexts,
  ) => Promise<StepOutcome>;
}

/** A post step an action registered while its main step ran; run in reverse order at the end. */
export interface PostStep {
  readonly name: string;
  readonly condition: string;
  readonly scope: StepScope;
  readonly run: (step: StepRecord, env: Record<string, string>) => Promise<StepOutcome>;
}

export async function runJob(assignment: JobAssignment, host: JobHost): Promise<JobOutcome> {
  return new JobExecution(assignment, host).run();
}

export class JobExecution {
  readonly masker = new SecretMasker();
  /** Env from GITHUB_ENV (and `::set-env::`), shared by all later steps of the job. */
  readonly exportedEnv: Record<string, string> = {};
  prependPath: string[] = [];
  status: JobStatus = "success";
  private stepNumber = 0;
  private workflowEnv: Record<string, string> = {};
  private jobEnv: Record<string, string> = {};
  private readonly processGroups = new Set<number>();
  /** The steps' environment files, reused from step to step. */
  private readonly stepFiles: StepFilePool;
  private readonly postSteps: PostStep[] = [];
  /** What each action's pre step saved with GITHUB_STATE, for its main and post steps. */
  private readonly actionStates = new Map<StepDefinition, Record<string, string>>();
  private currentStep: AbortController | undefined;
  private cancelled = false;
  /** The job failed first at a step this host cannot provide for (see JobOutcome.unavailableOnHost). */
  private unavailable = false;
  private readonly debug: boolean;
  private readonly started = Date.now();
  private defaults: { shell?: string; workingDirectory?: string } = {};
  /** The github context as this job sees it (github.job and github.workspace filled in). */
  readonly github: GithubContext;
  /** GITHUB_* and RUNNER_* as every step of the job sees them (see processEnvironment). */
  private jobVariables: Record<string, string> | undefined;
  private readonly hashFiles: FunctionDefinition;

  constructor(
    readonly assignment: JobAssignment,
    readonly host: JobHost,
  ) {
    this.github = githubContextForJob((assignment.contexts.github ?? {}) as GithubContext, {
      job: assignment.job.id,
      workspace: host.workspace,
    });
    this.hashFiles = hashFilesFunction(host.workspace);
    this.stepFiles = new StepFilePool(undefined, host.stepFiles);
    const secrets = assignment.contexts.secrets ?? {};
    for (const value of Object.values(secrets)) if (typeof value === "string") this.masker.add(value);
    if (host.actionsRuntime) this.masker.add(host.actionsRuntime.token);
    this.debug = isTrue(secrets.ACTIONS_STEP_DEBUG) || isTrue(assignment.contexts.vars?.ACTIONS_STEP_DEBUG);
  }

  get id(): string {
    return this.assignment.id;
  }

  async run(): Promise<JobOutcome> {
    const { assignment, host } = this;
    host.emit({ type: "job-started", jobId: assignment.id, name: assignment.displayName, at: now() });
    mkdirSync(host.runnerTemp, { recursive: true });
    const onCancel = (): void => this.cancel();
    if (host.signal.aborted) this.cancel();
    host.signal.addEventListener("abort", onCancel, { once: true });
    let timer: NodeJS.Timeout | undefined;
    let outcome: JobOutcome;
    try {
      const setup = this.setUp();
      if (!setup.ok) {
        for (const e of setup.errors) this.jobError(e);
        outcome = { conclusion: "failure", outputs: {} };
      } else {
        timer = setTimeout(() => this.timeOut(setup.timeoutMinutes), setup.timeoutMinutes * 60_000);
        timer.unref();
        const scope: StepScope = {
          steps: {},
          inputs: assignment.contexts.inputs ?? {},
          env: {},
          fileName: assignment.workflow.fileName,
          defaults: this.defaults,
        };
        await this.runPreSteps(assignment.job.steps, scope);
        await this.runSteps(assignment.job.steps, scope);
        await this.runPostSteps();
        const outputs = this.evaluateOutputs(scope);
        const environmentUrl = this.evaluateEnvironmentUrl(scope);
        // A job that ran out of time was cancelled, as GitHub reports it (`needs.<job>.result` too).
        const conclusion = this.cancelled ? "cancelled" : this.status === "success" ? "success" : "failure";
        outcome = {
          conclusion,
          outputs,
          continueOnError: setup.continueOnError,
          ...(conclusion === "failure" && this.unavailable ? { unavailableOnHost: true } : {}),
          ...(environmentUrl === undefined ? {} : { environmentUrl }),
        };
      }
    } finally {
      if (timer) clearTimeout(timer);
      host.signal.removeEventListener("abort", onCancel);
      for (const group of this.processGroups) killProcessGroup(group);
      this.stepFiles.dispose();
    }
    host.emit({
      type: "job-finished",
      jobId: assignment.id,
      name: assignment.displayName,
      // Shown as it ended; jobs that need it see a continue-on-error failure as success (the engine's rule).
      result: outcome.conclusion,
      ran: true,
      durationMs: Date.now() - this.started,
      outputs: outcome.outputs,
      at: now(),
    });
    return outcome;
  }

  /** Stops the current step; later steps see `cancelled()` and only `always()` ones run. */
  cancel(): void {
    this.cancelled = true;
    this.status = "cancelled";
    this.currentStep?.abort();
  }

  /**
   * A step failed because this host lacks what it asks for (a built-in setup action's version).
   * When nothing failed before, the job's failure is the host's limit: fail-fast spares the other
   * matrix jobs, which may be the ones this host can run.
   */
  unavailableOnHost(action: string): void {
    if (this.status !== "success" || this.unavailable) return;
    this.unavailable = true;
    const matrix = this.assignment.contexts.matrix;
    if (matrix && typeof matrix === "object" && Object.keys(matrix).length > 0) {
      this.jobLine(
        `${action} cannot provide what this job asks for on this host: the job fails here, and fail-fast does not cancel the other matrix jobs for it.`,
        "info",
      );
    }
  }

  private timeOut(minutes: number): void {
    this.jobError({
      severity: "error",
      message: `The job has exceeded the maximum execution time of ${minutes} minutes (timeout-minutes).`,
    });
    this.cancel();
  }

  // -------------------------------------------------------------------------------------------
  // Setting up: the job-level fields GitHub evaluates when the job starts

  private setUp():
    { ok: true; timeoutMinutes: number; continueOnError: boolean } | { ok: false; errors: Diagnostic[] } {
    const { workflow, job } = this.assignment;
    const errors: Diagnostic[] = [];
    const base: ExpressionContexts = { ...this.assignment.contexts, github: this.github };
    const options = { fileName: workflow.fileName };
    this.workflowEnv = { ...(this.host.extraEnv ?? {}) };
    if (workflow.env) {
      const env = evaluateStringMap(workflow.env, { ...base, env: {} }, options);
      if (env.ok) Object.assign(this.workflowEnv, env.value);
      else errors.push(...env.errors);
    }
    if (job.env) {
      const env = evaluateStringMap(job.env, { ...base, env: this.workflowEnv }, options);
      if (env.ok) this.jobEnv = env.value;
      else errors.push(...env.errors);
    }
    if (job.container || job.services) {
      errors.push({
        severity: "error",
        message: `job '${job.id}' uses ${job.container ? "`container:`" : "`services:`"}, which needs container support; \`conveyor run\` runs jobs directly on this host. Remove it to run the steps here.`,
        location: job.location,
      });
    }
    if (job.runsOn) {
      const runsOn = evaluateTemplate(job.runsOn, base, options);
      if (!runsOn.ok) errors.push(...runsOn.errors);
      else this.jobLine(`runs-on: ${describeRunsOn(runsOn.value)} (running on this host)`, "info");
    }
    if (job.environment) {
      const environment = evaluateTemplate(job.environment, base, options);
      if (!environment.ok) errors.push(...environment.errors);
    }
    this.defaults = this.runDefaults(workflow.defaults, job.defaults, base, errors);
    const timeout = this.evaluateNumber(job.timeoutMinutes, base, DEFAULT_JOB_TIMEOUT_MINUTES, errors);
    const continueOnError = this.evaluateBoolean(job.continueOnError, base, false, errors);
    return errors.length > 0 ? { ok: false, errors } : { ok: true, timeoutMinutes: timeout, continueOnError };
  }

  private runDefaults(
    workflowDefaults: RunDefaults | undefined,
    jobDefaults: RunDefaults | undefined,
    contexts: ExpressionContexts,
    errors: Diagnostic[],
  ): { shell?: string; workingDirectory?: string } {
    const pick = (token: TemplateToken | undefined): string | undefined => {
      if (!token) return undefined;
      const value = evaluateString(token, contexts, { fileName: this.assignment.workflow.fileName });
      if (!value.ok) {
        errors.push(...value.errors);
        return undefined;
      }
      return value.value;
    };
    return {
      shell: pick(jobDefaults?.shell) ?? pick(workflowDefaults?.shell),
      workingDirectory: pick(jobDefaults?.workingDirectory) ?? pick(workflowDefaults?.workingDirectory),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Steps

  /** Runs steps of a scope in order (the job's, or a composite action's). */
  async runSteps(steps: readonly StepDefinition[], scope: StepScope): Promise<void> {
    for (const step of steps) await this.runStep(step, scope);
  }

  private async runStep(step: StepDefinition, scope: StepScope): Promise<void> {
    const contexts = this.stepContexts(scope);
    const evalOptions = this.stepOptions(scope);
    const errors: Diagnostic[] = [];
    // The step's env is evaluated first: its `if` may read it.
    let stepEnv: Record<string, string> = {};
    if (step.env) {
      const env = evaluateStringMap(step.env, contexts, evalOptions);
      if (env.ok) stepEnv = env.value;
      else errors.push(...env.errors);
    }
    const withEnv: ExpressionContexts = { ...contexts, env: { ...(contexts.env ?? {}), ...stepEnv } };
    const name = this.stepName(step, withEnv, scope);
    const number = ++this.stepNumber;
    this.host.emit({ type: "step-started", jobId: this.id, step: number, name, at: now() });
    const startedAt = Date.now();
    const finish = (outcome: StepOutcome, conclusion: StepOutcome): void => {
      if (step.id)
        scope.steps[step.id] = { ...(scope.steps[step.id] ?? { outputs: {} }), outcome, conclusion };
      this.host.emit({
        type: "step-finished",
        jobId: this.id,
        step: number,
        name,
        outcome,
        conclusion,
        durationMs: Date.now() - startedAt,
        at: now(),
      });
    };
    scope.steps[step.id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };

    const condition = this.stepCondition(step, withEnv, scope);
    if (!condition.ok || errors.length > 0) {
      for (const e of condition.ok ? errors : [...errors, ...condition.errors]) this.stepError(number, e);
      this.markFailed(scope);
      finish("failure", "failure");
      return;
    }
    if (!condition.value) {
      this.stepLine(number, `Skipped: the condition \`${step.if.expression}\` is false.`, "info");
      finish("skipped", "skipped");
      return;
    }
    const continueOnError = this.evaluateBoolean(step.continueOnError, withEnv, false, errors, evalOptions);
    const timeoutMinutes = step.timeoutMinutes
      ? this.evaluateNumber(step.timeoutMinutes, withEnv, 0, errors, evalOptions)
      : undefined;
    if (errors.length > 0) {
      for (const e of errors) this.stepError(number, e);
      this.markFailed(scope);
      finish("failure", "failure");
      return;
    }
    const controller = new AbortController();
    this.currentStep = controller;
    const io = this.newStepIO(number);
    const record: StepRecord = {
      number,
      name,
      io,
      signal: controller.signal,
      timeoutMs: timeoutMinutes && timeoutMinutes > 0 ? timeoutMinutes * 60_000 : undefined,
    };
    let outcome: StepOutcome;
    try {
      const env = { ...(withEnv.env as Record<string, string>) };
      if (step.run) outcome = await runScriptStep(this, step, scope, record, env, withEnv);
      else
        outcome = await this.host.actions.run(this, {
          step,
          scope,
          record,
          envContext: env,
          stepEnv,
          contexts: withEnv,
        });
    } catch (e) {
      this.stepError(number, {
        severity: "error",
        message: `internal error while running the step: ${e instanceof Error ? e.message : String(e)}`,
      });
      outcome = "failure";
    } finally {
      this.currentStep = undefined;
    }
    const effects = io.finish();
    this.applyEffects(number, step.id, scope, effects);
    if (effects.failed && outcome === "success") outcome = "failure";
    if (outcome === "cancelled" && !this.cancelled) outcome = "failure";
    const conclusion: StepOutcome = outcome === "failure" && continueOnError ? "success" : outcome;
    if (conclusion === "failure") this.markFailed(scope);
    finish(outcome, conclusion);
  }

  /** GitHub's name for a step: its `name`, else `Run <first line of the script>` or `Run <action>`. */
  private stepName(step: StepDefinition, contexts: ExpressionContexts, scope: StepScope): string {
    if (step.name) {
      const name = evaluateString(step.name, contexts, this.stepOptions(scope));
      if (name.ok && name.value.trim() !== "") return this.masker.mask(name.value);
    }
    if (step.uses) return `Run ${step.uses}`;
    // The script as written (with its `${{ }}`), as GitHub names the step.
    const written = step.run as { source?: string } | undefined;
    const script = written?.source ?? (step.run ? String(step.run) : "");
    const firstLine = script.split("\n").find((l) => l.trim() !== "") ?? "";
    return this.masker.mask(`Run ${firstLine.trim()}`);
  }

  private markFailed(scope: StepScope): void {
    if (this.status === "success") this.status = "failure";
    if (scope.action) scope.action.status = "failure";
  }

  newStepIO(number: number): StepIO {
    return new StepIO({
      tempDirectory: this.host.runnerTemp,
      workspace: this.host.workspace,
      masker: this.masker,
      debug: this.debug,
      allowUnsecureCommands: false,
      files: this.stepFiles,
      sink: {
        line: (text, kind, stream) => this.emitLine(number, text, kind, stream),
        annotation: (annotation) => this.emitAnnotation(number, annotation),
      },
    });
  }

  /** Applies what a step wrote to its environment files. */
  applyEffects(number: number, stepId: string, scope: StepScope, effects: StepEffects): void {
    for (const [name, value] of Object.entries(effects.env)) this.exportedEnv[name] = value;
    if (effects.paths.length > 0) this.prependPath = addToPrependPath(this.prependPath, effects.paths);
    const existing = scope.steps[stepId];
    scope.steps[stepId] = {
      outcome: existing?.outcome ?? "success",
      conclusion: existing?.conclusion ?? "success",
      outputs: { ...(existing?.outputs ?? {}), ...effects.outputs },
    };
    if (effects.summary.trim() !== "") {
      this.host.emit({
        type: "step-summary",
        jobId: this.id,
        step: number,
        markdown: effects.summary,
        at: now(),
      });
    }
  }

  /** The actions' pre steps, when the job starts: `Pre <step name>`, each with its `pre-if`. */
  private async runPreSteps(steps: readonly StepDefinition[], scope: StepScope): Promise<void> {
    const preSteps = (await this.host.actions.preSteps?.(this, steps, scope)) ?? [];
    for (const pre of preSteps) {
      const contexts = this.stepContexts(scope);
      const name = `Pre ${this.stepName(pre.step, contexts, scope)}`;
      const number = ++this.stepNumber;
      this.host.emit({ type: "step-started", jobId: this.id, step: number, name, at: now() });
      const startedAt = Date.now();
      const condition = evaluateCondition(pre.condition, contexts, { functions: this.stepFunctions(scope) });
      let outcome: StepOutcome = "skipped";
      if (!condition.ok) {
        for (const e of condition.errors) this.stepError(number, e);
        outcome = "failure";
      } else if (condition.value) {
        const controller = new AbortController();
        this.currentStep = controller;
        const io = this.newStepIO(number);
        const record = { number, name, io, signal: controller.signal, timeoutMs: undefined };
        try {
          outcome = await pre.run(record, { ...(contexts.env as Record<string, string>) }, contexts);
        } finally {
          this.currentStep = undefined;
        }
        const effects = io.finish();
        this.actionStates.set(pre.step, { ...effects.state });
        for (const [variable, value] of Object.entries(effects.env)) this.exportedEnv[variable] = value;
        if (effects.paths.length > 0) this.prependPath = addToPrependPath(this.prependPath, effects.paths);
        if (effects.failed && outcome === "success") outcome = "failure";
      }
      if (outcome === "failure") this.markFailed(scope);
      this.host.emit({
        type: "step-finished",
        jobId: this.id,
        step: number,
        name,
        outcome,
        conclusion: outcome,
        durationMs: Date.now() - startedAt,
        at: now(),
      });
    }
  }

  /** What the pre step of `step`'s action saved (empty when it had none). */
  actionState(step: StepDefinition): Readonly<Record<string, string>> {
    return this.actionStates.get(step) ?? {};
  }

  private async runPostSteps(): Promise<void> {
    while (this.postSteps.length > 0) {
      const post = this.postSteps.pop() as PostStep;
      const number = ++this.stepNumber;
      this.host.emit({ type: "step-started", jobId: this.id, step: number, name: post.name, at: now() });
      const startedAt = Date.now();
      const contexts = this.stepContexts(post.scope);
      const condition = evaluateCondition(post.condition, contexts, {
        functions: this.stepFunctions(post.scope),
      });
      let outcome: StepOutcome = "skipped";
      if (!condition.ok) {
        for (const e of condition.errors) this.stepError(number, e);
        outcome = "failure";
      } else if (condition.value) {
        const controller = new AbortController();
        this.currentStep = controller;
        const io = this.newStepIO(number);
        try {
          outcome = await post.run(
            { number, name: post.name, io, signal: controller.signal, timeoutMs: undefined },
            { ...(contexts.env as Record<string, string>) },
          );
        } finally {
          this.currentStep = undefined;
        }
        const effects = io.finish();
        if (effects.failed && outcome === "success") outcome = "failure";
        if (effects.summary.trim() !== "") {
          this.host.emit({
            type: "step-summary",
            jobId: this.id,
            step: number,
            markdown: effects.summary,
            at: now(),
          });
        }
      }
      if (outcome === "failure") this.markFailed(post.scope);
      this.host.emit({
        type: "step-finished",
        jobId: this.id,
        step: number,
        name: post.name,
        outcome,
        conclusion: outcome,
        durationMs: Date.now() - startedAt,
        at: now(),
      });
    }
  }

  registerPostStep(post: PostStep): void {
    this.postSteps.push(post);
  }

  // -------------------------------------------------------------------------------------------
  // Contexts and environment

  /** The contexts a step's fields are evaluated with. */
  stepContexts(scope: StepScope): ExpressionContexts {
    const base = this.assignment.contexts;
    // Inside a composite action, github.action_path (and its repository and ref) are the action's.
    const github = scope.action
      ? {
          ...this.github,
          action_path: scope.action.path,
          action_repository: scope.action.repository,
          action_ref: scope.action.ref,
        }
      : this.github;
    return {
      ...base,
      github,
      inputs: scope.inputs,
      env: { ...this.workflowEnv, ...this.jobEnv, ...this.exportedEnv, ...scope.env },
      steps: scope.steps as unknown as JsonObject,
      job: { status: this.status, container: { id: "", network: "" }, services: {} },
      runner: this.runnerContext(),
    };
  }

  /**
   * A step's `if`. Most steps have none, which is `success()`: that is answered from the status
   * directly, sparing GitHub's evaluator a conversion of every context for each step.
   */
  private stepCondition(
    step: StepDefinition,
    contexts: ExpressionContexts,
    scope: StepScope,
  ): ReturnType<typeof evaluateCondition> {
    const expression = step.if.expression.trim();
    if (expression === "" || expression === "success()") {
      const values = statusValues({
        kind: "step",
        jobStatus: this.status,
        actionStatus: scope.action?.status,
      });
      return { ok: true, value: values.success };
    }
    return evaluateCondition(step.if.expression, contexts, {
      functions: this.stepFunctions(scope),
      location: step.location,
    });
  }

  stepFunctions(scope: StepScope): FunctionDefinition[] {
    return [
      ...statusFunctions({ kind: "step", jobStatus: this.status, actionStatus: scope.action?.status }),
      this.hashFiles,
    ];
  }

  /** How a step's fields (`with`, `env`, `run`, `name`, ...) are evaluated: hashFiles() works in all. */
  stepOptions(scope: StepScope): TemplateOptions {
    return { fileName: scope.fileName, functions: [this.hashFiles] };
  }

  runnerContext(): JsonObject {
    return {
      name: "conveyor",
      os: "Linux",
      arch: runnerArch(),
      temp: this.host.runnerTemp,
      tool_cache: this.host.toolCache,
      workspace: dirname(this.host.workspace),
      environment: "self-hosted",
      debug: this.debug ? "1" : "",
    };
  }

  /**
   * A step process's environment: the host's, then the workflow's env context, then the runner's
   * own variables, which steps cannot override (GITHUB_* and RUNNER_*, as on GitHub).
   */
  processEnvironment(
    envContext: Record<string, string>,
    io: StepIO,
    extra: Record<string, string> = {},
  ): Record<string, string> {
    const host = this.host;
    // The job's own variables are the same for every step: made once.
    this.jobVariables ??= {
      ...githubEnvironmentVariables(this.github),
      GITHUB_EVENT_PATH: host.eventPath,
      RUNNER_NAME: "conveyor",
      RUNNER_OS: "Linux",
      RUNNER_ARCH: runnerArch(),
      RUNNER_TEMP: host.runnerTemp,
      RUNNER_TOOL_CACHE: host.toolCache,
      RUNNER_WORKSPACE: dirname(host.workspace),
      RUNNER_ENVIRONMENT: "self-hosted",
      ...(this.debug ? { RUNNER_DEBUG: "1" } : {}),
    };
    const merged: Record<string, string> = {
      ...host.hostEnv,
      ...envContext,
      ...this.jobVariables,
      ...io.fileVariables,
      ...extra,
    };
    merged.PATH = composePath(this.prependPath, envContext.PATH ?? host.hostEnv.PATH ?? "");
    return merged;
  }

  /** ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL, ACTIONS_CACHE_URL for an action's process; none without a server. */
  actionsRuntimeVariables(): Record<string, string> {
    const runtime = this.host.actionsRuntime;
    if (!runtime) return {};
    return {
      ACTIONS_RUNTIME_TOKEN: runtime.token,
      ACTIONS_RESULTS_URL: runtime.resultsUrl,
      ACTIONS_CACHE_URL: runtime.cacheUrl,
    };
  }

  trackProcessGroup(group: number): void {
    this.processGroups.add(group);
  }

  // -------------------------------------------------------------------------------------------
  // Outputs

  private evaluateOutputs(scope: StepScope): Record<string, string> {
    const token = this.assignment.job.outputs;
    if (!token) return {};
    const contexts = this.stepContexts(scope);
    const outputs: Record<string, string> = {};
    for (const pair of token) {
      const name = String(pair.key);
      const value = evaluateString(pair.value, contexts, { fileName: this.assignment.workflow.fileName });
      if (!value.ok) {
        for (const e of value.errors) this.jobError({ ...e, severity: "warning" });
        continue;
      }
      // GitHub refuses to pass on an output that holds a secret.
      if (this.masker.mask(value.value) !== value.value) {
        this.jobAnnotation("warning", `Skip output '${name}' since it may contain secret.`);
        continue;
      }
      outputs[name] = value.value;
    }
    return outputs;
  }

  /** `environment.url` over the contexts after the steps, as GitHub evaluates it; never a secret. */
  private evaluateEnvironmentUrl(scope: StepScope): string | undefined {
    const token = environmentUrlToken(this.assignment.job.environment);
    if (!token) return undefined;
    const url = evaluateEnvironmentUrl(token, this.stepContexts(scope), {
      fileName: this.assignment.workflow.fileName,
    });
    if (!url.ok) {
      for (const e of url.errors) this.jobError({ ...e, severity: "warning" });
      return undefined;
    }
    if (url.value !== undefined && this.masker.mask(url.value) !== url.value) {
      this.jobAnnotation("warning", "Skip the environment url since it may contain secret.");
      return undefined;
    }
    return url.value;
  }

  // -------------------------------------------------------------------------------------------
  // Evaluation helpers

  evaluateBoolean(
    token: TemplateToken | undefined,
    contexts: ExpressionContexts,
    fallback: boolean,
    errors: Diagnostic[],
    options: TemplateOptions = { fileName: this.assignment.workflow.fileName },
  ): boolean {
    if (!token) return fallback;
    const value = evaluateTemplate(token, contexts, options);
    if (!value.ok) {
      errors.push(...value.errors);
      return fallback;
    }
    return value.value === true || value.value === "true";
  }

  evaluateNumber(
    token: TemplateToken | undefined,
    contexts: ExpressionContexts,
    fallback: number,
    errors: Diagnostic[],
    options: TemplateOptions = { fileName: this.assignment.workflow.fileName },
  ): number {
    if (!token) return fallback;
    const value = evaluateTemplate(token, contexts, options);
    if (!value.ok) {
      errors.push(...value.errors);
      return fallback;
    }
    const n = typeof value.value === "number" ? value.value : Number(value.value);
    if (!Number.isFinite(n)) {
      errors.push({
        severity: "error",
        message: `expected a number of minutes, got '${String(value.value)}'.`,
      });
      return fallback;
    }
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Output to the event stream (always masked)

  emitLine(step: number | null, text: string, kind: LogKind, stream: "stdout" | "stderr" | "runner"): void {
    this.host.emit({ type: "log", jobId: this.id, step, text, kind, stream, at: now() });
  }

  stepLine(step: number, text: string, kind: LogKind = "info"): void {
    this.emitLine(step, this.masker.mask(text), kind, "runner");
  }

  private jobLine(text: string, kind: LogKind): void {
    this.emitLine(null, this.masker.mask(text), kind, "runner");
  }

  emitAnnotation(step: number | null, annotation: CommandAnnotation): void {
    this.host.emit({ type: "annotation", jobId: this.id, step, ...annotation, at: now() });
  }

  stepError(step: number, e: Diagnostic): void {
    const text = this.masker.mask(formatDiagnostic(e));
    this.emitAnnotation(step, { level: e.severity === "warning" ? "warning" : "error", message: text });
  }

  private jobError(e: Diagnostic): void {
    this.emitAnnotation(null, {
      level: e.severity === "warning" ? "warning" : "error",
      message: this.masker.mask(formatDiagnostic(e)),
    });
  }

  private jobAnnotation(level: "warning" | "error", message: string): void {
    this.emitAnnotation(null, { level, message: this.masker.mask(message) });
  }
}

function runnerArch(): string {
  return process.arch === "arm64"
    ? "ARM64"
    : process.arch === "arm"
      ? "ARM"
      : process.arch === "ia32"
        ? "X86"
        : "X64";
}

function describeRunsOn(value: JsonValue): string {
  if (Array.isArray(value)) return value.map(String).join(", ");
  if (value && typeof value === "object") {
    const labels = (value as Record<string, JsonValue>).labels;
    const group = (value as Record<string, JsonValue>).group;
    return [
      group ? `group ${String(group)}` : "",
      Array.isArray(labels) ? labels.map(String).join(", ") : labels ? String(labels) : "",
    ]
      .filter(Boolean)
      .join(", ");
  }
  return String(value);
}

function isTrue(value: JsonValue | undefined): boolean {
  return value === true || (typeof value === "string" && value.toLowerCase() === "true");
}
