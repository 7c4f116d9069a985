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
  /** SHA-256 (hex), upload-artifact's `artifact-digest`: of the zip on a server, of the files locally. */
  readonly digest: string;
  readonly size: number;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** A file of an upload: where it is on disk, and its `/`-separated path in the artifact. */
export interface ArtifactFile {
  readonly source: string;
  readonly path: string;
}

export interface PublishArtifactOptions {
  /** Replace an artifact of the same name; without it a second upload of a name is refused. */
  readonly overwrite: boolean;
  readonly retentionDays: number;
  /** zlib's level, 0 (stored) to 9, for stores that archive; folders ignore it. */
  readonly compressionLevel: number;
}

/** What a download put in place. */
export interface FetchedArtifact {
  readonly files: number;
  /** False when the content no longer matches the digest recorded at upload. */
  readonly digestMatches: boolean;
}

/**
 * Where upload-artifact and download-artifact keep a run's artifacts: folders under `.conveyor/` in
 * `conveyor run`, the server's artifact service (GitHub's v4 protocol) on a server runner.
 */
export interface ArtifactStore {
  /** This run's artifacts, by name. */
  list(): Promise<ArtifactRecord[]>;
  /** The artifact `name` of this run, if it was uploaded. */
  describe(name: string): Promise<ArtifactRecord | undefined>;
  /** Uploads `files` as the artifact `name`; undefined when the name exists and `overwrite` is false. */
  publish(
    name: string,
    files: readonly ArtifactFile[],
    options: PublishArtifactOptions,
  ): Promise<ArtifactRecord | undefined>;
  /** Puts the artifact's files into the folder `into` (made when missing), as they were uploaded. */
  fetch(record: ArtifactRecord, into: string): Promise<FetchedArtifact>;
}

/** Where a cache's paths are in a job: saved paths are kept relative to these and restored into them. */
export interface CacheLocations {
  readonly workspace: string;
  readonly home: string;
}

/** An entry a lookup found. */
export interface CacheHit {
  /** The key it was saved under (the primary key, or one a prefix matched). */
  readonly key: string;
  /** Where the store finds its content again: a folder locally, a download URL on a server. */
  readonly location: string;
}

export interface CacheSize {
  readonly bytes: number;
  /** Files, when the store counts them. */
  readonly files?: number;
}

/**
 * Where actions/cache and setup-*'s `cache:` keep entries: folders under `.conveyor/` in
 * `conveyor run`, the server's cache service on a server runner. Entries are shared across runs.
 */
export interface CacheStore {
  /** What entries are made of; part of each entry's version, so entries of another format never match. */
  format(): Promise<string>;
  /** GitHub's lookup: `keys[0]` exactly, then each key in order as a prefix, the newest entry winning. */
  lookup(keys: readonly string[], version: string): Promise<CacheHit | undefined>;
  /** Puts an entry's paths back where they were saved from, relative to `where`. */
  restore(hit: CacheHit, where: CacheLocations): Promise<CacheSize>;
  /** Saves `paths` (absolute, existing) under `key`; undefined when the key exists (keys are immutable). */
  save(
    key: string,
    version: string,
    paths: readonly string[],
    where: CacheLocations,
  ): Promise<CacheSize | undefined>;
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
