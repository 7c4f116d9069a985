/**
 * `conveyor run`: the server's engine with an in-process runner and files under `.conveyor/`.
 * Loads the repository's workflows, builds the event from the git state (or `-e`), picks the
 * workflows the event starts, and runs each with the same RunEngine the server drives.
 */
import { availableParallelism, homedir, tmpdir } from "node:os";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { error } from "../diagnostic.js";
import type { Diagnostic } from "../diagnostic.js";
import { defaultActionCache } from "../actions/locate.js";
import { now } from "../engine/events.js";
import type { RunConclusion, RunEvent, RunEventSink } from "../engine/events.js";
import { orchestrateRun } from "../engine/orchestrator.js";
import type { JobExecutor } from "../engine/orchestrator.js";
import { RunEngine } from "../engine/run-engine.js";
import type { JobAssignment, JobOutcome } from "../engine/run-engine.js";
import type { JsonObject } from "../expressions/contexts.js";
import { HostActionSteps } from "../runner/action-steps.js";
import { runJob } from "../runner/job-runner.js";
import { StepFilePool, stepFilesFolder } from "../runner/step-io.js";
import { resolveCalls } from "../workflow/calls.js";
import type { CallTree } from "../workflow/calls.js";
import { loadWorkflowFiles, localCallResolver } from "../workflow/discover.js";
import { resolveInputs, eventInputs } from "../workflow/inputs.js";
import type { Workflow } from "../workflow/model.js";
import { matchTrigger } from "../workflow/triggers.js";
import { readRepositoryState } from "../git/repository-state.js";
import type { RepositoryState } from "../git/repository-state.js";
import { buildEventPayload, mergeEventPayload } from "./event-payload.js";
import { buildGithubContext } from "../engine/github-context.js";
import { FileArtifactStore } from "./artifact-store.js";
import { FileCacheStore } from "./cache-store.js";
import { FileRunRecordStore } from "./run-record-store.js";
import { removeFolder, WorkspaceSource } from "./workspace.js";
import { DryRunExecutor } from "./dry-run.js";

export interface LocalRunOptions {
  readonly root: string;
  readonly workflowPaths: readonly string[];
  readonly event: string;
  /** A user's event payload (`-e`), merged over the one built from git. */
  readonly eventPayload?: Record<string, unknown>;
  readonly jobs?: readonly string[];
  readonly inputs: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
  readonly vars: Readonly<Record<string, string>>;
  /** Extra env for every step (`--env`), as if written at the top of each workflow. */
  readonly env: Readonly<Record<string, string>>;
  readonly matrix: Readonly<Record<string, string>>;
  readonly dryRun: boolean;
  readonly concurrentJobs?: number;
  readonly actor?: string;
  /** Run in the working tree itself instead of a copy. */
  readonly bind: boolean;
  readonly emit: RunEventSink;
  readonly signal: AbortSignal;
  /** Told of problems that do not stop the run (a folder that is not a git repository, say). */
  readonly warn?: (warning: Diagnostic) => void;
}

export type LocalRunResult =
  | { readonly kind: "ran"; readonly conclusion: RunConclusion; readonly runs: number }
  | { readonly kind: "invalid"; readonly errors: readonly Diagnostic[] }
  | { readonly kind: "nothing-to-run"; readonly reasons: readonly string[] };

export async function runLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  // The git state, and what the jobs' workspaces are copied from, are read by other processes
  // while this one loads the workflows.
  const reading = readRepositoryState(options.root);
  const workspaces =
    options.bind || options.dryRun
      ? undefined
      : WorkspaceSource.prepare(
          options.root,
          // A folder inside a repository but not its top (`-C sub/project`) is copied as it is:
          // a clone would be of the whole repository.
          reading.then((state) => state.isGitRepository && state.root === realFolder(options.root)),
        );
  workspaces?.catch(() => undefined); // a failure is reported by each job that needs a workspace
  // What a finished workflow run leaves behind (its record to close, its folders) is removed
  // while the next one runs; at the end, together with the workspaces' source.
  const cleanups: Promise<void>[] = [];
  const ended = await runLoaded(options, reading, workspaces, cleanups).then(
    (result) => ({ ok: true as const, result }),
    (cause: unknown) => ({ ok: false as const, cause }),
  );
  if (workspaces)
    cleanups.push(
      workspaces.then(
        (source) => source.dispose(),
        () => undefined,
      ),
    );
  const failed = (await Promise.allSettled(cleanups)).find((r) => r.status === "rejected");
  if (!ended.ok) throw ended.cause;
  if (failed) throw failed.reason;
  return ended.result;
}

