/**
 * The run's state machine: which job may start, which is skipped, how matrix jobs are limited,
 * what fail-fast and cancellation do, and how the run ends. It performs no I/O: the caller feeds
 * it what happened (a job started, finished) and carries out the commands it returns (start this
 * job, cancel that one). `conveyor run` and the server drive this same engine.
 */
import { error } from "../diagnostic.js";
import type { Diagnostic } from "../diagnostic.js";
import type { ExpressionContexts, JsonObject } from "../expressions/contexts.js";
import { evaluateCondition } from "../expressions/evaluate.js";
import { statusFunctions } from "../expressions/status-functions.js";
import type { JobResult } from "../expressions/status-functions.js";
import { evaluateString, evaluateStringMap, evaluateTemplate } from "../expressions/template.js";
import type { JsonValue } from "../json.js";
import type { CallTree } from "../workflow/calls.js";
import { resolveInputs } from "../workflow/inputs.js";
import type { CallJob, JobDefinition, StepsJob, Workflow } from "../workflow/model.js";
import { ancestorsOf, buildNeedsGraph } from "../workflow/needs-graph.js";
import type { NeedsGraph } from "../workflow/needs-graph.js";
import { expandJob } from "../workflow/plan.js";
import type { JobInstance } from "../workflow/plan.js";
import { valueAt } from "../workflow/tokens.js";
import { isMapping } from "@actions/workflow-parser/templates/tokens/type-guards";

export type { JobResult };

/** What the run-level contexts hold when the run starts. */
export interface RunContexts {
  readonly github: JsonObject;
  readonly vars: JsonObject;
  readonly secrets: JsonObject;
  readonly inputs: JsonObject;
}

export interface EngineOptions {
  /** How many jobs may run at once across the whole run. */
  readonly concurrentJobs: number;
  /** Run only these top-level jobs (and what they need), like `act -j`. */
  readonly onlyJobs?: readonly string[];
  /** Run only matrix jobs whose matrix contains these values, like `act --matrix`. */
  readonly matrixFilter?: Readonly<Record<string, string>>;
}

/** One matrix job (or the single job of a job without matrix), ready to hand to a runner. */
export interface JobAssignment {
  /** Unique in the run: `test#0`, or `build#0/compile#1` inside a called workflow. */
  readonly id: string;
  /** The name shown to people: `test (3.10)`, `build / compile`. */
  readonly displayName: string;
  readonly workflow: Workflow;
  readonly job: StepsJob;
  readonly instance: JobInstance;
  /** github, needs, vars, secrets, inputs, matrix, strategy as the job sees them. */
  readonly contexts: ExpressionContexts;
}

/** How a runner says a job ended. */
export interface JobOutcome {
  readonly conclusion: "success" | "failure" | "cancelled";
  /** The job's `outputs`, already evaluated (and masked) by the runner. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The job's `continue-on-error` evaluated true: a failure does not fail the run or the matrix. */
  readonly continueOnError?: boolean;
  /**
   * The job failed because this host cannot provide what it asks for (a Python or Node version
   * the host does not have): a limit of the host, not a result of the code, so fail-fast does not
   * cancel the other matrix jobs for it (they may be the ones this host can run).
   */
  readonly unavailableOnHost?: boolean;
  /** `environment.url`, evaluated after the job's steps (it may use their outputs), when it has one. */
  readonly environmentUrl?: string;
}

export type EngineCommand =
  | { readonly kind: "start"; readonly assignment: JobAssignment }
  | { readonly kind: "cancel"; readonly id: string }
  /** A job that ended without running: skipped by `if`, cancelled, or failed before it could start. */
  | {
      readonly kind: "job-settled";
      /** The instance's id (`test#1`), or the job's (`test`, `build#0/compile`) when it never expanded. */
      readonly key: string;
      readonly displayName: string;
      readonly result: JobResult;
      readonly errors: readonly Diagnostic[];
    }
  | { readonly kind: "run-finished"; readonly conclusion: "success" | "failure" | "cancelled" };

type InstanceStatus = "queued" | "in_progress" | "completed";

interface InstanceState {
  readonly id: string;
  readonly instance: JobInstance;
  readonly displayName: string;
  status: InstanceStatus;
  result?: JobResult;
  outputs: Record<string, string>;
  /** When it finished, counted across the run: matrix outputs merge in this order. */
  finishedOrder?: number;
  /** For a call job: the called workflow's jobs for this instance. */
  child?: Scope;
}

