/**
 * Artifacts (GitHub's v4 results service): one row per upload of a run's artifact, pending until its
 * job finalizes it with the size and digest the server checked, then listed until it expires.
 */
import type { Kysely, Migration } from "kysely";

export const artifactsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("artifacts")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("run_id", "integer", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("job_id", "integer", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("mime_type", "text", (c) => c.notNull())
      .addColumn("size", "integer", (c) => c.notNull())
      .addColumn("digest", "text")
      .addColumn("blob", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("finalized_at", "text")
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("artifacts_run").on("artifacts").columns(["run_id", "name"]).execute();
    await db.schema.createIndex("artifacts_expiry").on("artifacts").columns(["expires_at"]).execute();
  },
};
