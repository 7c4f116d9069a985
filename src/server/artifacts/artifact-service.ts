/**
 * The artifact service behind GitHub's v4 results protocol (src/server/http/artifact-routes.ts):
 * who is asking (a running job's ACTIONS_RUNTIME_TOKEN), what it may touch (its own run's
 * artifacts, never another run's or repository's), uploads through signed blob URLs, finalizing
 * with the size and SHA-256 the server checks itself, signed expiring downloads, and the removal
 * of expired artifacts.
 */
import { createHash } from "node:crypto";
import { artifactNameProblem } from "../../actions/builtin/artifact-names.js";
import type { StoredArtifact } from "../../store/artifacts.js";
import { credentialOf, secretOf } from "../auth/credentials-header.js";
import { isRefusal } from "../caches/cache-service.js";
import type { Refusal } from "../caches/cache-service.js";
import type { ServerContext } from "../server-context.js";

/** A job using the service. */
export interface ArtifactCaller {
  readonly jobId: number;
  readonly runId: number;
  readonly attempt: number;
  readonly repositoryId: number;
}

/** The backend ids every request names: the run, and the job (the uploader's, for downloads). */
export interface BackendIds {
  readonly runBackendId: string;
  readonly jobBackendId: string;
}

export interface CreateRequest extends BackendIds {
  readonly name: string;
  /** What downloads are served as (v6 uploads single files as they are); default application/zip. */
  readonly mimeType?: string;
  /** The client's retention as a time; capped at the server's maximum. */
  readonly expiresAt?: string;
}

export interface FinalizeRequest extends BackendIds {
  readonly name: string;
  readonly size: number;
  /** `sha256:<hex>` of what the client uploaded. */
  readonly hash?: string;
}

export interface ListFilter {
  readonly name?: string;
  readonly id?: number;
}

export const DEFAULT_ARTIFACT_MAX_SIZE = 10 * 1024 ** 3;
export const DEFAULT_ARTIFACT_RETENTION_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Uploads may take as long as a job; downloads need the URL only to start. */
const UPLOAD_URL_MS = 6 * 60 * 60 * 1000;
const DOWNLOAD_URL_MS = 10 * 60 * 1000;
/** An upload not finalized by then belongs to a job that ended (tokens last 7 hours): the sweep removes it. */
export const PENDING_UPLOAD_MS = 7 * 60 * 60 * 1000;
const ZIP = "application/zip";

function refuse(status: number, message: string): Refusal {
  return { refused: true, status, message };
}

export class ArtifactService {
  constructor(private readonly context: ServerContext) {}

  get maxSize(): number {
    return this.context.artifactLimits.maxSize;
  }

  /** The job behind an `Authorization` header, while it runs; a 401 otherwise. */
  async caller(authorization: string | undefined): Promise<ArtifactCaller | Refusal> {
    const credential = credentialOf(authorization);
    const claims = credential ? this.context.runtimeTokens.verify(secretOf(credential)) : undefined;
    if (!claims) {
      return refuse(401, "the artifact service needs the job's ACTIONS_RUNTIME_TOKEN as a Bearer token.");
    }
    const job = await this.context.store.jobs.byId(claims.jobId);
    if (!job || job.status !== "in_progress" || job.runId !== claims.runId) {
      return refuse(
        401,
        "this ACTIONS_RUNTIME_TOKEN's job has ended: tokens work only while their job runs.",
      );
    }
    return { ...claims, attempt: job.attempt };
  }

