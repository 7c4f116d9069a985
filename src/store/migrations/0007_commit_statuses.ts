/**
 * Commit statuses (GitHub's statuses API): a state per context on a commit of a repository, set by
 * people or by jobs whose token has `statuses: write`; the newest per context is the current one.
 */
import type { Kysely, Migration } from "kysely";

export const commitStatusesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("commit_statuses")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("sha", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("context", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("target_url", "text")
      .addColumn("creator", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("commit_statuses_commit")
      .on("commit_statuses")
      .columns(["repository_id", "sha", "id"])
      .execute();
  },
};