interface JobState {
  readonly definition: JobDefinition;
  status: "waiting" | "running" | "completed";
  result?: JobResult;
  outputs: Record<string, string>;
  instances: InstanceState[];
  failFast: boolean;
  maxParallel: number | undefined;
  /** A fail-fast failure has cancelled the other matrix jobs. */
  failedFast: boolean;
}

interface Scope {
  /** Prefix of instance ids within this scope: "" at the top, "build#0/" inside a call. */
  readonly idPrefix: string;
  readonly namePrefix: string;
  readonly tree: CallTree;
  readonly graph: NeedsGraph;
  readonly inputs: JsonObject;
  readonly secrets: JsonObject;
  readonly jobs: Map<string, JobState>;
}

export class RunEngine {
  private readonly root: Scope;
  private cancelRequested = false;
  private finished = false;
  private readonly commands: EngineCommand[] = [];
  private conclusionValue: "success" | "failure" | "cancelled" | undefined;
  private finishedCount = 0;

  constructor(
    tree: CallTree,
    private readonly contexts: RunContexts,
    private readonly options: EngineOptions,
  ) {
    this.root = this.createScope(tree, "", "", contexts.inputs, contexts.secrets, options.onlyJobs);
  }

  /** Starts the run: the commands to carry out now. */
  start(): EngineCommand[] {
    this.advance();
    return this.drain();
  }

  /** A runner finished the job `id`. */
  jobFinished(id: string, outcome: JobOutcome): EngineCommand[] {
    const found = this.findInstance(id);
    if (!found || found.instance.status === "completed") return [];
    const { job, instance } = found;
    instance.status = "completed";
    instance.outputs = { ...outcome.outputs };
    instance.finishedOrder = ++this.finishedCount;
    const failedForReal = outcome.conclusion === "failure" && outcome.continueOnError !== true;
    // GitHub reports a failed job with continue-on-error as successful to jobs that need it.
    instance.result = outcome.conclusion === "failure" && !failedForReal ? "success" : outcome.conclusion;
    const failsFast = failedForReal && outcome.unavailableOnHost !== true;
    if (failsFast && job.failFast && job.instances.length > 1 && !job.failedFast) {
      job.failedFast = true;
      this.cancelSiblings(job);
    }
    this.advance();
    return this.drain();
  }

  /** Cancels the run: queued jobs are dropped, running ones told to stop; `always()` jobs still run. */
  cancel(): EngineCommand[] {
    if (this.cancelRequested || this.finished) return [];
    this.cancelRequested = true;
    this.forEachInstance((job, instance) => {
      if (instance.status === "queued" && !instance.child) this.settleInstance(job, instance, "cancelled");
      else if (instance.status === "in_progress" && !instance.child)
        this.commands.push({ kind: "cancel", id: instance.id });
    });
    this.advance();
    return this.drain();
  }

  get conclusion(): "success" | "failure" | "cancelled" | undefined {
    return this.conclusionValue;
  }

  /** Results of the top-level jobs, in graph order (for summaries). */
  jobResults(): {
    id: string;
    result: JobResult | undefined;
    instances: { name: string; result?: JobResult }[];
  }[] {
    return this.root.graph.order
      .map((id) => ({ id, job: this.root.jobs.get(id) }))
      .filter((entry): entry is { id: string; job: JobState } => entry.job !== undefined)
      .map(({ id, job }) => ({
        id,
        result: job.result,
        instances: job.instances.map((i) => ({ name: i.displayName, result: i.result })),
      }));
  }

  private drain(): EngineCommand[] {
    return this.commands.splice(0, this.commands.length);
  }

  private createScope(
    tree: CallTree,
    idPrefix: string,
    namePrefix: string,
    inputs: JsonObject,
    secrets: JsonObject,
    onlyJobs?: readonly string[],
  ): Scope {
    const workflow = tree.workflow;
    const built = buildNeedsGraph(workflow.jobs.map((j) => ({ id: j.id, needs: j.needs })));
    // The workflow was validated before the run started; a graph error here is a bug.
    if (!built.ok) throw new Error(`invalid needs graph in ${workflow.path}`);
    const selected = onlyJobs ? withNeeds(built.value, onlyJobs) : undefined;
    const jobs = new Map<string, JobState>();
    for (const definition of workflow.jobs) {
      if (selected && !selected.has(definition.id)) continue;
      jobs.set(definition.id, {
        definition,
        status: "waiting",
        outputs: {},
        instances: [],
        failFast: true,
        maxParallel: undefined,
        failedFast: false,
      });
    }
    return { idPrefix, namePrefix, tree, graph: built.value, inputs, secrets, jobs };
  }

