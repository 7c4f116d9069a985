/**
 * Deployments: one per job that names an environment, moving through queued/waiting/in_progress to
 * success/failure/cancelled; a newer success makes the older ones of its environment inactive, so
 * the environment's live deployment is its one success. Every change is a conditional update: any
 * server process may make it, and a second one changes nothing.
 */
import type { Kysely } from "kysely";
import { nextValue, timestamp } from "./counters.js";
import type { Database } from "./schema.js";

export type DeploymentStatus =
  "queued" | "waiting" | "in_progress" | "success" | "failure" | "cancelled" | "inactive";

export interface Deployment {
  readonly id: number;
  readonly repositoryId: number;
  readonly environmentId: number;
  readonly runId: number;
  readonly attempt: number;
  readonly jobKey: string;
  readonly jobId: number | null;
  readonly jobName: string;
  readonly ref: string;
  readonly sha: string;
  readonly creator: string;
  readonly approver: string | null;
  readonly reviewComment: string | null;
  readonly status: DeploymentStatus;
  readonly url: string | null;
  readonly rollbackOf: number | null;
  readonly waitUntil: string | null;
  readonly reason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface NewDeployment {
  readonly repositoryId: number;
  readonly environmentId: number;
  readonly runId: number;
  readonly attempt: number;
  readonly jobKey: string;
  readonly jobName: string;
  readonly ref: string;
  readonly sha: string;
  readonly creator: string;
  readonly status: "queued" | "waiting" | "failure";
  readonly rollbackOf: number | null;
  readonly waitUntil: string | null;
  readonly reason: string | null;
}

export interface RollbackRequest {
  readonly runId: number;
  readonly attempt: number;
  readonly jobKey: string;
  readonly targetId: number;
  readonly actor: string;
}

const FINISHED: readonly DeploymentStatus[] = ["success", "failure", "cancelled", "inactive"];

export class DeploymentStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records the deployment of a job once: a second call returns the first one's record.
   * `created` says whether this call made it (so that it is audited once, whatever the races).
   */
  async ensure(deployment: NewDeployment): Promise<{ deployment: Deployment; created: boolean }> {
    const existing = await this.byJob(deployment.runId, deployment.attempt, deployment.jobKey);
    if (existing) return { deployment: existing, created: false };
    const id = await nextValue(this.db, "deployments");
    const at = timestamp();
    const inserted = await this.db
      .insertInto("deployments")
      .values({
        id,
        repository_id: deployment.repositoryId,
        environment_id: deployment.environmentId,
        run_id: deployment.runId,
        attempt: deployment.attempt,
        job_key: deployment.jobKey,
        job_id: null,
        job_name: deployment.jobName,
        ref: deployment.ref,
        sha: deployment.sha,
        creator: deployment.creator,
        approver: null,
        review_comment: null,
        status: deployment.status,
        url: null,
        rollback_of: deployment.rollbackOf,
        wait_until: deployment.waitUntil,
        reason: deployment.reason,
        created_at: at,
        updated_at: at,
      })
      .onConflict((oc) => oc.columns(["run_id", "attempt", "job_key"]).doNothing())
      .executeTakeFirst();
    const stored = (await this.byJob(deployment.runId, deployment.attempt, deployment.jobKey)) as Deployment;
    return {
      deployment: stored,
      created: stored.id === id && Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0,
    };
  }

  async byId(id: number): Promise<Deployment | undefined> {
    const row = await this.db.selectFrom("deployments").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toDeployment(row);
  }

  async byJob(runId: number, attempt: number, jobKey: string): Promise<Deployment | undefined> {
    const row = await this.db
      .selectFrom("deployments")
      .selectAll()
      .where("run_id", "=", runId)
      .where("attempt", "=", attempt)
      .where("job_key", "=", jobKey)
      .executeTakeFirst();
    return row && toDeployment(row);
  }

  async byJobId(jobId: number): Promise<Deployment | undefined> {
    const row = await this.db
      .selectFrom("deployments")
      .selectAll()
      .where("job_id", "=", jobId)
      .executeTakeFirst();
    return row && toDeployment(row);
  }

  async setJobId(id: number, jobId: number): Promise<void> {
    await this.db.updateTable("deployments").set({ job_id: jobId }).where("id", "=", id).execute();
  }