  /** A new upload of `name` in the caller's run, and the signed URL its content goes to. */
  async create(
    caller: ArtifactCaller,
    request: CreateRequest,
    now: number = Date.now(),
  ): Promise<string | Refusal> {
    const problem =
      this.ownRun(caller, request) ??
      this.ownJob(caller, request) ??
      nameProblem(request.name) ??
      mimeTypeProblem(request.mimeType);
    if (problem) return problem;
    const expiresAt = this.expiry(request.expiresAt, now);
    if (isRefusal(expiresAt)) return expiresAt;
    const { store } = this.context;
    for (const other of await store.artifacts.named(caller.runId, request.name)) {
      if (
        other.status === "finalized" &&
        other.attempt === caller.attempt &&
        Date.parse(other.expiresAt) > now
      ) {
        return refuse(
          409,
          `an artifact named '${request.name}' was already uploaded in this run (id ${other.id}): names are unique in a run. Use another name, or delete it first (upload-artifact's \`overwrite: true\`).`,
        );
      }
      // This job's earlier try at the same upload (a retry) is replaced.
      if (other.status === "pending" && other.jobId === caller.jobId) await this.remove(other);
    }
    const artifact = await store.artifacts.create(
      {
        repositoryId: caller.repositoryId,
        runId: caller.runId,
        attempt: caller.attempt,
        jobId: caller.jobId,
        name: request.name,
        mimeType: request.mimeType || ZIP,
        expiresAt: new Date(expiresAt).toISOString(),
      },
      now,
    );
    const path = this.context.blobUrls.path(
      {
        blob: artifact.blob,
        access: "write",
        expiresAt: now + UPLOAD_URL_MS,
        limit: this.maxSize,
        digest: true,
      },
      fileNameOf(artifact),
    );
    return `${this.context.publicUrl}${path}`;
  }

  /**
   * Makes the caller's upload of `name` the run's artifact, after checking what was stored: its size
   * against the client's and the limit, its SHA-256 against the client's hash. A corrupted upload is
   * removed and refused.
   */
  async finalize(
    caller: ArtifactCaller,
    request: FinalizeRequest,
    now: number = Date.now(),
  ): Promise<StoredArtifact | Refusal> {
    const problem = this.ownRun(caller, request) ?? this.ownJob(caller, request) ?? nameProblem(request.name);
    if (problem) return problem;
    const { store } = this.context;
    const uploads = await store.artifacts.named(caller.runId, request.name);
    const upload = uploads.filter((a) => a.status === "pending" && a.jobId === caller.jobId).pop();
    if (!upload) {
      return refuse(
        404,
        `there is no upload of an artifact named '${request.name}' by this job to finalize: call CreateArtifact first.`,
      );
    }
    const checked = await this.check(upload, request);
    if (isRefusal(checked)) {
      await this.remove(upload);
      return checked;
    }
    // An artifact of the name from an earlier attempt of the run gives way to this one.
    for (const earlier of uploads) {
      if (earlier.status === "finalized" && earlier.attempt < caller.attempt) await this.remove(earlier);
    }
    if (!(await store.artifacts.finalize(upload.id, checked.size, checked.digest, now))) {
      await this.remove(upload);
      return refuse(
        409,
        `another upload of an artifact named '${request.name}' was finalized first: names are unique in a run.`,
      );
    }
    return { ...upload, status: "finalized", size: checked.size, digest: checked.digest };
  }

  private async check(
    upload: StoredArtifact,
    request: FinalizeRequest,
  ): Promise<{ size: number; digest: string } | Refusal> {
    const blobs = this.context.store.blobs;
    const size = await blobs.size(upload.blob);
    if (size === undefined) {
      return refuse(
        400,
        `nothing was uploaded for the artifact '${request.name}': upload its content, then finalize.`,
      );
    }
    if (size > this.maxSize) {
      return refuse(
        400,
        `the artifact '${request.name}' has ${size} bytes, over the limit of ${this.maxSize} bytes.`,
      );
    }
    if (request.size !== size) {
      return refuse(
        400,
        `the artifact '${request.name}' was finalized with a size of ${request.size} bytes but ${size} were uploaded: the upload is incomplete. It was not saved.`,
      );
    }
    // Followed while the blocks arrived, when they came in the order they were listed in.
    const digest = this.context.uploadDigests.take(upload.blob) ?? (await this.digestOf(upload.blob));
    if (request.hash !== undefined && request.hash !== "" && request.hash.toLowerCase() !== digest) {
      return refuse(
        400,
        `the artifact '${request.name}' does not match its digest: the client sent ${request.hash} but the server received ${digest}. The upload was corrupted and not saved; upload it again.`,
      );
    }
    return { size, digest };
  }

  private async digestOf(blob: string): Promise<string> {
    const hash = createHash("sha256");
    await this.context.store.blobs.scan(blob, (bytes) => hash.update(bytes));
    return `sha256:${hash.digest("hex")}`;
  }

