/**
 * The cache service behind both of GitHub's cache protocols (v1 REST and v2 Twirp,
 * src/server/http/cache-routes.ts): who is asking (a running job's ACTIONS_RUNTIME_TOKEN), what it
 * may see (cache-scopes.ts), reservations, uploads in parts or through a signed URL, commits that
 * check the upload is whole, and eviction of the least recently used entries past the quota.
 */
import { BlobTooLargeError } from "../../store/blobs.js";
import type { CacheEntry } from "../../store/caches.js";
import { isJsonObject } from "../../json.js";
import { credentialOf, secretOf } from "../auth/credentials-header.js";
import type { ServerContext } from "../server-context.js";
import { cacheScopes, matchEntry } from "./cache-scopes.js";
import type { CacheScopes } from "./cache-scopes.js";

/** A job using the service. */
export interface CacheCaller {
  readonly jobId: number;
  readonly runId: number;
  readonly repositoryId: number;
  readonly scopes: CacheScopes;
}

/** Why a request was refused: an HTTP status and a message saying what to do. */
export interface Refusal {
  readonly refused: true;
  readonly status: number;
  readonly message: string;
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === "object" && value !== null && "refused" in value;
}

function refuse(status: number, message: string): Refusal {
  return { refused: true, status, message };
}

/** GitHub's per-repository figure. */
export const DEFAULT_CACHE_QUOTA = 10 * 1024 * 1024 * 1024;
/** Signed download URLs live long enough for one restore; upload URLs as long as a job. */
const DOWNLOAD_URL_SECONDS = 60 * 60;
const UPLOAD_URL_SECONDS = 6 * 60 * 60;
/** Runs whose scopes are known: a job makes several requests, each would read the run again. */
const REMEMBERED_RUNS = 256;

export class CacheService {
  private readonly runScopes = new Map<number, CacheScopes>();

  constructor(private readonly context: ServerContext) {}

  get quota(): number {
    return this.context.cacheQuota;
  }

  /** The job behind an `Authorization` header, while it runs; a 401 otherwise. */
  async caller(authorization: string | undefined): Promise<CacheCaller | Refusal> {
    const credential = credentialOf(authorization);
    const claims = credential ? this.context.runtimeTokens.verify(secretOf(credential)) : undefined;
    if (!claims) {
      return refuse(401, "the cache service needs the job's ACTIONS_RUNTIME_TOKEN as a Bearer token.");
    }
    const job = await this.context.store.jobs.byId(claims.jobId);
    if (!job || job.status !== "in_progress" || job.runId !== claims.runId) {
      return refuse(
        401,
        "this ACTIONS_RUNTIME_TOKEN's job has ended: tokens work only while their job runs.",
      );
    }
    const scopes = await this.scopesOf(claims.runId);
    if (!scopes) return refuse(401, "this ACTIONS_RUNTIME_TOKEN's run no longer exists.");
    return { ...claims, scopes };
  }

  private async scopesOf(runId: number): Promise<CacheScopes | undefined> {
    const known = this.runScopes.get(runId);
    if (known) return known;
    const { store } = this.context;
    const run = await store.runs.byId(runId);
    const repository = run ? await store.repositories.byId(run.repositoryId) : undefined;
    const definition = await store.runs.definition(runId);
    if (!run || !repository || definition === undefined) return undefined;
    const parsed: unknown = JSON.parse(definition);
    const payload = isJsonObject(parsed) && isJsonObject(parsed.payload) ? parsed.payload : {};
    const scopes = cacheScopes({ ref: run.ref, defaultBranch: repository.defaultBranch, payload });
    if (this.runScopes.size >= REMEMBERED_RUNS) this.runScopes.clear();
    this.runScopes.set(runId, scopes);
    return scopes;
  }

  /** The committed entry a restore of `keys` gets (marked used), or undefined on a miss. */
  async lookup(
    caller: CacheCaller,
    keys: readonly string[],
    version: string,
  ): Promise<CacheEntry | undefined> {
    const candidates = await this.context.store.caches.committedIn(
      caller.repositoryId,
      caller.scopes.read,
      version,
    );
    const found = matchEntry(candidates, keys, caller.scopes.read);
    if (found) await this.context.store.caches.touch(found.id);
    return found;
  }

  /** The committed entries the caller could restore (any key and version). */
  visible(caller: CacheCaller): Promise<CacheEntry[]> {
    return this.context.store.caches.committedIn(caller.repositoryId, caller.scopes.read);
  }

