/** Runs, their attempts, and the ordered inputs their engine is rebuilt from. */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { nextValue, timestamp } from "./counters.js";

export type RunStatus = "queued" | "in_progress" | "completed";
export type Conclusion = "success" | "failure" | "cancelled";

export interface RunRecord {
  readonly id: number;
  readonly repositoryId: number;
  readonly workflowPath: string;
  readonly workflowName: string;
  readonly runNumber: number;
  readonly attempt: number;
  readonly event: string;
  readonly ref: string;
  readonly sha: string;
  readonly actor: string;
  readonly title: string;
  readonly status: RunStatus;
  readonly conclusion: Conclusion | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface NewRun {
  readonly repositoryId: number;
  readonly workflowPath: string;
  readonly workflowName: string;
  readonly event: string;
  readonly ref: string;
  readonly sha: string;
  readonly actor: string;
  readonly title: string;
  /** JSON the engine is rebuilt from (src/server/run-definition.ts). */
  readonly definition: string;
}

export interface RunFilter {
  readonly repositoryId?: number;
  /** The workflow's file path or its name. */
  readonly workflow?: string;
  /** A branch name: runs whose ref is `refs/heads/<branch>`. */
  readonly branch?: string;
  readonly event?: string;
  readonly status?: RunStatus;
  readonly actor?: string;
  /** Runs with an id below this one (the cursor of the next page). */
  readonly before?: number;
  readonly limit?: number;
}

export interface EngineInput {
  readonly seq: number;
  readonly kind: "finished" | "cancel";
  readonly jobKey: string | null;
  /** JSON of the JobOutcome for `finished`. */
  readonly outcome: string | null;
}

export class RunStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates a run (numbered per workflow, as GitHub does) with its first attempt. */
  async create(run: NewRun): Promise<RunRecord> {
    return this.db.transaction().execute(async (trx) => {
      const id = await nextValue(trx, "runs");
      const runNumber = await nextValue(trx, `run_number:${run.repositoryId}:${run.workflowPath}`);
      const createdAt = timestamp();
      await trx
        .insertInto("runs")
        .values({
          id,
          repository_id: run.repositoryId,
          workflow_path: run.workflowPath,
          workflow_name: run.workflowName,
          run_number: runNumber,
          attempt: 1,
          event: run.event,
          ref: run.ref,
          sha: run.sha,
          actor: run.actor,
          title: run.title,
          status: "queued",
          conclusion: null,
          definition: run.definition,
          created_at: createdAt,
        })
        .execute();
      await trx
        .insertInto("run_attempts")
        .values({ run_id: id, attempt: 1, status: "queued", kept_jobs: "[]", created_at: createdAt })
        .execute();
      const { definition: _definition, ...rest } = run;
      return {
        ...rest,
        id,
        runNumber,
        attempt: 1,
        status: "queued",
        conclusion: null,
        createdAt,
        startedAt: null,
        finishedAt: null,
      };
    });
  }

  async byId(id: number): Promise<RunRecord | undefined> {
    const row = await this.db.selectFrom("runs").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toRun(row);
  }

  async definition(id: number): Promise<string | undefined> {
    const row = await this.db.selectFrom("runs").select("definition").where("id", "=", id).executeTakeFirst();
    return row?.definition;
  }

  /** Runs, newest first, filtered. */
  async list(filter: RunFilter = {}): Promise<RunRecord[]> {
    let query = this.db.selectFrom("runs").selectAll();
    if (filter.repositoryId !== undefined) query = query.where("repository_id", "=", filter.repositoryId);
    if (filter.workflow !== undefined) {
      const workflow = filter.workflow;
      query = query.where((eb) =>
        eb.or([eb("workflow_path", "=", workflow), eb("workflow_name", "=", workflow)]),
      );
    }
    if (filter.branch !== undefined) query = query.where("ref", "=", `refs/heads/${filter.branch}`);
    if (filter.event !== undefined) query = query.where("event", "=", filter.event);
    if (filter.status !== undefined) query = query.where("status", "=", filter.status);
    if (filter.actor !== undefined) query = query.where("actor", "=", filter.actor);
    if (filter.before !== undefined) query = query.where("id", "<", filter.before);
    const rows = await query
      .orderBy("id", "desc")
      .limit(filter.limit ?? 50)
      .execute();
    return rows.map(toRun);
  }

