/**
 * The notes index: each job's annotations and step summaries, copied out of its event stream in the
 * same transaction that stores the rows, so listing a run's annotations costs a query, not a read
 * of every job's log. GitHub shows at most 50 annotations a job and drops the rest silently;
 * Conveyor keeps many more and counts what it leaves out.
 */
import type { Kysely } from "kysely";
import type { Annotation, RunEvent, StepSummary } from "../engine/events.js";
import type { Database } from "./schema.js";

/** Annotations kept per job; past this they are counted (`annotations_omitted`), not stored. */
export const MAX_ANNOTATIONS_PER_JOB = 1000;

/** What the index holds of one job. */
export interface JobNotes {
  readonly annotations: readonly { readonly seq: number; readonly event: Annotation }[];
  readonly summaries: readonly { readonly seq: number; readonly event: StepSummary }[];
  readonly annotationsOmitted: number;
}

/** Copies the notes among `rows` into the index; call inside the transaction storing them. */
export async function indexNotes(
  db: Kysely<Database>,
  jobId: number,
  rows: readonly { readonly seq: number; readonly event: RunEvent }[],
): Promise<void> {
  const notes = rows.filter((r) => r.event.type === "annotation" || r.event.type === "step-summary");
  if (notes.length === 0) return;
  let room = Infinity;
  if (notes.some((r) => r.event.type === "annotation")) {
    const held = await db
      .selectFrom("job_notes")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("job_id", "=", jobId)
      .where("kind", "=", "annotation")
      .executeTakeFirst();
    room = MAX_ANNOTATIONS_PER_JOB - Number(held?.n ?? 0);
  }
  const kept = [];
  let omitted = 0;
  for (const row of notes) {
    if (row.event.type === "annotation") {
      if (room <= 0) {
        omitted++;
        continue;
      }
      room--;
    }
    kept.push({ job_id: jobId, seq: row.seq, kind: row.event.type, body: JSON.stringify(row.event) });
  }
  // A resent chunk is filtered before it gets here; the conflict clause is a second guard.
  if (kept.length > 0) {
    await db
      .insertInto("job_notes")
      .values(kept)
      .onConflict((oc) => oc.columns(["job_id", "seq"]).doNothing())
      .execute();
  }
  if (omitted > 0) {
    await db
      .updateTable("jobs")
      .set((eb) => ({ annotations_omitted: eb("annotations_omitted", "+", omitted) }))
      .where("id", "=", jobId)
      .execute();
  }
}

/** JobNotes while they are gathered. */
interface HeldNotes extends JobNotes {
  readonly annotations: { readonly seq: number; readonly event: Annotation }[];
  readonly summaries: { readonly seq: number; readonly event: StepSummary }[];
}

export class JobNoteStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The notes of these jobs, by job id, in log order. Jobs older than the index (created before
   * the migration that added it) are missing from the answer: read their logs instead.
   */
  async forJobs(jobIds: readonly number[]): Promise<Map<number, JobNotes>> {
    const found = new Map<number, HeldNotes>();
    if (jobIds.length === 0) return found;
    const first = await this.firstIndexedJob();
    const indexed = jobIds.filter((id) => id >= first);
    if (indexed.length === 0) return found;
    const jobs = await this.db
      .selectFrom("jobs")
      .select(["id", "annotations_omitted"])
      .where("id", "in", indexed)
      .execute();
    const notes = await this.db
      .selectFrom("job_notes")
      .selectAll()
      .where("job_id", "in", indexed)
      .orderBy("job_id")
      .orderBy("seq")
      .execute();
    for (const job of jobs) {
      found.set(job.id, { annotations: [], summaries: [], annotationsOmitted: job.annotations_omitted });
    }
    for (const note of notes) {
      const held = found.get(note.job_id);
      const event = JSON.parse(note.body) as RunEvent;
      if (event.type === "annotation") held?.annotations.push({ seq: note.seq, event });
      else if (event.type === "step-summary") held?.summaries.push({ seq: note.seq, event });
    }
    return found;
  }

  /** The first job id the index covers (every job created after the migration that added it). */
  private async firstIndexedJob(): Promise<number> {
    const row = await this.db
      .selectFrom("counters")
      .select("value")
      .where("name", "=", "first_job_with_notes")
      .executeTakeFirst();
    return Number(row?.value ?? 0);
  }
}