  /** Moves everything forward until nothing changes: settle jobs, start what may start. */
  private advance(): void {
    let changed = true;
    while (changed) {
      changed = this.advanceScope(this.root);
    }
    this.schedule();
    if (!this.finished && allCompleted(this.root)) {
      this.finished = true;
      // As GitHub concludes a run: a failed job fails it, else a cancelled one (a job that ran out
      // of time, say) cancels it.
      this.conclusionValue = this.cancelRequested
        ? "cancelled"
        : scopeFailed(this.root)
          ? "failure"
          : scopeCancelled(this.root)
            ? "cancelled"
            : "success";
      this.commands.push({ kind: "run-finished", conclusion: this.conclusionValue });
    }
  }

  private advanceScope(scope: Scope): boolean {
    let changed = false;
    for (const id of scope.graph.order) {
      const job = scope.jobs.get(id);
      if (!job) continue;
      if (job.status === "waiting") {
        const needs = job.definition.needs.map((n) => scope.jobs.get(n));
        if (needs.every((n) => n === undefined || n.status === "completed")) {
          this.startJob(scope, job);
          changed = true;
        }
      }
      if (job.status === "running") {
        for (const instance of job.instances) {
          if (instance.child && instance.status !== "completed") {
            if (this.advanceScope(instance.child)) changed = true;
            if (allCompleted(instance.child)) {
              this.completeCall(scope, job, instance);
              changed = true;
            }
          }
        }
        if (job.instances.every((i) => i.status === "completed")) {
          this.completeJob(job);
          changed = true;
        }
      }
    }
    return changed;
  }

  /** A job whose needs are done: evaluate its `if`, then expand it into matrix jobs. */
  private startJob(scope: Scope, job: JobState): void {
    const definition = job.definition;
    const workflow = scope.tree.workflow;
    const displayBase =
      scope.namePrefix + (definition.name?.isLiteral ? String(definition.name) : definition.id);
    const contexts = this.jobContexts(scope, definition);
    const ancestorResults = [...ancestorsOf(scope.graph, definition.id)].map(
      (a) => scope.jobs.get(a)?.result ?? "success",
    );
    const condition = evaluateCondition(definition.if.expression, contexts, {
      functions: statusFunctions({ kind: "job", ancestorResults, runCancelled: this.cancelRequested }),
      location: definition.location,
    });
    if (!condition.ok) {
      this.settleJob(scope, job, "failure", displayBase, condition.errors);
      return;
    }
    if (!condition.value) {
      this.settleJob(scope, job, this.cancelRequested ? "cancelled" : "skipped", displayBase, []);
      return;
    }
    const expanded = expandJob(workflow, definition, contexts);
    if (!expanded.ok) {
      this.settleJob(scope, job, "failure", displayBase, expanded.errors);
      return;
    }
    job.failFast = expanded.value.failFast;
    job.maxParallel = expanded.value.maxParallel;
    const instances = expanded.value.instances.filter((i) =>
      matchesMatrixFilter(i, this.options.matrixFilter),
    );
    if (instances.length === 0) {
      this.settleJob(scope, job, "skipped", displayBase, []);
      return;
    }
    job.status = "running";
    const errors: Diagnostic[] = [];
    job.instances = instances.map((instance, index) => {
      const id = `${scope.idPrefix}${definition.id}#${index}`;
      const displayName = scope.namePrefix + instance.name;
      const state: InstanceState = { id, instance, displayName, status: "queued", outputs: {} };
      if (definition.kind === "call") {
        const child = this.createCallScope(scope, definition, instance, contexts, id, displayName);
        if (child.ok) {
          state.child = child.scope;
          state.status = "in_progress";
        } else {
          errors.push(...child.errors);
          state.status = "completed";
          state.result = "failure";
        }
      }
      return state;
    });
    if (errors.length > 0) {
      this.commands.push({
        kind: "job-settled",
        key: `${scope.idPrefix}${definition.id}`,
        displayName: displayBase,
        result: "failure",
        errors,
      });
    }
  }

