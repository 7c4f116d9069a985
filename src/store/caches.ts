/**
 * Cache entries and the parts of their uploads (src/store/schema.ts: CachesTable). The rules that
 * decide which entry a job sees live in src/server/caches; this is their storage. Reservations are
 * inserts on the unique (repository, scope, key, version): two jobs racing for a key get one winner.
 */
import type { Kysely, Selectable } from "kysely";
import { nextValue, timestamp } from "./counters.js";
import type { CachesTable, Database } from "./schema.js";

export interface CacheEntry {
  readonly id: number;
  readonly repositoryId: number;
  readonly scope: string;
  readonly key: string;
  readonly version: string;
  readonly status: "reserved" | "committed";
  readonly size: number;
  readonly blob: string;
  readonly jobId: number;
  readonly createdAt: string;
  readonly lastUsedAt: string;
}

export interface CachePart {
  readonly start: number;
  readonly size: number;
  readonly blob: string;
}

export interface NewReservation {
  readonly repositoryId: number;
  readonly scope: string;
  readonly key: string;
  readonly version: string;
  readonly jobId: number;
}

export class CacheEntryStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** A new reserved entry, or the entry that holds the key already (reserved or committed). */
  async reserve(
    reservation: NewReservation,
    now: number = Date.now(),
  ): Promise<{ created: true; entry: CacheEntry } | { created: false; existing: CacheEntry }> {
    const id = await nextValue(this.db, "caches");
    const at = timestamp(now);
    const inserted = await this.db
      .insertInto("caches")
      .values({
        id,
        repository_id: reservation.repositoryId,
        scope: reservation.scope,
        key: reservation.key,
        version: reservation.version,
        status: "reserved",
        size: 0,
        blob: `caches/${reservation.repositoryId}/${id}`,
        job_id: reservation.jobId,
        created_at: at,
        last_used_at: at,
      })
      .onConflict((oc) => oc.columns(["repository_id", "scope", "key", "version"]).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { created: true, entry: toEntry(inserted) };
    const existing = await this.find(
      reservation.repositoryId,
      reservation.scope,
      reservation.key,
      reservation.version,
    );
    // Removed between the insert and the read: try again.
    if (!existing) return this.reserve(reservation, now);
    return { created: false, existing };
  }

  async byId(id: number): Promise<CacheEntry | undefined> {
    const row = await this.db.selectFrom("caches").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toEntry(row);
  }

  /** The entry (reserved or committed) of a key and version in a scope. */
  async find(
    repositoryId: number,
    scope: string,
    key: string,
    version: string,
  ): Promise<CacheEntry | undefined> {
    const row = await this.db
      .selectFrom("caches")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("scope", "=", scope)
      .where("key", "=", key)
      .where("version", "=", version)
      .executeTakeFirst();
    return row && toEntry(row);
  }

  /** Committed entries of a repository in any of `scopes` (with `version`, when given). */
  async committedIn(
    repositoryId: number,
    scopes: readonly string[],
    version?: string,
  ): Promise<CacheEntry[]> {
    if (scopes.length === 0) return [];
    let query = this.db
      .selectFrom("caches")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("status", "=", "committed")
      .where("scope", "in", [...scopes]);
    if (version !== undefined) query = query.where("version", "=", version);
    return (await query.execute()).map(toEntry);
  }

  /** A repository's committed entries, most recently used first. */
  async list(repositoryId: number): Promise<CacheEntry[]> {
    const rows = await this.db
      .selectFrom("caches")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("status", "=", "committed")
      .orderBy("last_used_at", "desc")
      .orderBy("id", "desc")
      .execute();
    return rows.map(toEntry);
  }

  /** A repository's reservations (uploads not committed yet). */
  async reserved(repositoryId: number): Promise<CacheEntry[]> {
    const rows = await this.db
      .selectFrom("caches")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("status", "=", "reserved")
      .execute();
    return rows.map(toEntry);
  }

  async totalSize(repositoryId: number): Promise<number> {
    const row = await this.db
      .selectFrom("caches")
      .select((eb) => eb.fn.sum<number>("size").as("total"))
      .where("repository_id", "=", repositoryId)
      .where("status", "=", "committed")
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  /** The committed entry used longest ago (the next to evict). */
  async leastRecentlyUsed(repositoryId: number): Promise<CacheEntry | undefined> {
    const row = await this.db
      .selectFrom("caches")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("status", "=", "committed")
      .orderBy("last_used_at", "asc")
      .orderBy("id", "asc")
      .executeTakeFirst();
    return row && toEntry(row);
  }

  async touch(id: number, now: number = Date.now()): Promise<void> {
    await this.db
      .updateTable("caches")
      .set({ last_used_at: timestamp(now) })
      .where("id", "=", id)
      .execute();
  }

  /** Makes a reserved entry visible with its size; false when it was not reserved (any more). */
  async commit(id: number, size: number, now: number = Date.now()): Promise<boolean> {
    const result = await this.db
      .updateTable("caches")
      .set({ status: "committed", size, last_used_at: timestamp(now) })
      .where("id", "=", id)
      .where("status", "=", "reserved")
      .executeTakeFirst();
    await this.db.deleteFrom("cache_parts").where("cache_id", "=", id).execute();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Records a part of an upload; a part sent again at the same offset replaces the first. */
  async addPart(cacheId: number, part: CachePart): Promise<void> {
    await this.db
      .insertInto("cache_parts")
      .values({ cache_id: cacheId, start: part.start, size: part.size, blob: part.blob })
      .onConflict((oc) => oc.columns(["cache_id", "start"]).doUpdateSet({ size: part.size, blob: part.blob }))
      .execute();
  }

  /** The parts of an upload, by offset. */
  async parts(cacheId: number): Promise<CachePart[]> {
    const rows = await this.db
      .selectFrom("cache_parts")
      .select(["start", "size", "blob"])
      .where("cache_id", "=", cacheId)
      .orderBy("start", "asc")
      .execute();
    return rows.map((r) => ({ start: Number(r.start), size: Number(r.size), blob: r.blob }));
  }

  /** Removes the entry and its parts' records (the caller removes the blobs). */
  async remove(id: number): Promise<void> {
    await this.db.deleteFrom("cache_parts").where("cache_id", "=", id).execute();
    await this.db.deleteFrom("caches").where("id", "=", id).execute();
  }
}

function toEntry(row: Selectable<CachesTable>): CacheEntry {
  return {
    id: Number(row.id),
    repositoryId: Number(row.repository_id),
    scope: row.scope,
    key: row.key,
    version: row.version,
    status: row.status === "committed" ? "committed" : "reserved",
    size: Number(row.size),
    blob: row.blob,
    jobId: Number(row.job_id),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}
