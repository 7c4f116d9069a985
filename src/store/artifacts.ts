/**
 * Artifacts of runs (src/store/schema.ts: ArtifactsTable). The rules of the service (who may upload,
 * names, digests, limits) live in src/server/artifacts; this is their storage. A name is unique among
 * a run's finalized artifacts: finalizing is a conditional update, so of two uploads racing for a
 * name one wins.
 */
import type { Kysely, Selectable } from "kysely";
import { nextValue, timestamp } from "./counters.js";
import type { ArtifactsTable, Database } from "./schema.js";

export interface StoredArtifact {
  readonly id: number;
  readonly repositoryId: number;
  readonly runId: number;
  readonly attempt: number;
  readonly jobId: number;
  readonly name: string;
  readonly status: "pending" | "finalized";
  readonly mimeType: string;
  readonly size: number;
  /** `sha256:<hex>`, once finalized. */
  readonly digest: string | null;
  readonly blob: string;
  readonly createdAt: string;
  readonly finalizedAt: string | null;
  readonly expiresAt: string;
}

export interface NewArtifact {
  readonly repositoryId: number;
  readonly runId: number;
  readonly attempt: number;
  readonly jobId: number;
  readonly name: string;
  readonly mimeType: string;
  readonly expiresAt: string;
}

export class ArtifactEntryStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** A pending upload; its blob key is derived from its id. */
  async create(artifact: NewArtifact, now: number = Date.now()): Promise<StoredArtifact> {
    const id = await nextValue(this.db, "artifacts");
    const row = await this.db
      .insertInto("artifacts")
      .values({
        id,
        repository_id: artifact.repositoryId,
        run_id: artifact.runId,
        attempt: artifact.attempt,
        job_id: artifact.jobId,
        name: artifact.name,
        status: "pending",
        mime_type: artifact.mimeType,
        size: 0,
        digest: null,
        blob: `artifacts/${artifact.repositoryId}/${artifact.runId}/${id}`,
        created_at: timestamp(now),
        finalized_at: null,
        expires_at: artifact.expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toArtifact(row);
  }

  async byId(id: number): Promise<StoredArtifact | undefined> {
    const row = await this.db.selectFrom("artifacts").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toArtifact(row);
  }

  /** A run's finalized artifacts that have not expired, oldest first. */
  async finalizedIn(runId: number, now: number = Date.now()): Promise<StoredArtifact[]> {
    const rows = await this.db
      .selectFrom("artifacts")
      .selectAll()
      .where("run_id", "=", runId)
      .where("status", "=", "finalized")
      .where("expires_at", ">", timestamp(now))
      .orderBy("id", "asc")
      .execute();
    return rows.map(toArtifact);
  }

  /** Uploads of `name` in a run (pending and finalized, expired or not), oldest first. */
  async named(runId: number, name: string): Promise<StoredArtifact[]> {
    const rows = await this.db
      .selectFrom("artifacts")
      .selectAll()
      .where("run_id", "=", runId)
      .where("name", "=", name)
      .orderBy("id", "asc")
      .execute();
    return rows.map(toArtifact);
  }

  /**
   * Makes a pending upload the run's artifact of its name, with its checked size and digest; false
   * when it is not pending any more or another upload of the name was finalized first.
   */
  async finalize(id: number, size: number, digest: string, now: number = Date.now()): Promise<boolean> {
    const result = await this.db
      .updateTable("artifacts")
      .set({ status: "finalized", size, digest, finalized_at: timestamp(now) })
      .where("id", "=", id)
      .where("status", "=", "pending")
      .where(({ exists, selectFrom, not }) =>
        not(
          exists(
            selectFrom("artifacts as other")
              .select("other.id")
              .whereRef("other.run_id", "=", "artifacts.run_id")
              .whereRef("other.name", "=", "artifacts.name")
              .where("other.status", "=", "finalized"),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async remove(id: number): Promise<void> {
    await this.db.deleteFrom("artifacts").where("id", "=", id).execute();
  }

  /** Artifacts past their expiry, and uploads pending since before `pendingBefore`: what the sweep removes. */
  async stale(now: number, pendingBefore: number, limit = 100): Promise<StoredArtifact[]> {
    const rows = await this.db
      .selectFrom("artifacts")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb("expires_at", "<=", timestamp(now)),
          eb.and([eb("status", "=", "pending"), eb("created_at", "<", timestamp(pendingBefore))]),
        ]),
      )
      .orderBy("id", "asc")
      .limit(limit)
      .execute();
    return rows.map(toArtifact);
  }
}

function toArtifact(row: Selectable<ArtifactsTable>): StoredArtifact {
  return {
    id: Number(row.id),
    repositoryId: Number(row.repository_id),
    runId: Number(row.run_id),
    attempt: Number(row.attempt),
    jobId: Number(row.job_id),
    name: row.name,
    status: row.status === "finalized" ? "finalized" : "pending",
    mimeType: row.mime_type,
    size: Number(row.size),
    digest: row.digest,
    blob: row.blob,
    createdAt: row.created_at,
    finalizedAt: row.finalized_at,
    expiresAt: row.expires_at,
  };
}