async function runLoaded(
  options: LocalRunOptions,
  reading: Promise<RepositoryState>,
  workspaces: Promise<WorkspaceSource> | undefined,
  cleanups: Promise<void>[],
): Promise<LocalRunResult> {
  const loaded = await loadWorkflowFiles(options.root, options.workflowPaths);
  if (loaded.errors.length > 0) return { kind: "invalid", errors: loaded.errors };
  const state = await reading;
  for (const warning of state.warnings) options.warn?.(warning);
  const resolver = localCallResolver(options.root);

  const selected: { workflow: Workflow; tree: CallTree; payload: Record<string, unknown> }[] = [];
  const reasons: string[] = [];
  const errors: Diagnostic[] = [];
  for (const workflow of loaded.workflows) {
    // Built per workflow: a schedule event carries the workflow's own cron, a dispatch its path.
    const payload = mergeEventPayload(
      options.eventPayload ?? {},
      buildEventPayload(options.event, state, {
        actor: options.actor,
        workflowPath: workflow.path,
        cron: workflow.on.schedule?.[0]?.cron,
      }),
    );
    const match = matchTrigger(workflow.on, {
      name: options.event,
      payload,
      changedFiles: state.changedFiles,
    });
    if (!match.runs) {
      reasons.push(`${workflow.path}: ${match.reason}`);
      continue;
    }
    if (options.jobs && !options.jobs.some((id) => workflow.jobs.some((j) => j.id === id))) {
      reasons.push(`${workflow.path}: has no job ${options.jobs.map((j) => `'${j}'`).join(" or ")}`);
      continue;
    }
    const tree = await resolveCalls(workflow, resolver);
    if (!tree.ok) errors.push(...tree.errors);
    else selected.push({ workflow, tree: tree.value, payload });
  }
  if (errors.length > 0) return { kind: "invalid", errors };
  if (selected.length === 0) return { kind: "nothing-to-run", reasons };

  const conveyorDir = join(options.root, ".conveyor");
  const store = new FileRunRecordStore(conveyorDir);
  const artifactsRoot = conveyorDir;
  const caches = new FileCacheStore(join(conveyorDir));
  const slots = new Slots(options.concurrentJobs ?? availableParallelism());
  let conclusion: RunConclusion = "success";
  for (const { workflow, tree, payload } of selected) {
    if (options.signal.aborted) break;
    const result = await runWorkflow(workflow, tree, state, payload, options, {
      store,
      artifactsRoot,
      caches,
      slots,
      workspaces,
      cleanups,
    });
    if (result.kind === "invalid") return result;
    if (result.conclusion === "cancelled") conclusion = "cancelled";
    else if (result.conclusion === "failure" && conclusion !== "cancelled") conclusion = "failure";
  }
  return { kind: "ran", conclusion, runs: selected.length };
}

interface RunServices {
  readonly store: FileRunRecordStore;
  readonly artifactsRoot: string;
  readonly caches: FileCacheStore;
  readonly slots: Slots;
  /** What each job's workspace is copied from (none with --bind or a dry run). */
  readonly workspaces: Promise<WorkspaceSource> | undefined;
  /** Where a finished workflow run puts the removal of what it leaves behind. */
  readonly cleanups: Promise<void>[];
}

async function runWorkflow(
  workflow: Workflow,
  tree: CallTree,
  state: RepositoryState,
  payload: Record<string, unknown>,
  options: LocalRunOptions,
  services: RunServices,
): Promise<{ kind: "invalid"; errors: Diagnostic[] } | { kind: "ran"; conclusion: RunConclusion }> {
  let inputs: JsonObject = {};
  let eventPayload = payload;
  if (options.event === "workflow_dispatch") {
    const resolved = resolveInputs("workflow_dispatch", workflow.dispatchInputs, options.inputs);
    if (!resolved.ok) {
      return {
        kind: "invalid",
        errors: resolved.errors.map((e) =>
          error(`${workflow.path}: ${e.message}`, e.location ?? workflow.onLocation),
        ),
      };
    }
    inputs = resolved.value;
    eventPayload = { ...payload, inputs: eventInputs(resolved.value) };
  }
  const { runId, runNumber, recorder } = await services.store.startRun({
    workflow: workflow.name,
    workflowPath: workflow.path,
    event: options.event,
  });
  const runTemp = await mkdtemp(join(tmpdir(), `conveyor-run-${runNumber}-`));
  const eventPath = join(runTemp, "event.json");
  await writeFile(eventPath, JSON.stringify(eventPayload, null, 2));
  const github = buildGithubContext({
    eventName: options.event,
    payload: eventPayload,
    state,
    runId,
    runNumber,
    runAttempt: 1,
    actor: options.actor,
    workflow,
    eventPath,
  });
  const emit = (event: RunEvent): void => {
    recorder.record(event);
    options.emit(event);
  };
  emit({
    type: "run-started",
    runId,
    runNumber,
    workflow: workflow.name,
    workflowPath: workflow.path,
    event: options.event,
    ref: String(github.ref ?? ""),
    sha: String(github.sha ?? ""),
    at: now(),
  });
  const engine = new RunEngine(
    tree,
    { github, vars: { ...options.vars }, secrets: { ...options.secrets }, inputs },
    {
      concurrentJobs: services.slots.capacity,
      onlyJobs: options.jobs,
      matrixFilter: options.matrix,
    },
  );
  const executor: JobExecutor = options.dryRun
    ? new DryRunExecutor(emit)
    : new LocalJobExecutor({
        root: options.root,
        state,
        runId,
        runNumber,
        runTemp,
        eventPath,
        bind: options.bind,
        extraEnv: options.env,
        emit,
        slots: services.slots,
        workspaces: services.workspaces,
        actions: new HostActionSteps({
          actionCache: defaultActionCache(),
          artifacts: new FileArtifactStore(services.artifactsRoot, runId),
          caches: services.caches,
        }),
      });
  const conclusion = await orchestrateRun({ engine, executor, emit, signal: options.signal });
  // The record is closed while the job folders go: neither waits for the other.
  const removing = (executor instanceof LocalJobExecutor ? executor.removals() : Promise.resolve()).then(() =>
    removeFolder(runTemp),
  );
  const cleanup = Promise.all([recorder.close(), removing]).then(() => undefined);
  cleanup.catch(() => undefined); // reported once every cleanup settled (see runLocally)
  services.cleanups.push(cleanup);
  return { kind: "ran", conclusion };
}

