/**
 * Secrets (encrypted), variables (plain) and the audit log. A scope is (repository_id, environment):
 * 0 and '' for the organisation, the repository's id and '' for a repository, both for an
 * environment. No NULLs in the unique key, so the constraint holds on SQLite and PostgreSQL alike.
 */
import type { Kysely, Migration } from "kysely";

export const secretsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("secrets")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("environment", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("ciphertext", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addUniqueConstraint("secrets_scope_name", ["repository_id", "environment", "name"])
      .execute();
    await db.schema
      .createTable("variables")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("environment", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addUniqueConstraint("variables_scope_name", ["repository_id", "environment", "name"])
      .execute();
    await db.schema
      .createTable("audit_events")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("actor", "text")
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("target", "text", (c) => c.notNull())
      .addColumn("details", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("audit_events_action").on("audit_events").columns(["action", "id"]).execute();
  },
};
