/**
 * An index of each job's annotations and step summaries, written as the runner's rows are stored,
 * so a run page reads them without reading every job's whole log. Jobs created before this
 * migration have no index: `first_job_with_notes` tells readers to read those jobs' logs instead.
 */
import { sql } from "kysely";
import type { Kysely, Migration } from "kysely";

export const jobNotesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("job_notes")
      .addColumn("job_id", "integer", (c) => c.notNull())
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("job_notes_key", ["job_id", "seq"])
      .execute();
    await db.schema
      .alterTable("jobs")
      .addColumn("annotations_omitted", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`INSERT INTO counters (name, value) SELECT 'first_job_with_notes', COALESCE(MAX(id), 0) + 1 FROM jobs`.execute(
      db,
    );
  },
};