  private settleJob(
    scope: Scope,
    job: JobState,
    result: JobResult,
    displayName: string,
    errors: readonly Diagnostic[],
  ): void {
    job.status = "completed";
    job.result = result;
    const key = `${scope.idPrefix}${job.definition.id}`;
    this.commands.push({ kind: "job-settled", key, displayName, result, errors });
  }

  /** The called workflow's jobs for one instance of a call job, with its inputs and secrets. */
  private createCallScope(
    scope: Scope,
    definition: CallJob,
    instance: JobInstance,
    jobContexts: ExpressionContexts,
    id: string,
    displayName: string,
  ): { ok: true; scope: Scope } | { ok: false; errors: Diagnostic[] } {
    const tree = scope.tree.calls.get(definition.id);
    if (!tree)
      return { ok: false, errors: [error(`${definition.uses} was not loaded`, definition.usesLocation)] };
    const contexts: ExpressionContexts = {
      ...jobContexts,
      secrets: scope.secrets,
      strategy: instance.strategy as unknown as JsonObject,
      ...(instance.matrix ? { matrix: instance.matrix as JsonObject } : {}),
    };
    const fileName = scope.tree.workflow.fileName;
    const provided: Record<string, JsonValue> = {};
    const errors: Diagnostic[] = [];
    if (definition.with) {
      const evaluated = evaluateTemplate(definition.with, contexts, { fileName });
      if (!evaluated.ok) errors.push(...evaluated.errors);
      else if (evaluated.value && typeof evaluated.value === "object" && !Array.isArray(evaluated.value)) {
        Object.assign(provided, evaluated.value);
      }
    }
    const inputs = resolveInputs("workflow_call", tree.workflow.callInputs, provided);
    if (!inputs.ok) {
      errors.push(
        ...inputs.errors.map((e) =>
          error(`calling ${definition.uses}: ${e.message}`, definition.usesLocation),
        ),
      );
    }
    let secrets: JsonObject = {};
    if (definition.secrets === "inherit") secrets = scope.secrets;
    else if (definition.secrets) {
      const evaluated = evaluateStringMap(definition.secrets, contexts, { fileName });
      if (evaluated.ok) secrets = evaluated.value;
      else errors.push(...evaluated.errors);
    }
    if (errors.length > 0 || !inputs.ok) return { ok: false, errors };
    return {
      ok: true,
      scope: this.createScope(tree, `${id}/`, `${displayName} / `, inputs.value, secrets),
    };
  }

  private completeCall(scope: Scope, job: JobState, instance: InstanceState): void {
    const child = instance.child as Scope;
    instance.status = "completed";
    instance.finishedOrder = ++this.finishedCount;
    instance.result =
      this.cancelRequested && !scopeFailed(child)
        ? "cancelled"
        : scopeFailed(child)
          ? "failure"
          : scopeCancelled(child)
            ? "cancelled"
            : "success";
    const outputsToken = child.tree.workflow.callOutputs;
    if (!outputsToken) return;
    const jobsContext: JsonObject = {};
    for (const [id, state] of child.jobs) {
      jobsContext[id] = { result: state.result ?? "skipped", outputs: state.outputs };
    }
    const contexts: ExpressionContexts = { ...this.jobContexts(scope, job.definition), jobs: jobsContext };
    const outputs: Record<string, string> = {};
    for (const pair of outputsToken) {
      const valueToken = isMapping(pair.value) ? valueAt(pair.value, "value") : undefined;
      if (!valueToken) continue;
      const value = evaluateString(valueToken, contexts, { fileName: child.tree.workflow.fileName });
      if (value.ok) outputs[String(pair.key)] = value.value;
    }
    instance.outputs = outputs;
  }

  private completeJob(job: JobState): void {
    job.status = "completed";
    const results = job.instances.map((i) => i.result);
    job.result = results.includes("failure")
      ? "failure"
      : results.includes("cancelled")
        ? "cancelled"
        : "success";
    // Matrix jobs' outputs are combined, as on GitHub: the last to finish wins, and an empty value
    // sets nothing (each matrix job may set outputs of its own names and leave the others empty).
    const byFinish = [...job.instances].sort((a, b) => (a.finishedOrder ?? 0) - (b.finishedOrder ?? 0));
    for (const instance of byFinish) {
      for (const [name, value] of Object.entries(instance.outputs)) {
        if (value !== "" || !(name in job.outputs)) job.outputs[name] = value;
      }
    }
  }

