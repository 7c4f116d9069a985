/**
 * The schema's history, applied in order by Kysely's migrator. Written with Kysely's schema builder
 * and portable types only (integer, text), so the same migrations run on SQLite and PostgreSQL.
 * Never edit a migration that has shipped: add the next one.
 */
import type { Kysely, Migration, MigrationProvider } from "kysely";
import { artifactsMigration } from "./migrations/0003_artifacts.js";
import { cachesMigration } from "./migrations/0004_caches.js";
import { secretsMigration } from "./migrations/0005_secrets.js";
import { environmentsMigration } from "./migrations/0006_environments.js";
import { commitStatusesMigration } from "./migrations/0007_commit_statuses.js";
import { jobNotesMigration } from "./migrations/0008_job_notes.js";
import { packedLogChunksMigration } from "./migrations/0009_packed_log_chunks.js";

const migrations: Record<string, Migration> = {
  "0001_server": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("counters")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("value", "integer", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("users")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("login", "text", (c) => c.notNull().unique())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("is_admin", "integer", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("tokens")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("user_id", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_used_at", "text")
        .addColumn("revoked_at", "text")
        .execute();
      await db.schema
        .createTable("runner_registrations")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("revoked_at", "text")
        .execute();
      await db.schema
        .createTable("runners")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("capacity", "integer", (c) => c.notNull())
        .addColumn("os", "text", (c) => c.notNull())
        .addColumn("arch", "text", (c) => c.notNull())
        .addColumn("credential_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_seen_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("repositories")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("owner", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("default_branch", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("remote_url", "text")
        .addColumn("webhook_secret", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addUniqueConstraint("repositories_owner_name", ["owner", "name"])
        .execute();
      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("repository_id", "integer", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("received_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("runs")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("repository_id", "integer", (c) => c.notNull())
        .addColumn("workflow_path", "text", (c) => c.notNull())
        .addColumn("workflow_name", "text", (c) => c.notNull())
        .addColumn("run_number", "integer", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("ref", "text", (c) => c.notNull())
        .addColumn("sha", "text", (c) => c.notNull())
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("title", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("conclusion", "text")
        .addColumn("definition", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("started_at", "text")
        .addColumn("finished_at", "text")
        .execute();
      await db.schema.createIndex("runs_repository").on("runs").columns(["repository_id", "id"]).execute();
      await db.schema.createIndex("runs_status").on("runs").columns(["status"]).execute();
      await db.schema
        .createTable("run_attempts")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("conclusion", "text")
        .addColumn("kept_jobs", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .addPrimaryKeyConstraint("run_attempts_pk", ["run_id", "attempt"])
        .execute();
      await db.schema
        .createTable("engine_inputs")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("job_key", "text")
        .addColumn("outcome", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("engine_inputs_pk", ["run_id", "attempt", "seq"])
        .execute();
      await db.schema
        .createTable("jobs")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("job_key", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("conclusion", "text")
        .addColumn("labels", "text", (c) => c.notNull())
        .addColumn("assignment", "text", (c) => c.notNull())
        .addColumn("runner_id", "integer")
        .addColumn("lease_expires_at", "text")
        .addColumn("cancel_requested", "integer", (c) => c.notNull())
        .addColumn("acknowledged_seq", "integer", (c) => c.notNull())
        .addColumn("outputs", "text")
        .addColumn("reason", "text")
        .addColumn("kept", "integer", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("started_at", "text")
        .addColumn("finished_at", "text")
        .addUniqueConstraint("jobs_run_attempt_key", ["run_id", "attempt", "job_key"])
        .execute();
      await db.schema.createIndex("jobs_status").on("jobs").columns(["status", "id"]).execute();
      await db.schema.createIndex("jobs_runner").on("jobs").columns(["runner_id", "status"]).execute();
      await db.schema
        .createTable("steps")
        .addColumn("job_id", "integer", (c) => c.notNull())
        .addColumn("number", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("conclusion", "text")
        .addColumn("started_at", "text")
        .addColumn("finished_at", "text")
        .addPrimaryKeyConstraint("steps_pk", ["job_id", "number"])
        .execute();
      await db.schema
        .createTable("log_chunks")
        .addColumn("job_id", "integer", (c) => c.notNull())
        .addColumn("first_seq", "integer", (c) => c.notNull())
        .addColumn("last_seq", "integer", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("log_chunks_pk", ["job_id", "first_seq"])
        .execute();
    },
  },
  "0002_archived_logs": {
    async up(db: Kysely<unknown>): Promise<void> {
      // A finished job's log moves from log_chunks into one compressed blob named here.
      await db.schema.alterTable("jobs").addColumn("log_blob", "text").execute();
    },
  },
  "0003_artifacts": artifactsMigration,
  "0004_caches": cachesMigration,
  "0005_secrets": secretsMigration,
  "0006_environments": environmentsMigration,
  "0007_commit_statuses": commitStatusesMigration,
  "0008_job_notes": jobNotesMigration,
  "0009_packed_log_chunks": packedLogChunksMigration,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
