/** What the server's route handlers share: the store, the coordinator and the settings they need. */
import type { ServerStore } from "../store/server-store.js";
import type { User } from "../store/accounts.js";
import type { JobRecord } from "../store/jobs.js";
import type { Repository } from "../store/repositories.js";
import type { RunRecord } from "../store/runs.js";
import type { RepositoryFolders } from "./git/bare-repositories.js";
import type { RepositoryMirrors } from "./webhooks/index.js";
import type { JobTokens } from "./auth/job-tokens.js";
import type { RuntimeTokens } from "./auth/runtime-tokens.js";
import type { BlobUrls } from "./auth/blob-urls.js";
import type { UploadDigests } from "./artifacts/upload-digests.js";
import type { Notifier } from "./notifier.js";
import type { LongRequests } from "./http/long-requests.js";
import type { RunCoordinator } from "./runs/run-coordinator.js";
import type { RunStarter } from "./runs/run-starter.js";
import type { SecretsService } from "./secrets/secrets-service.js";

export interface ServerContext {
  readonly store: ServerStore;
  readonly notifier: Notifier;
  /** Held-open requests (long polls, log streams), ended and awaited when the server closes. */
  readonly longRequests: LongRequests;
  readonly coordinator: RunCoordinator;
  readonly starter: RunStarter;
  /** Secrets and variables: encrypted at rest, resolved for a job when a runner leases it. */
  readonly secrets: SecretsService;
  readonly jobTokens: JobTokens;
  /** ACTIONS_RUNTIME_TOKEN: the artifact and cache services' credentials for a job's actions. */
  readonly runtimeTokens: RuntimeTokens;
  /** Signs the URLs clients upload and download artifacts and caches at (src/server/http/blob-routes.ts). */
  readonly blobUrls: BlobUrls;
  /** Bytes of caches kept per repository; past it the least recently used are evicted. */
  readonly cacheQuota: number;
  /** Artifact uploads' SHA-256, followed as their blocks arrive. */
  readonly uploadDigests: UploadDigests;
  /** The largest artifact accepted, in bytes, and the most days one is kept. */
  readonly artifactLimits: { readonly maxSize: number; readonly retentionDays: number };
  /** The server's base URL as runners and people reach it, without a trailing slash. */
  readonly publicUrl: string;
  /** Where the repository is cloned from (always this server, for hosted and mirrored ones). */
  cloneUrlOf(repository: Pick<Repository, "owner" | "name"> | undefined): string;
  /** The bare repositories on disk (hosted ones, and mirrors of remote ones). */
  readonly folders: RepositoryFolders;
  /** Mirrors of remote repositories that send webhooks. */
  readonly mirrors: RepositoryMirrors;
  /** The bare repository on disk that serves `repository` (its folder, or its mirror). */
  repositoryPathOf(repository: Repository): string | undefined;
  createHostedRepository(
    owner: string,
    name: string,
    defaultBranch?: string,
  ): Promise<{ ok: true; repository: Repository } | { ok: false; message: string }>;
  /** A repository kept as a mirror of a remote one that sends webhooks signed with `webhookSecret`. */
  createMirroredRepository(
    owner: string,
    name: string,
    remoteUrl: string,
    webhookSecret: string,
    defaultBranch?: string,
  ): Promise<{ ok: true; repository: Repository } | { ok: false; message: string }>;
  /** Cancels one job: a queued one ends at once, a running one is told to stop. */
  cancelJob(job: JobRecord): Promise<void>;
  /** Starts a workflow_dispatch workflow at `ref` (default branch when undefined). */
  dispatch(
    repository: Repository,
    user: User,
    workflow: string,
    ref: string | undefined,
    inputs: Readonly<Record<string, unknown>>,
  ): Promise<{ ok: true; runs: RunRecord[] } | { ok: false; status: number; message: string }>;
}
