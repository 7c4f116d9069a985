/**
 * The server's tables, as Kysely sees them. Portable by construction: ids are integers handed out
 * by the `counters` table (no SQLite rowids, no PostgreSQL sequences), timestamps are ISO-8601
 * strings in UTC (they sort as text), JSON is stored as text, booleans as 0/1 integers.
 */
import type { Generated } from "kysely";

export interface Database {
  counters: CountersTable;
  users: UsersTable;
  tokens: TokensTable;
  runner_registrations: RunnerRegistrationsTable;
  runners: RunnersTable;
  repositories: RepositoriesTable;
  webhook_deliveries: WebhookDeliveriesTable;
  runs: RunsTable;
  run_attempts: RunAttemptsTable;
  engine_inputs: EngineInputsTable;
  jobs: JobsTable;
  steps: StepsTable;
  log_chunks: LogChunksTable;
  job_notes: JobNotesTable;
  caches: CachesTable;
  cache_parts: CachePartsTable;
  artifacts: ArtifactsTable;
  secrets: SecretsTable;
  variables: VariablesTable;
  audit_events: AuditEventsTable;
  commit_statuses: CommitStatusesTable;
  environments: EnvironmentsTable;
  deployments: DeploymentsTable;
  deployment_rollbacks: DeploymentRollbacksTable;
  concurrency_groups: ConcurrencyGroupsTable;
}

/** Named counters: ids of each table, run numbers per workflow (`run_number:<repo>:<path>`). */
export interface CountersTable {
  name: string;
  value: number;
}

export interface UsersTable {
  id: number;
  login: string;
  /** scrypt, `scrypt$<salt>$<hash>`. */
  password_hash: string;
  is_admin: number;
  created_at: string;
}