  /**
   * Reserves `key` in the caller's scope. Refused when the key exists (keys are immutable), when
   * another running job is uploading it, or when `size` (if the client says) is over the quota.
   */
  async reserve(
    caller: CacheCaller,
    key: string,
    version: string,
    size?: number,
  ): Promise<CacheEntry | Refusal> {
    const keyProblem = checkKey(key) ?? checkVersion(version);
    if (keyProblem) return refuse(400, keyProblem);
    if (size !== undefined && size > this.quota) {
      return refuse(
        400,
        `Cache size of ~${Math.round(size / (1024 * 1024))} MB (${size} B) is over the repository's cache quota of ${this.quota} B, not saving cache.`,
      );
    }
    const { store } = this.context;
    for (;;) {
      const reserved = await store.caches.reserve({
        repositoryId: caller.repositoryId,
        scope: caller.scopes.write,
        key,
        version,
        jobId: caller.jobId,
      });
      if (reserved.created) return reserved.entry;
      const existing = reserved.existing;
      if (existing.status === "committed") {
        return refuse(
          409,
          `Cache already exists: the key '${key}' was saved in ${existing.scope} and keys are immutable; change the key to save new content.`,
        );
      }
      const holder = await store.jobs.byId(existing.jobId);
      if (holder?.status === "in_progress") {
        return refuse(
          409,
          `Cache with key '${key}' is being created by another job (job ${existing.jobId}).`,
        );
      }
      // The job that reserved it ended without committing: its reservation is free to take.
      await this.remove(existing);
    }
  }

  /** The v1 API's ranged upload of bytes `start`..`end` of a reserved entry. */
  async uploadPart(
    caller: CacheCaller,
    cacheId: number,
    range: { readonly start: number; readonly end: number },
    body: AsyncIterable<Uint8Array>,
  ): Promise<undefined | Refusal> {
    const entry = await this.ownReservation(caller, cacheId);
    if (isRefusal(entry)) return entry;
    const expected = range.end - range.start + 1;
    if (range.start < 0 || expected <= 0 || range.end >= this.quota) {
      return refuse(
        400,
        `Content-Range bytes ${range.start}-${range.end} is not within the quota of ${this.quota} bytes.`,
      );
    }
    const blob = `${entry.blob}.parts/${range.start}`;
    let written: number;
    try {
      written = await this.context.store.blobs.write(blob, body, expected);
    } catch (e) {
      if (e instanceof BlobTooLargeError) {
        return refuse(400, `the body is longer than its Content-Range (${expected} bytes).`);
      }
      throw e;
    }
    if (written !== expected) {
      await this.context.store.blobs.delete(blob);
      return refuse(400, `the body has ${written} bytes but its Content-Range says ${expected}.`);
    }
    await this.context.store.caches.addPart(cacheId, { start: range.start, size: written, blob });
    return undefined;
  }

  /**
   * The v1 commit: the parts must cover bytes 0..size-1 exactly, without gaps or overlaps; they become
   * the entry's archive. Anything else is a corrupted upload: the reservation is dropped.
   */
  async commitParts(caller: CacheCaller, cacheId: number, size: number): Promise<CacheEntry | Refusal> {
    const entry = await this.ownReservation(caller, cacheId);
    if (isRefusal(entry)) return entry;
    const { store } = this.context;
    const parts = await store.caches.parts(cacheId);
    const problem = wholeProblem(parts, size);
    if (problem) {
      await this.remove(entry);
      return refuse(400, `the upload is not whole: ${problem}. The cache was not saved.`);
    }
    // The parts become the archive by moving, not copying: the archive is written to disk once.
    await store.blobs.compose(
      entry.blob,
      parts.map((p) => p.blob),
    );
    await store.blobs.deleteAll(`${entry.blob}.parts`);
    return this.commit(entry, size);
  }

  /** The v2 finalize: the archive was uploaded to the signed URL and must have the size the client says. */
  async finalize(
    caller: CacheCaller,
    key: string,
    version: string,
    size: number,
  ): Promise<CacheEntry | Refusal> {
    const { store } = this.context;
    const entry = await store.caches.find(caller.repositoryId, caller.scopes.write, key, version);
    if (!entry || entry.status !== "reserved" || entry.jobId !== caller.jobId) {
      return refuse(404, `no cache upload of key '${key}' by this job to finalize: create the entry first.`);
    }
    const uploaded = await store.blobs.size(entry.blob);
    if (uploaded !== size) {
      await this.remove(entry);
      return refuse(
        400,
        uploaded === undefined
          ? `nothing was uploaded for the key '${key}'. The cache was not saved.`
          : `the upload has ${uploaded} bytes but the client says ${size}: it is incomplete or corrupted. The cache was not saved.`,
      );
    }
    return this.commit(entry, size);
  }