  /** The caller's run's artifacts that are finalized and not expired, by id. */
  async list(
    caller: ArtifactCaller,
    request: Pick<BackendIds, "runBackendId">,
    filter: ListFilter = {},
    now: number = Date.now(),
  ): Promise<StoredArtifact[] | Refusal> {
    const problem = this.ownRun(caller, request);
    if (problem) return problem;
    return (await this.context.store.artifacts.finalizedIn(caller.runId, now)).filter(
      (a) =>
        (filter.name === undefined || a.name === filter.name) &&
        (filter.id === undefined || a.id === filter.id),
    );
  }

  /** The finalized, unexpired artifact `name` of the caller's run; a 404 otherwise. */
  async find(
    caller: ArtifactCaller,
    request: Pick<BackendIds, "runBackendId"> & { readonly name: string },
    now: number = Date.now(),
  ): Promise<StoredArtifact | Refusal> {
    const found = await this.list(caller, request, { name: request.name }, now);
    if (isRefusal(found)) return found;
    return (
      found.pop() ??
      refuse(
        404,
        `no artifact named '${request.name}' in this run: it was never finalized, was deleted, or expired.`,
      )
    );
  }

  /** A signed URL that serves the artifact for a short while, without a token. */
  downloadUrl(artifact: StoredArtifact, now: number = Date.now()): string {
    const path = this.context.blobUrls.path(
      {
        blob: artifact.blob,
        access: "read",
        expiresAt: now + DOWNLOAD_URL_MS,
        contentType: artifact.mimeType,
        ...(artifact.mimeType === ZIP ? {} : { fileName: artifact.name }),
      },
      fileNameOf(artifact),
    );
    return `${this.context.publicUrl}${path}`;
  }

  /** Removes an artifact (or an upload) and its content. */
  async remove(artifact: StoredArtifact): Promise<void> {
    const { store } = this.context;
    this.context.uploadDigests.forget(artifact.blob);
    await store.artifacts.remove(artifact.id);
    await store.blobs.delete(artifact.blob);
    await store.blobs.deleteAll(`${artifact.blob}.blocks`);
  }

  /** Removes expired artifacts and uploads never finalized; how many went. */
  async sweep(now: number = Date.now()): Promise<number> {
    let removed = 0;
    for (;;) {
      const stale = await this.context.store.artifacts.stale(now, now - PENDING_UPLOAD_MS);
      for (const artifact of stale) await this.remove(artifact);
      removed += stale.length;
      if (stale.length === 0) return removed;
    }
  }

  /** When an artifact created `now` expires: the client's time, at most the server's retention. */
  private expiry(requested: string | undefined, now: number): number | Refusal {
    const latest = now + this.context.artifactLimits.retentionDays * DAY_MS;
    if (requested === undefined || requested === "") return latest;
    const at = Date.parse(requested);
    if (!Number.isFinite(at)) {
      return refuse(400, `the field 'expires_at' must be a time (RFC 3339), not '${requested}'.`);
    }
    if (at <= now) return refuse(400, `the field 'expires_at' (${requested}) is in the past.`);
    return Math.min(at, latest);
  }

  private ownRun(caller: ArtifactCaller, request: Pick<BackendIds, "runBackendId">): Refusal | undefined {
    return request.runBackendId === String(caller.runId)
      ? undefined
      : refuse(
          403,
          `this job's token is for run ${caller.runId}, not '${request.runBackendId}': a job reaches only its own run's artifacts.`,
        );
  }

  private ownJob(caller: ArtifactCaller, request: BackendIds): Refusal | undefined {
    return request.jobBackendId === String(caller.jobId)
      ? undefined
      : refuse(
          403,
          `this job's token is for job ${caller.jobId}, not '${request.jobBackendId}': a job uploads only as itself.`,
        );
  }
}

function nameProblem(name: string): Refusal | undefined {
  const problem = artifactNameProblem(name);
  if (problem) return refuse(400, problem);
  if (name.length > 256) return refuse(400, "The artifact name is longer than 256 characters.");
  return undefined;
}

function mimeTypeProblem(mimeType: string | undefined): Refusal | undefined {
  if (mimeType === undefined || mimeType === "" || /^[\w.+-]+\/[\w.+-]+$/.test(mimeType)) return undefined;
  return refuse(
    400,
    `the field 'mime_type' must be a media type such as application/zip, not '${mimeType}'.`,
  );
}

/** The name at the end of the artifact's URLs (for people and SDKs; the grant names the blob). */
function fileNameOf(artifact: StoredArtifact): string {
  return artifact.mimeType === ZIP ? `${artifact.name}.zip` : artifact.name;
}