/** Personal access tokens: the API, the CLI and `git push` authenticate with them. */
export interface TokensTable {
  id: number;
  user_id: number;
  name: string;
  /** SHA-256 of the token, hex: tokens are long random strings, so a fast hash is safe. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** Tokens that let a new runner register (exchanged for a runner credential). */
export interface RunnerRegistrationsTable {
  id: number;
  token_hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface RunnersTable {
  id: number;
  name: string;
  /** JSON array of every label matched against `runs-on`. */
  labels: string;
  capacity: number;
  os: string;
  arch: string;
  credential_hash: string;
  created_at: string;
  last_seen_at: string;
}

export interface RepositoriesTable {
  id: number;
  owner: string;
  name: string;
  default_branch: string;
  /** `hosted` (pushed to Conveyor) or `mirror` (a remote repository that sends webhooks). */
  kind: string;
  /** The remote's clone URL for a mirror; null for a hosted repository. */
  remote_url: string | null;
  /** HMAC secret of incoming webhooks; null when webhooks are not set up. */
  webhook_secret: string | null;
  created_at: string;
}

export interface WebhookDeliveriesTable {
  /** `<provider>:<delivery id>`: a redelivery has the same id and starts nothing. */
  id: string;
  repository_id: number;
  event: string;
  received_at: string;
}

export interface RunsTable {
  id: number;
  repository_id: number;
  workflow_path: string;
  workflow_name: string;
  run_number: number;
  /** The latest attempt. */
  attempt: number;
  event: string;
  ref: string;
  sha: string;
  actor: string;
  /** The run's name as shown (run-name, else the head commit's message, as GitHub does). */
  title: string;
  /** queued | in_progress | completed */
  status: string;
  /** success | failure | cancelled, once completed. */
  conclusion: string | null;
  /** JSON of `RunDefinition` (src/server/run-definition.ts): what the engine is rebuilt from. */
  definition: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** One row per attempt: a re-run makes a new attempt and keeps the old one's jobs and logs. */
export interface RunAttemptsTable {
  run_id: number;
  attempt: number;
  status: string;
  conclusion: string | null;
  /** JSON array of job keys whose earlier result this attempt keeps (re-run failed jobs). */
  kept_jobs: string;
  created_at: string;
  finished_at: string | null;
}

/**
 * What happened to a run's engine, in order: the engine is pure, so replaying these rebuilds it
 * exactly, in any server process (`kind`: `finished` with the job's outcome, or `cancel`).
 */
export interface EngineInputsTable {
  run_id: number;
  attempt: number;
  seq: number;
  kind: string;
  job_key: string | null;
  /** JSON of the JobOutcome for `finished`. */
  outcome: string | null;
  created_at: string;
}

export interface JobsTable {
  id: number;
  run_id: number;
  attempt: number;
  /** The engine's id: `test#0`, `build#0/compile#1`. */
  job_key: string;
  name: string;
  /** queued | in_progress | completed */
  status: string;
  conclusion: string | null;
  /** JSON array of labels a runner must have. */
  labels: string;
  /** JSON of what the runner needs beyond the run's definition (instance, contexts). */
  assignment: string;
  runner_id: number | null;
  lease_expires_at: string | null;
  cancel_requested: number;
  /** Highest log row seq held durably. */
  acknowledged_seq: number;
  /** JSON of the job's outputs once completed. */
  outputs: string | null;
  /** Why the job ended the way it did when its steps do not say (runner lost, no runner). */
  reason: string | null;
  /** 1 when this attempt's job is an earlier attempt's result, kept by "re-run failed jobs". */
  kept: number;
  /** The blob holding the finished job's log (gzip, one JSON event per line); null while in log_chunks. */
  log_blob: string | null;
  /** Annotations past the most the notes index keeps for one job, counted. */
  annotations_omitted: Generated<number>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface StepsTable {
  job_id: number;
  number: number;
  name: string;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * A job's event stream (log lines, step starts and ends, annotations), stored as the chunks runners
 * send: rows `first_seq`..`last_seq`, one JSON event per line. A row per line would cost a database
 * row per log line; a chunk costs one per request.
 */
export interface LogChunksTable {
  job_id: number;
  first_seq: number;
  last_seq: number;
  /** The rows' JSON, one a line; empty when they are in `body_gzip`. */
  body: string;
  /** The rows' JSON, one a line each ending in a newline, as one gzip member (see packLogChunk). */
  body_gzip: Buffer | null;
}

/**
 * The annotations and step summaries of a job's event stream, copied out as its rows are stored:
 * a run page lists them without reading whole logs. `body` is the event's JSON.
 */
export interface JobNotesTable {
  job_id: number;
  seq: number;
  /** annotation | step-summary */
  kind: string;
  body: string;
}

/**
 * Cache entries (GitHub's cache service): one per repository, scope, key and version. A key, once
 * committed in a scope, never changes; entries are evicted least recently used past the quota.
 */
export interface CachesTable {
  id: number;
  repository_id: number;
  /** The ref whose runs saved it (`refs/heads/main`): runs of other refs read it only when GitHub's rules allow. */
  scope: string;
  key: string;
  /** The client's hash of the paths, compression and OS: entries of another version never match. */
  version: string;
  /** reserved (being uploaded by `job_id`) | committed */
  status: string;
  /** Bytes of the archive; 0 while reserved. */
  size: number;
  /** The archive's blob key. */
  blob: string;
  /** The job that reserved it: only it may upload and commit. */
  job_id: number;
  created_at: string;
  /** Set when a lookup returns it: eviction takes the least recently used first. */
  last_used_at: string;
}

/** The parts of a v1 upload in progress (`PATCH` with `Content-Range`), assembled in order on commit. */
export interface CachePartsTable {
  cache_id: number;
  start: number;
  size: number;
  blob: string;
}

/**
 * Artifacts of runs (GitHub's v4 results service). Names are unique among a run's finalized
 * artifacts; an upload is pending until its job finalizes it, and its row and blob go when it expires.
 */
export interface ArtifactsTable {
  id: number;
  repository_id: number;
  run_id: number;
  /** The run attempt whose job uploaded it: a later attempt may upload the name again. */
  attempt: number;
  /** The job that uploads it (its token's job); only it may finalize the upload. */
  job_id: number;
  name: string;
  /** pending | finalized */
  status: string;
  /** What downloads are served as: application/zip, or the type of a file uploaded as it is. */
  mime_type: string;
  /** Bytes of the stored blob; 0 while pending. */
  size: number;
  /** `sha256:<hex>` of the stored blob, checked against the client's on finalize. */
  digest: string | null;
  blob: string;
  created_at: string;
  finalized_at: string | null;
  /** After this the artifact is no longer listed and the sweep removes it. */
  expires_at: string;
}

/** Deployment targets of a repository, each with its protection rules. */
export interface EnvironmentsTable {
  id: number;
  repository_id: number;
  name: string;
  /** JSON array of the logins who may approve; empty: no approval needed. */
  reviewers: string;
  prevent_self_review: number;
  /** Minutes a deployment waits after its job asks to deploy. */
  wait_timer: number;
  /** JSON `{ branches, tags }` of allowed patterns; null: any ref may deploy. */
  deployment_policy: string | null;
  created_at: string;
  updated_at: string;
}

/** One per job (run, attempt, job key) that names an environment. */
export interface DeploymentsTable {
  id: number;
  repository_id: number;
  environment_id: number;
  run_id: number;
  attempt: number;
  job_key: string;
  /** The job's row, once it exists. */
  job_id: number | null;
  job_name: string;
  ref: string;
  sha: string;
  /** Who started it: the run's actor, or whoever asked for the rollback. */
  creator: string;
  approver: string | null;
  review_comment: string | null;
  /** queued | waiting | in_progress | success | failure | cancelled | inactive */
  status: string;
  url: string | null;
  /** The deployment this one rolls back to (a redeploy of it). */
  rollback_of: number | null;
  /** When the wait timer lets it go on. */
  wait_until: string | null;
  /** Why it failed when it never ran (refused ref, rejected). */
  reason: string | null;
  created_at: string;
  updated_at: string;
}

/** A rollback asked for: the job of that attempt redeploys the target deployment. */
export interface DeploymentRollbacksTable {
  run_id: number;
  attempt: number;
  job_key: string;
  target_id: number;
  actor: string;
  created_at: string;
}

/**
 * Concurrency groups of a repository: the holder running and the one pending (`run:<id>:<attempt>`
 * or `job:<run>:<attempt>:<key>`). Changed only by conditional updates, so several server
 * processes never let two run at once.
 */
export interface ConcurrencyGroupsTable {
  repository_id: number;
  name: string;
  running: string | null;
  pending: string | null;
  updated_at: string;
}

/**
 * Encrypted secrets. Scope: `repository_id` 0 and `environment` '' for the organisation, the
 * repository's id and '' for a repository, both set for an environment of that repository.
 */
export interface SecretsTable {
  id: number;
  repository_id: number;
  environment: string;
  /** Upper-case, as GitHub stores them. */
  name: string;
  /** `v1:<iv>:<tag>:<ciphertext>`, base64: AES-256-GCM under the master key, the scope as AAD. */
  ciphertext: string;
  created_at: string;
  updated_at: string;
}

/** Configuration variables (the `vars` context), same scopes as secrets; values are not secret. */
export interface VariablesTable {
  id: number;
  repository_id: number;
  environment: string;
  name: string;
  value: string;
  created_at: string;
  updated_at: string;
}

/** Who changed what that matters (secrets, variables, tokens, runners, approvals, deployments). */
export interface AuditEventsTable {
  id: number;
  /** The login, or null for the server itself. */
  actor: string | null;
  /** Dotted, e.g. `secret.set`, `token.revoke`, `deployment.approve`. */
  action: string;
  /** What it acted on, e.g. `repo:alice/app/env:production/secret:API_KEY`. */
  target: string;
  /** JSON object; never a secret's value. */
  details: string;
  created_at: string;
}

/** Statuses set on commits (GitHub's statuses API). */
export interface CommitStatusesTable {
  id: number;
  repository_id: number;
  sha: string;
  /** error, failure, pending or success. */
  state: string;
  context: string;
  description: string | null;
  target_url: string | null;
  /** The login, or `job:<id>` for a job's token. */
  creator: string;
  created_at: string;
}
