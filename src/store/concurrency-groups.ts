/**
 * Concurrency groups, as GitHub keeps them per repository: at most one holder running and one
 * pending. A newcomer takes the free slot, or becomes the pending one and displaces the pending one
 * before it; with cancel-in-progress it also asks that the running one be cancelled. Each change is
 * a compare-and-set on the group's row, retried when another process changed it first, so several
 * server processes never let two holders run at once.
 */
import type { Kysely } from "kysely";
import { timestamp } from "./counters.js";
import type { Database } from "./schema.js";

/** `run:<run id>:<attempt>` or `job:<run id>:<attempt>:<job key>`. */
export type Holder = string;

export interface GroupState {
  readonly running: Holder | null;
  readonly pending: Holder | null;
}

export interface Enqueued {
  /** The newcomer holds the group and may run now. */
  readonly runsNow: boolean;
  /** The pending holder the newcomer displaced: it ends cancelled. */
  readonly displaced?: Holder;
  /** The running holder to cancel (cancel-in-progress). */
  readonly cancelRunning?: Holder;
}

export function runHolder(runId: number, attempt: number): Holder {
  return `run:${runId}:${attempt}`;
}

export function jobHolder(runId: number, attempt: number, jobKey: string): Holder {
  return `job:${runId}:${attempt}:${jobKey}`;
}

export type ParsedHolder =
  | { readonly kind: "run"; readonly runId: number; readonly attempt: number }
  | { readonly kind: "job"; readonly runId: number; readonly attempt: number; readonly jobKey: string };

export function parseHolder(holder: Holder): ParsedHolder | undefined {
  const [kind, run, attempt, ...key] = holder.split(":");
  const runId = Number(run);
  const attemptNumber = Number(attempt);
  if (!Number.isInteger(runId) || !Number.isInteger(attemptNumber)) return undefined;
  if (kind === "run") return { kind, runId, attempt: attemptNumber };
  if (kind === "job" && key.length > 0) return { kind, runId, attempt: attemptNumber, jobKey: key.join(":") };
  return undefined;
}

/** How many times a compare-and-set is retried before giving up (only under absurd contention). */
const MAX_TRIES = 1_000;

export class ConcurrencyGroupStore {
  constructor(private readonly db: Kysely<Database>) {}

  async state(repositoryId: number, name: string): Promise<GroupState> {
    const row = await this.db
      .selectFrom("concurrency_groups")
      .select(["running", "pending"])
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .executeTakeFirst();
    return row ?? { running: null, pending: null };
  }

  /** Adds `holder` to the group (again: the same answer, nothing changes). */
  async enqueue(
    repositoryId: number,
    name: string,
    holder: Holder,
    cancelInProgress: boolean,
  ): Promise<Enqueued> {
    await this.db
      .insertInto("concurrency_groups")
      .values({ repository_id: repositoryId, name, running: null, pending: null, updated_at: timestamp() })
      .onConflict((oc) => oc.columns(["repository_id", "name"]).doNothing())
      .execute();
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const before = await this.state(repositoryId, name);
      if (before.running === holder) return { runsNow: true };
      if (before.pending === holder) return { runsNow: false };
      const after: GroupState =
        before.running === null
          ? { running: holder, pending: null }
          : { running: before.running, pending: holder };
      if (await this.swap(repositoryId, name, before, after)) {
        return {
          runsNow: after.running === holder,
          ...(before.pending === null ? {} : { displaced: before.pending }),
          ...(cancelInProgress && before.running !== null ? { cancelRunning: before.running } : {}),
        };
      }
    }
    throw new Error(`concurrency group '${name}' kept changing under contention`);
  }

  /**
   * `holder` is done (finished, or cancelled before it ran). When it was running, the pending holder
   * takes its place and is returned: the caller starts it.
   */
  async release(repositoryId: number, name: string, holder: Holder): Promise<Holder | undefined> {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const before = await this.state(repositoryId, name);
      let after: GroupState;
      if (before.running === holder) after = { running: before.pending, pending: null };
      else if (before.pending === holder) after = { running: before.running, pending: null };
      else return undefined;
      if (await this.swap(repositoryId, name, before, after)) {
        return before.running === holder ? (after.running ?? undefined) : undefined;
      }
    }
    throw new Error(`concurrency group '${name}' kept changing under contention`);
  }

  private async swap(
    repositoryId: number,
    name: string,
    before: GroupState,
    after: GroupState,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("concurrency_groups")
      .set({ running: after.running, pending: after.pending, updated_at: timestamp() })
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .where("running", before.running === null ? "is" : "=", before.running)
      .where("pending", before.pending === null ? "is" : "=", before.pending)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
