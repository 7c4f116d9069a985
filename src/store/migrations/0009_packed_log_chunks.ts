/**
 * A log chunk's rows stored gzip-compressed (`body_gzip`, with `body` left empty). Storing a
 * megabyte of log text was most of the server's work per request while a job printed fast, and a
 * finished log's archive is now the chunks' gzip members one after the other instead of the whole
 * log compressed again. Chunks stored before this keep their text in `body`.
 */
import { PostgresAdapter } from "kysely";
import type { Kysely, Migration } from "kysely";

export const packedLogChunksMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? "bytea" : "blob";
    await db.schema.alterTable("log_chunks").addColumn("body_gzip", bytes).execute();
  },
};