  /** Runs not yet completed (what a restarted server picks up again). */
  async unfinished(): Promise<RunRecord[]> {
    const rows = await this.db.selectFrom("runs").selectAll().where("status", "!=", "completed").execute();
    return rows.map(toRun);
  }

  async markStarted(id: number): Promise<void> {
    await this.db
      .updateTable("runs")
      .set({ status: "in_progress", started_at: timestamp() })
      .where("id", "=", id)
      .where("status", "=", "queued")
      .execute();
  }

  /** Ends an attempt and, when it is the run's latest, the run. Once only. */
  async markFinished(id: number, attempt: number, conclusion: Conclusion): Promise<boolean> {
    const at = timestamp();
    const result = await this.db
      .updateTable("run_attempts")
      .set({ status: "completed", conclusion, finished_at: at })
      .where("run_id", "=", id)
      .where("attempt", "=", attempt)
      .where("status", "!=", "completed")
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await this.db
      .updateTable("runs")
      .set({ status: "completed", conclusion, finished_at: at })
      .where("id", "=", id)
      .where("attempt", "=", attempt)
      .execute();
    return true;
  }

  /** A new attempt (a re-run); `keptJobs` are the job keys whose earlier results it keeps. */
  async newAttempt(id: number, keptJobs: readonly string[]): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const run = await trx
        .selectFrom("runs")
        .select("attempt")
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      const attempt = run.attempt + 1;
      const at = timestamp();
      await trx
        .insertInto("run_attempts")
        .values({
          run_id: id,
          attempt,
          status: "queued",
          kept_jobs: JSON.stringify(keptJobs),
          created_at: at,
        })
        .execute();
      await trx
        .updateTable("runs")
        .set({ attempt, status: "queued", conclusion: null, started_at: null, finished_at: null })
        .where("id", "=", id)
        .execute();
      return attempt;
    });
  }

  async keptJobs(id: number, attempt: number): Promise<string[]> {
    const row = await this.db
      .selectFrom("run_attempts")
      .select("kept_jobs")
      .where("run_id", "=", id)
      .where("attempt", "=", attempt)
      .executeTakeFirst();
    return row ? (JSON.parse(row.kept_jobs) as string[]) : [];
  }

  /** Appends what happened to the engine; its seq (1, 2, ...). */
  async appendInput(id: number, attempt: number, input: Omit<EngineInput, "seq">): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom("engine_inputs")
        .select((eb) => eb.fn.max<number>("seq").as("seq"))
        .where("run_id", "=", id)
        .where("attempt", "=", attempt)
        .executeTakeFirst();
      const seq = Number(last?.seq ?? 0) + 1;
      await trx
        .insertInto("engine_inputs")
        .values({
          run_id: id,
          attempt,
          seq,
          kind: input.kind,
          job_key: input.jobKey,
          outcome: input.outcome,
          created_at: timestamp(),
        })
        .execute();
      return seq;
    });
  }

  async inputs(id: number, attempt: number): Promise<EngineInput[]> {
    const rows = await this.db
      .selectFrom("engine_inputs")
      .selectAll()
      .where("run_id", "=", id)
      .where("attempt", "=", attempt)
      .orderBy("seq")
      .execute();
    return rows.map((r) => ({
      seq: r.seq,
      kind: r.kind === "cancel" ? "cancel" : "finished",
      jobKey: r.job_key,
      outcome: r.outcome,
    }));
  }
}

function toRun(row: Database["runs"]): RunRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    workflowPath: row.workflow_path,
    workflowName: row.workflow_name,
    runNumber: row.run_number,
    attempt: row.attempt,
    event: row.event,
    ref: row.ref,
    sha: row.sha,
    actor: row.actor,
    title: row.title,
    status: row.status as RunStatus,
    conclusion: row.conclusion as Conclusion | null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