  private cancelSiblings(job: JobState): void {
    for (const sibling of job.instances) {
      if (sibling.status === "queued") this.settleInstance(job, sibling, "cancelled");
      else if (sibling.status === "in_progress" && !sibling.child)
        this.commands.push({ kind: "cancel", id: sibling.id });
    }
  }

  /** A matrix job that ends without running (cancelled while queued): reported like a settled job. */
  private settleInstance(_job: JobState, instance: InstanceState, result: JobResult): void {
    instance.status = "completed";
    instance.result = result;
    this.commands.push({
      kind: "job-settled",
      key: instance.id,
      displayName: instance.displayName,
      result,
      errors: [],
    });
  }

  /** Starts queued matrix jobs while the run's and each job's limits allow. */
  private schedule(): void {
    let running = 0;
    this.forEachInstance((_job, instance) => {
      if (instance.status === "in_progress" && !instance.child) running++;
    });
    this.forEachScope(this.root, (scope) => {
      for (const id of scope.graph.order) {
        const job = scope.jobs.get(id);
        if (!job || job.status !== "running" || job.definition.kind !== "steps") continue;
        let jobRunning = job.instances.filter((i) => i.status === "in_progress").length;
        for (const instance of job.instances) {
          if (instance.status !== "queued") continue;
          if (running >= this.options.concurrentJobs) return;
          if (job.maxParallel !== undefined && jobRunning >= job.maxParallel) break;
          instance.status = "in_progress";
          running++;
          jobRunning++;
          this.commands.push({
            kind: "start",
            assignment: {
              id: instance.id,
              displayName: instance.displayName,
              workflow: scope.tree.workflow,
              job: job.definition,
              instance: instance.instance,
              contexts: {
                ...this.jobContexts(scope, job.definition),
                secrets: scope.secrets,
                strategy: instance.instance.strategy as unknown as JsonObject,
                ...(instance.instance.matrix ? { matrix: instance.instance.matrix as JsonObject } : {}),
              },
            },
          });
        }
      }
    });
  }

  /** github, needs, vars and inputs for a job of `scope`. */
  private jobContexts(scope: Scope, definition: JobDefinition): ExpressionContexts {
    const needs: JsonObject = {};
    for (const need of definition.needs) {
      const state = scope.jobs.get(need);
      if (state) needs[need] = { result: state.result ?? null, outputs: state.outputs };
    }
    return { github: this.contexts.github, vars: this.contexts.vars, inputs: scope.inputs, needs };
  }

  private findInstance(id: string): { job: JobState; instance: InstanceState } | undefined {
    let found: { job: JobState; instance: InstanceState } | undefined;
    this.forEachInstance((job, instance) => {
      if (instance.id === id) found = { job, instance };
    });
    return found;
  }

  private forEachInstance(visit: (job: JobState, instance: InstanceState) => void): void {
    this.forEachScope(this.root, (scope) => {
      for (const job of scope.jobs.values()) for (const instance of job.instances) visit(job, instance);
    });
  }

  private forEachScope(scope: Scope, visit: (scope: Scope) => void): void {
    visit(scope);
    for (const job of scope.jobs.values()) {
      for (const instance of job.instances) if (instance.child) this.forEachScope(instance.child, visit);
    }
  }
}

function allCompleted(scope: Scope): boolean {
  return [...scope.jobs.values()].every((j) => j.status === "completed");
}

function scopeFailed(scope: Scope): boolean {
  return [...scope.jobs.values()].some((j) => j.result === "failure");
}

function scopeCancelled(scope: Scope): boolean {
  return [...scope.jobs.values()].some((j) => j.result === "cancelled");
}

/** The jobs asked for and everything they need, transitively. */
function withNeeds(graph: NeedsGraph, ids: readonly string[]): Set<string> {
  const result = new Set<string>();
  for (const id of ids) {
    if (!graph.needs.has(id)) continue;
    result.add(id);
    for (const ancestor of ancestorsOf(graph, id)) result.add(ancestor);
  }
  return result;
}

function matchesMatrixFilter(
  instance: JobInstance,
  filter: Readonly<Record<string, string>> | undefined,
): boolean {
  if (!filter || Object.keys(filter).length === 0) return true;
  const matrix = instance.matrix;
  if (!matrix) return false;
  return Object.entries(filter).every(([key, value]) => {
    const actual = matrix[key];
    return actual !== undefined && String(actual) === value;
  });
}