  private async commit(entry: CacheEntry, size: number): Promise<CacheEntry | Refusal> {
    const { store } = this.context;
    if (size > this.quota) {
      await this.remove(entry);
      return refuse(
        400,
        `the cache of ${size} bytes is over the repository's cache quota of ${this.quota} bytes.`,
      );
    }
    if (!(await store.caches.commit(entry.id, size))) {
      return refuse(
        409,
        `the reservation of '${entry.key}' was taken over (its job ran too long); save again.`,
      );
    }
    await this.evict(entry.repositoryId);
    return { ...entry, status: "committed", size };
  }

  /**
   * Removes entries used longest ago until the repository's caches fit in the quota, and the
   * reservations (with their uploaded parts) of jobs that ended without committing.
   */
  async evict(repositoryId: number): Promise<void> {
    const { store } = this.context;
    for (const reservation of await store.caches.reserved(repositoryId)) {
      if ((await store.jobs.byId(reservation.jobId))?.status !== "in_progress")
        await this.remove(reservation);
    }
    let total = await store.caches.totalSize(repositoryId);
    while (total > this.quota) {
      const oldest = await store.caches.leastRecentlyUsed(repositoryId);
      if (!oldest) return;
      await this.remove(oldest);
      total -= oldest.size;
    }
  }

  /** Removes an entry, its archive and any parts or blocks of its upload. */
  async remove(entry: CacheEntry): Promise<void> {
    const { store } = this.context;
    await store.caches.remove(entry.id);
    await store.blobs.delete(entry.blob);
    await store.blobs.deleteAll(`${entry.blob}.parts`);
    await store.blobs.deleteAll(`${entry.blob}.blocks`);
  }

  /** Where the client downloads an entry's archive (no token needed: the URL is signed). */
  downloadUrl(entry: CacheEntry, now: number = Date.now()): string {
    const path = this.context.blobUrls.path(
      { blob: entry.blob, access: "read", expiresAt: now + DOWNLOAD_URL_SECONDS * 1000 },
      "cache.tar",
    );
    return `${this.context.publicUrl}${path}`;
  }

  /** Where the v2 client uploads a reserved entry's archive, once. */
  uploadUrl(entry: CacheEntry, now: number = Date.now()): string {
    const path = this.context.blobUrls.path(
      { blob: entry.blob, access: "write", expiresAt: now + UPLOAD_URL_SECONDS * 1000, limit: this.quota },
      "cache.tar",
    );
    return `${this.context.publicUrl}${path}`;
  }

  private async ownReservation(caller: CacheCaller, cacheId: number): Promise<CacheEntry | Refusal> {
    const entry = await this.context.store.caches.byId(cacheId);
    if (!entry || entry.repositoryId !== caller.repositoryId) return refuse(404, `no cache ${cacheId}.`);
    if (entry.jobId !== caller.jobId) return refuse(403, `the cache ${cacheId} was reserved by another job.`);
    if (entry.status !== "reserved")
      return refuse(409, `the cache ${cacheId} is committed already; keys are immutable.`);
    return entry;
  }
}

/** What keeps parts from making bytes 0..size-1 exactly; undefined when they do. */
export function wholeProblem(
  parts: readonly { start: number; size: number }[],
  size: number,
): string | undefined {
  if (!Number.isSafeInteger(size) || size < 0) return `the size ${size} is not a number of bytes`;
  let next = 0;
  for (const part of [...parts].sort((a, b) => a.start - b.start)) {
    if (part.start > next) return `bytes ${next}-${part.start - 1} were never uploaded`;
    if (part.start < next) return `the parts overlap at byte ${part.start}`;
    next = part.start + part.size;
  }
  if (next < size) return `bytes ${next}-${size - 1} were never uploaded`;
  if (next > size) return `the parts hold ${next} bytes but the commit says ${size}`;
  return undefined;
}

/** The toolkit's key rules, checked again here: a client that skips them gets a clear answer. */
function checkKey(key: string): string | undefined {
  if (key === "") return "the cache key is empty.";
  if (key.length > 512) return "the cache key is longer than 512 characters.";
  if (key.includes(",")) return "the cache key contains a comma (commas separate keys in lookups).";
  return undefined;
}

function checkVersion(version: string): string | undefined {
  return version === "" || version.length > 512
    ? "the cache version must be a hash of 1-512 characters."
    : undefined;
}
