/**
 * Caches: entries by repository, scope (the ref that saved them), key and version, and the parts of
 * uploads in progress (the v1 API's ranged PATCH requests, assembled on commit).
 */
import type { Kysely, Migration } from "kysely";

export const cachesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("caches")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("version", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("size", "integer", (c) => c.notNull())
      .addColumn("blob", "text", (c) => c.notNull())
      .addColumn("job_id", "integer", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("last_used_at", "text", (c) => c.notNull())
      .addUniqueConstraint("caches_entry", ["repository_id", "scope", "key", "version"])
      .execute();
    await db.schema
      .createIndex("caches_version")
      .on("caches")
      .columns(["repository_id", "version"])
      .execute();
    await db.schema
      .createTable("cache_parts")
      .addColumn("cache_id", "integer", (c) => c.notNull())
      .addColumn("start", "integer", (c) => c.notNull())
      .addColumn("size", "integer", (c) => c.notNull())
      .addColumn("blob", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("cache_parts_pk", ["cache_id", "start"])
      .execute();
  },
};
