/**
 * Environments (their protection rules), deployments (one per job that names an environment, with
 * the rollbacks asked for) and concurrency groups (who runs, who is pending). Portable types only.
 */
import type { Kysely, Migration } from "kysely";

export const environmentsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("environments")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("reviewers", "text", (c) => c.notNull())
      .addColumn("prevent_self_review", "integer", (c) => c.notNull())
      .addColumn("wait_timer", "integer", (c) => c.notNull())
      .addColumn("deployment_policy", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addUniqueConstraint("environments_repository_name", ["repository_id", "name"])
      .execute();
    await db.schema
      .createTable("deployments")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("environment_id", "integer", (c) => c.notNull())
      .addColumn("run_id", "integer", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("job_key", "text", (c) => c.notNull())
      .addColumn("job_id", "integer")
      .addColumn("job_name", "text", (c) => c.notNull())
      .addColumn("ref", "text", (c) => c.notNull())
      .addColumn("sha", "text", (c) => c.notNull())
      .addColumn("creator", "text", (c) => c.notNull())
      .addColumn("approver", "text")
      .addColumn("review_comment", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("url", "text")
      .addColumn("rollback_of", "integer")
      .addColumn("wait_until", "text")
      .addColumn("reason", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addUniqueConstraint("deployments_job", ["run_id", "attempt", "job_key"])
      .execute();
    await db.schema
      .createIndex("deployments_environment")
      .on("deployments")
      .columns(["environment_id", "id"])
      .execute();
    await db.schema.createIndex("deployments_status").on("deployments").columns(["status"]).execute();
    await db.schema
      .createTable("deployment_rollbacks")
      .addColumn("run_id", "integer", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("job_key", "text", (c) => c.notNull())
      .addColumn("target_id", "integer", (c) => c.notNull())
      .addColumn("actor", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("deployment_rollbacks_pk", ["run_id", "attempt", "job_key"])
      .execute();
    await db.schema
      .createTable("concurrency_groups")
      .addColumn("repository_id", "integer", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("running", "text")
      .addColumn("pending", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("concurrency_groups_pk", ["repository_id", "name"])
      .execute();
  },
};
