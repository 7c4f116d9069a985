/**
 * A BuiltinContext for tests: a plain implementation of the contract that records what an action
 * did (outputs, exported variables, PATH additions, state, log lines and annotations), with inputs
 * defaulted from the action's declaration as the runner defaults them.
 */
import type { ArtifactStore, BuiltinAction, BuiltinContext, BuiltinRunInfo, CacheStore } from "./types.js";

export interface RecordingContext extends BuiltinContext {
  readonly outputs: Record<string, string>;
  readonly exported: Record<string, string>;
  readonly addedPaths: string[];
  readonly state: Record<string, string>;
  readonly logs: string[];
  readonly warnings: string[];
  readonly errors: string[];
  readonly notices: string[];
  readonly masks: string[];
}

export interface RecordingContextOptions {
  readonly action: BuiltinAction;
  readonly inputs?: Readonly<Record<string, string>>;
  readonly workspace: string;
  readonly runnerTemp: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly run?: Partial<BuiltinRunInfo>;
  readonly artifacts: ArtifactStore;
  readonly caches: CacheStore;
  /** The main step's state, for a post step. */
  readonly state?: Record<string, string>;
}

export function recordingContext(options: RecordingContextOptions): RecordingContext {
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(options.action.inputs)) {
    if (spec.default !== undefined) inputs[name] = spec.default;
  }
  Object.assign(inputs, options.inputs ?? {});
  const state = options.state ?? {};
  const context: RecordingContext = {
    inputs,
    workspace: options.workspace,
    runnerTemp: options.runnerTemp,
    toolCache: `${options.runnerTemp}/tool-cache`,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
    run: {
      repositoryRoot: options.workspace,
      repository: "octo/widgets",
      sha: "",
      ref: "refs/heads/main",
      runId: "1",
      runAttempt: 1,
      jobId: "build",
      workspaceHoldsRepository: true,
      ...options.run,
    },
    artifacts: options.artifacts,
    caches: options.caches,
    signal: new AbortController().signal,
    outputs: {},
    exported: {},
    addedPaths: [],
    state,
    logs: [],
    warnings: [],
    errors: [],
    notices: [],
    masks: [],
    log: (line) => context.logs.push(line),
    warning: (message) => context.warnings.push(message),
    error: (message) => context.errors.push(message),
    notice: (message) => context.notices.push(message),
    setOutput: (name, value) => {
      context.outputs[name] = value;
    },
    exportVariable: (name, value) => {
      context.exported[name] = value;
    },
    addPath: (path) => context.addedPaths.push(path),
    saveState: (name, value) => {
      state[name] = value;
    },
    getState: (name) => state[name] ?? "",
    addMask: (value) => context.masks.push(value),
  };
  return context;
}
