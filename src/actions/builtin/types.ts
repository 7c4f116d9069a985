/**
 * The contract between the job runner and Conveyor's built-in versions of common actions
 * (actions/checkout, actions/setup-node, ...). A built-in action is plain TypeScript run in the
 * runner's process; it talks to the job through this context exactly as a JavaScript action
 * talks through @actions/core: inputs in, outputs, env, path, state, masks and logs out.
 */

export interface BuiltinRunInfo {
  /** The repository the run is for, on disk (the working tree `conveyor run` was started in). */
  readonly repositoryRoot: string;
  /** `owner/name`, as in github.repository. */
  readonly repository: string;
  readonly sha: string;
  readonly ref: string;
  readonly runId: string;
  readonly runAttempt: number;
  /** The job's id within the run (unique per matrix job), for scoping stores. */
  readonly jobId: string;
  /** True when the workspace already holds the run's working tree (a copy, or `--bind`). */
  readonly workspaceHoldsRepository: boolean;
}

/** What the store knows about one uploaded artifact. */
export interface ArtifactRecord {
  readonly name: string;
  /** Unique within the run, like GitHub's artifact ids (positive integers). */
  readonly id: number;
  /** Where the artifact can be looked at: a `file:` URL locally, an HTTP URL on a server. */
  readonly url: string;
  /** SHA-256 (hex) of the content, upload-artifact's `artifact-digest`. */
  readonly digest: string;
  readonly size: number;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export interface PublishArtifactOptions {
  /** Replace an artifact of the same name; without it a second upload of a name is refused. */
  readonly overwrite: boolean;
  readonly retentionDays: number;
  readonly digest: string;
  readonly size: number;
}

/** Files jobs of one run share: the local stand-in for the artifact service. */
export interface ArtifactStore {
  /** The folder holding the files of the artifact `name` of this run (it exists once uploaded). */
  artifactDirectory(name: string): string;
  /** Names of this run's artifacts. */
  list(): Promise<string[]>;
  /** The record of the artifact `name`, if it was uploaded in this run. */
  describe(name: string): Promise<ArtifactRecord | undefined>;
  /** A new private folder to fill with an upload's files, then `publish` (or `discard`). */
  stage(): Promise<string>;
  /** Makes a staged folder the artifact `name`, atomically; undefined when the name exists and `overwrite` is false. */
  publish(name: string, staged: string, options: PublishArtifactOptions): Promise<ArtifactRecord | undefined>;
  /** Drops a staged folder that will not be published. */
  discard(staged: string): Promise<void>;
}

/** The local stand-in for the cache service: entries by key, shared across runs. */
export interface CacheStore {
  /** The folder of the entry for exactly `key` (and version), if it exists. */
  find(key: string, version: string): Promise<string | undefined>;
  /** The newest entry whose key starts with `prefix`. */
  findByPrefix(prefix: string, version: string): Promise<{ key: string; directory: string } | undefined>;
  /** Where to write a new entry; undefined when the key exists already (keys are immutable). */
  reserve(key: string, version: string): Promise<string | undefined>;
  /** Makes a reserved entry visible. */
  commit(key: string, version: string): Promise<void>;
  /** Drops a reservation that will not be committed (the save failed half-way). */
  abandon(key: string, version: string): Promise<void>;
}

export interface BuiltinContext {
  /** Inputs after defaults, evaluated, as strings (`with:`). */
  readonly inputs: Readonly<Record<string, string>>;
  readonly workspace: string;
  readonly runnerTemp: string;
  readonly toolCache: string;
  /** The environment the step would have as a process (PATH included). */
  readonly env: Readonly<Record<string, string>>;
  readonly run: BuiltinRunInfo;
  readonly artifacts: ArtifactStore;
  readonly caches: CacheStore;
  readonly signal: AbortSignal;

  /** A line of the step's log. */
  log(line: string): void;
  /** An annotation, like `::warning::`. */
  warning(message: string): void;
  error(message: string): void;
  notice(message: string): void;
  setOutput(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  addPath(path: string): void;
  /** State for this action's post step. */
  saveState(name: string, value: string): void;
  /** State saved by this action's main step (in its post step). */
  getState(name: string): string;
  addMask(value: string): void;
}

export type BuiltinResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly message: string;
      /** This host cannot provide what the step asks for (a toolchain version): see JobOutcome. */
      readonly unavailableOnHost?: boolean;
    };

export interface BuiltinAction {
  /** `owner/repo` (and `/path` for actions like actions/cache/save), matched without the ref. */
  readonly name: string;
  /** Inputs the action documents, with their defaults (an expression default is evaluated by the runner). */
  readonly inputs: Readonly<Record<string, { readonly default?: string; readonly required?: boolean }>>;
  readonly main: (context: BuiltinContext) => Promise<BuiltinResult>;
  readonly post?: (context: BuiltinContext) => Promise<BuiltinResult>;
  /** When the post step runs, as `post-if` (default: `always()`). */
  readonly postIf?: string;
}
