/**
 * The runner protocol's messages: what a runner (`conveyor runner`, or the built-in one of
 * `conveyor up`) and the server say to each other over HTTP/JSON. docs/runner-protocol.md tells
 * the whole protocol; this file is its single source of types, imported by both sides.
 *
 * Every path is under `RUNNER_API_PREFIX`. Every request but `register` carries the runner's
 * credential as `Authorization: Bearer <credential>`.
 */
import type { RunEvent } from "../engine/events.js";
import type { ExpressionContexts } from "../expressions/contexts.js";
import type { JsonObject } from "../json.js";
import type { JobInstance } from "../workflow/plan.js";

export const RUNNER_API_PREFIX = "/api/runner/v1";

/** The protocol version; a runner that speaks another is refused at `register` with a clear message. */
export const RUNNER_PROTOCOL_VERSION = 1;

/** How long a poll is held open when there is nothing to say (an idle runner's request rate). */
export const POLL_HOLD_SECONDS = 25;

/** How long a job's lease lasts without word from its runner; any request from the runner extends it. */
export const LEASE_SECONDS = 60;

/** POST /register */
export interface RegisterRequest {
  /** A registration token made by an administrator (`conveyor runner token`, or the API). */
  readonly registrationToken: string;
  readonly name: string;
  /** Labels of its own; `self-hosted`, the OS (`linux`) and the arch (`x64`) are added by the server. */
  readonly labels: readonly string[];
  readonly capacity: number;
  readonly protocolVersion: number;
  readonly os: string;
  readonly arch: string;
}

export interface RegisterResponse {
  readonly runnerId: string;
  /** Shown once: the server keeps only its hash. */
  readonly credential: string;
  /** Every label the server matches `runs-on` against. */
  readonly labels: readonly string[];
}

/**
 * POST /poll: the runner's one long poll. It asks for up to `free` jobs and reports which jobs it
 * is running; the server answers at once when it has jobs for it or cancels for a running job,
 * else after `POLL_HOLD_SECONDS` with nothing. Each poll extends the leases of `running` jobs.
 */
export interface PollRequest {
  readonly free: number;
  /** Ids of the jobs this runner is running now. */
  readonly running: readonly string[];
  /**
   * Which poll this is: a runner process's polls carry its `session` (random, per process) and an
   * increasing `sequence`. A poll the runner gave up on may reach the server after a newer one; its
   * `running` list is out of date then, and the server must not act on it.
   */
  readonly session?: string;
  readonly sequence?: number;
}

export interface PollResponse {
  readonly jobs: readonly JobLease[];
  /** Running jobs to stop now (the run or job was cancelled, or the lease was lost). */
  readonly cancel: readonly string[];
}

/** A job handed to a runner: everything it needs to run it, and nothing it must not see. */
export interface JobLease {
  /** The job attempt's id on the server: what the job's other requests name. */
  readonly jobId: string;
  readonly runId: string;
  readonly runNumber: number;
  readonly runAttempt: number;
  /** The engine's id of the job in the run: `test#0`, `build#0/compile#1`. */
  readonly key: string;
  readonly displayName: string;
  /** The run's workflow files by repository-relative path: the top workflow and those it calls. */
  readonly workflowFiles: Readonly<Record<string, string>>;
  readonly workflowPath: string;
  readonly instance: JobInstance;
  /** github, needs, vars, secrets, inputs, matrix, strategy as the job sees them. */
  readonly contexts: ExpressionContexts;
  /** The event payload (GITHUB_EVENT_PATH's content). */
  readonly event: JsonObject;
  readonly repository: {
    readonly fullName: string;
    /** Where to fetch the repository from, with `token` as the password of HTTP basic auth. */
    readonly cloneUrl: string;
  };
  readonly sha: string;
  readonly ref: string;
  /** The job's token: fetches the repository, and later talks to the artifact and cache services. */
  readonly token: string;
  /** The server's base URL as the runner reaches it (GITHUB_SERVER_URL). */
  readonly serverUrl: string;
  /**
   * The artifact and cache services, as GitHub's actions find them: ACTIONS_RUNTIME_TOKEN (a JWT
   * the services accept while the job runs), ACTIONS_RESULTS_URL and ACTIONS_CACHE_URL.
   */
  readonly runtime: {
    readonly token: string;
    readonly resultsUrl: string;
    readonly cacheUrl: string;
  };
}

/**
 * POST /jobs/:jobId/events: numbered rows of the job's event stream (src/engine/events.ts: log
 * lines, step starts and ends, annotations). `seq` counts from 1 per job attempt. The server
 * answers only once the rows are durable; rows it already has are ignored; a gap (a first row
 * beyond `acknowledged + 1`) is refused with 409 and `acknowledged`, so the runner resends from there.
 * Step states only move forward: a step event that would move one back is ignored.
 */
export interface AppendEventsRequest {
  readonly rows: readonly EventRow[];
}

export interface EventRow {
  readonly seq: number;
  readonly event: RunEvent;
}

export interface AppendEventsResponse {
  /** The highest seq the server holds durably, with every row before it. */
  readonly acknowledged: number;
  /** The job was cancelled: stop it (and still send its last rows and complete it). */
  readonly cancel: boolean;
}

/** 409 body of `events` (gap) and `complete` (rows missing). */
export interface SequenceConflict {
  readonly error: string;
  readonly acknowledged: number;
}

/**
 * POST /jobs/:jobId/complete: the job's end. Refused (409) until every row up to `lastSeq` is
 * acknowledged. Completing twice with the same outcome is accepted (a retry after a lost answer).
 */
export interface CompleteRequest {
  readonly lastSeq: number;
  readonly conclusion: "success" | "failure" | "cancelled";
  readonly outputs: Readonly<Record<string, string>>;
  readonly continueOnError?: boolean;
  readonly unavailableOnHost?: boolean;
  /** `environment.url` evaluated after the job's steps. */
  readonly environmentUrl?: string;
}

/** Every error answer: a message a person can act on. */
export interface ErrorResponse {
  readonly error: string;
}
