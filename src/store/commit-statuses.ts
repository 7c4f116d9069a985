/** Commit statuses: append-only; the newest of a context is its current state. */
import type { Kysely } from "kysely";
import { nextValue, timestamp } from "./counters.js";
import type { Database } from "./schema.js";

export type CommitState = "error" | "failure" | "pending" | "success";

export interface CommitStatus {
  readonly id: number;
  readonly sha: string;
  readonly state: CommitState;
  readonly context: string;
  readonly description: string | null;
  readonly targetUrl: string | null;
  readonly creator: string;
  readonly createdAt: string;
}

export type NewCommitStatus = Omit<CommitStatus, "id" | "createdAt"> & { readonly repositoryId: number };

/** GitHub keeps at most 1000 statuses per commit and context; so does Conveyor, per commit. */
export const MAX_STATUSES_PER_COMMIT = 1000;

export class CommitStatusStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a status; undefined when the commit already has the most it may keep. */
  async add(status: NewCommitStatus): Promise<CommitStatus | undefined> {
    const count = await this.db
      .selectFrom("commit_statuses")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("repository_id", "=", status.repositoryId)
      .where("sha", "=", status.sha)
      .executeTakeFirst();
    if (Number(count?.n ?? 0) >= MAX_STATUSES_PER_COMMIT) return undefined;
    const id = await nextValue(this.db, "commit_statuses");
    const createdAt = timestamp();
    await this.db
      .insertInto("commit_statuses")
      .values({
        id,
        repository_id: status.repositoryId,
        sha: status.sha,
        state: status.state,
        context: status.context,
        description: status.description,
        target_url: status.targetUrl,
        creator: status.creator,
        created_at: createdAt,
      })
      .execute();
    const { repositoryId: _repositoryId, ...rest } = status;
    return { ...rest, id, createdAt };
  }

  /** A commit's statuses, newest first. */
  async forCommit(repositoryId: number, sha: string): Promise<CommitStatus[]> {
    const rows = await this.db
      .selectFrom("commit_statuses")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("sha", "=", sha)
      .orderBy("id", "desc")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      sha: r.sha,
      state: r.state as CommitState,
      context: r.context,
      description: r.description,
      targetUrl: r.target_url,
      creator: r.creator,
      createdAt: r.created_at,
    }));
  }
}