interface LocalExecutorOptions {
  readonly root: string;
  readonly state: RepositoryState;
  readonly runId: string;
  readonly runNumber: number;
  readonly runTemp: string;
  readonly eventPath: string;
  readonly bind: boolean;
  readonly extraEnv: Readonly<Record<string, string>>;
  readonly emit: RunEventSink;
  readonly slots: Slots;
  readonly workspaces: Promise<WorkspaceSource> | undefined;
  readonly actions: HostActionSteps;
}

/** Runs each job in this process, in a fresh copy of the working tree. */
class LocalJobExecutor implements JobExecutor {
  /** Job folders being removed: a job's folder goes once it ended, without holding up the next job. */
  private readonly removing = new Set<Promise<void>>();
  /** The steps' environment files, shared by the run's jobs (kept in the run's folder). */
  private readonly stepFiles: StepFilePool;
  /** Conveyor's own environment, read once: each read of process.env asks the C++ side. */
  private readonly hostEnv: Readonly<Record<string, string>> = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

  constructor(private readonly options: LocalExecutorOptions) {
    this.stepFiles = new StepFilePool(join(options.runTemp, "step-files"));
  }

  /** Settles once every job folder that is being removed is gone. */
  async removals(): Promise<void> {
    await Promise.all(this.removing);
  }

  async execute(assignment: JobAssignment, signal: AbortSignal): Promise<JobOutcome> {
    const { options } = this;
    const release = await options.slots.acquire();
    const jobDir = join(options.runTemp, assignment.id.replace(/[^A-Za-z0-9_.-]/g, "_"));
    try {
      const workspace = options.bind ? options.root : join(jobDir, "workspace");
      const runnerTemp = join(jobDir, "temp");
      const source = options.bind ? undefined : await options.workspaces;
      if (!options.bind && !source) throw new Error("no workspace source was prepared (a bug in Conveyor)");
      // The job's temporary folders are made alongside the workspace's copy, off this thread.
      await Promise.all([mkdir(stepFilesFolder(runnerTemp), { recursive: true }), source?.copyTo(workspace)]);
      return await runJob(assignment, {
        run: {
          runId: options.runId,
          runNumber: options.runNumber,
          runAttempt: 1,
          repositoryRoot: options.root,
        },
        workspace,
        workspaceHoldsRepository: true,
        runnerTemp,
        toolCache: join(homedir(), ".cache", "conveyor", "tool-cache"),
        eventPath: options.eventPath,
        hostEnv: this.hostEnv,
        extraEnv: options.extraEnv,
        actions: options.actions,
        stepFiles: this.stepFiles,
        emit: options.emit,
        signal,
      });
    } finally {
      release();
      if (!options.bind) {
        const removal: Promise<void> = removeFolder(jobDir)
          .catch(() => undefined)
          .then(() => void this.removing.delete(removal));
        this.removing.add(removal);
      }
    }
  }
}

/** A counting semaphore: at most `capacity` jobs at once across every workflow of the run. */
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  async acquire(): Promise<() => void> {
    if (this.used >= this.capacity) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
      this.waiting.shift()?.();
    };
  }
}

/** The folder with symbolic links resolved, as git names a repository's top level. */
function realFolder(folder: string): string {
  try {
    return realpathSync.native(resolve(folder));
  } catch {
    return resolve(folder);
  }
}