  /** Moves the deployment from one of `from` to `to`; false when it was elsewhere already. */
  async move(
    id: number,
    from: readonly DeploymentStatus[],
    to: DeploymentStatus,
    fields: { reason?: string; url?: string | null } = {},
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("deployments")
      .set({
        status: to,
        updated_at: timestamp(),
        ...(fields.reason === undefined ? {} : { reason: fields.reason }),
        ...(fields.url === undefined ? {} : { url: fields.url }),
      })
      .where("id", "=", id)
      .where("status", "in", [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The job of a queued deployment was taken by a runner. */
  async started(jobId: number): Promise<void> {
    await this.db
      .updateTable("deployments")
      .set({ status: "in_progress", updated_at: timestamp() })
      .where("job_id", "=", jobId)
      .where("status", "=", "queued")
      .execute();
  }

  /** Records the approval of a waiting deployment (once: a second reviewer changes nothing). */
  async approve(id: number, approver: string, comment: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable("deployments")
      .set({ approver, review_comment: comment, updated_at: timestamp() })
      .where("id", "=", id)
      .where("status", "=", "waiting")
      .where("approver", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Ends a waiting deployment as rejected: failed, with the reviewer and their comment. */
  async reject(id: number, reviewer: string, comment: string | null, reason: string): Promise<boolean> {
    const result = await this.db
      .updateTable("deployments")
      .set({
        status: "failure",
        approver: reviewer,
        review_comment: comment,
        reason,
        updated_at: timestamp(),
      })
      .where("id", "=", id)
      .where("status", "=", "waiting")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Ends a deployment with its job. A success becomes the environment's live deployment: the
   * environment's other successes become inactive, in the same transaction.
   */
  async finish(
    id: number,
    status: "success" | "failure" | "cancelled",
    url: string | null,
    reason?: string,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const at = timestamp();
      const result = await trx
        .updateTable("deployments")
        .set({ status, url, updated_at: at, ...(reason === undefined ? {} : { reason }) })
        .where("id", "=", id)
        .where("status", "not in", [...FINISHED])
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      if (status === "success") {
        const row = await trx
          .selectFrom("deployments")
          .select("environment_id")
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        await trx
          .updateTable("deployments")
          .set({ status: "inactive", updated_at: at })
          .where("environment_id", "=", row.environment_id)
          .where("status", "=", "success")
          .where("id", "!=", id)
          .execute();
      }
      return true;
    });
  }

  /** An environment's deployments, newest first (`before`: the id of the previous page's last). */
  async history(environmentId: number, limit = 50, before?: number): Promise<Deployment[]> {
    let query = this.db.selectFrom("deployments").selectAll().where("environment_id", "=", environmentId);
    if (before !== undefined) query = query.where("id", "<", before);
    const rows = await query.orderBy("id", "desc").limit(limit).execute();
    return rows.map(toDeployment);
  }

  /** What is live in the environment now: its successful deployment, if any. */
  async live(environmentId: number): Promise<Deployment | undefined> {
    const row = await this.db
      .selectFrom("deployments")
      .selectAll()
      .where("environment_id", "=", environmentId)
      .where("status", "=", "success")
      .orderBy("id", "desc")
      .executeTakeFirst();
    return row && toDeployment(row);
  }

  /** Deployments waiting for their protection rules, oldest first; of one run when given. */
  async waiting(runId?: number): Promise<Deployment[]> {
    let query = this.db.selectFrom("deployments").selectAll().where("status", "=", "waiting");
    if (runId !== undefined) query = query.where("run_id", "=", runId);
    const rows = await query.orderBy("id").execute();
    return rows.map(toDeployment);
  }

  async forRun(runId: number): Promise<Deployment[]> {
    const rows = await this.db
      .selectFrom("deployments")
      .selectAll()
      .where("run_id", "=", runId)
      .orderBy("id")
      .execute();
    return rows.map(toDeployment);
  }

  /** Notes that the job `jobKey` of the attempt redeploys `targetId` (once). */
  async requestRollback(request: RollbackRequest): Promise<void> {
    await this.db
      .insertInto("deployment_rollbacks")
      .values({
        run_id: request.runId,
        attempt: request.attempt,
        job_key: request.jobKey,
        target_id: request.targetId,
        actor: request.actor,
        created_at: timestamp(),
      })
      .onConflict((oc) => oc.columns(["run_id", "attempt", "job_key"]).doNothing())
      .execute();
  }

  async rollbackFor(runId: number, attempt: number, jobKey: string): Promise<RollbackRequest | undefined> {
    const row = await this.db
      .selectFrom("deployment_rollbacks")
      .selectAll()
      .where("run_id", "=", runId)
      .where("attempt", "=", attempt)
      .where("job_key", "=", jobKey)
      .executeTakeFirst();
    return (
      row && {
        runId: row.run_id,
        attempt: row.attempt,
        jobKey: row.job_key,
        targetId: row.target_id,
        actor: row.actor,
      }
    );
  }
}

function toDeployment(row: Database["deployments"]): Deployment {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    environmentId: row.environment_id,
    runId: row.run_id,
    attempt: row.attempt,
    jobKey: row.job_key,
    jobId: row.job_id,
    jobName: row.job_name,
    ref: row.ref,
    sha: row.sha,
    creator: row.creator,
    approver: row.approver,
    reviewComment: row.review_comment,
    status: row.status as DeploymentStatus,
    url: row.url,
    rollbackOf: row.rollback_of,
    waitUntil: row.wait_until,
    reason: row.reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
