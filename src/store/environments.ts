/** Environments of a repository: created on first use or ahead of time, each with its protection rules. */
import type { Kysely } from "kysely";
import { nextValue, timestamp } from "./counters.js";
import type { Database } from "./schema.js";

/** Which refs may deploy (GitHub's "selected branches and tags"): patterns as in `on.push.branches`. */
export interface DeploymentPolicy {
  readonly branches: readonly string[];
  readonly tags: readonly string[];
}

export interface ProtectionRules {
  /** Logins of the people who may approve; empty means no approval is needed. */
  readonly reviewers: readonly string[];
  /** The person who started the deployment may not approve it. */
  readonly preventSelfReview: boolean;
  /** Minutes from when the job asked to deploy until it may (0: none). */
  readonly waitTimerMinutes: number;
  /** null: any ref may deploy. */
  readonly policy: DeploymentPolicy | null;
}

export interface Environment extends ProtectionRules {
  readonly id: number;
  readonly repositoryId: number;
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The rules an environment starts with (continuous deployment: nothing holds a job back). */
export const NO_RULES: ProtectionRules = {
  reviewers: [],
  preventSelfReview: false,
  waitTimerMinutes: 0,
  policy: null,
};

export class EnvironmentStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(repositoryId: number): Promise<Environment[]> {
    const rows = await this.db
      .selectFrom("environments")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .orderBy("name")
      .execute();
    return rows.map(toEnvironment);
  }

  async byName(repositoryId: number, name: string): Promise<Environment | undefined> {
    const row = await this.db
      .selectFrom("environments")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .executeTakeFirst();
    return row && toEnvironment(row);
  }

  async byId(id: number): Promise<Environment | undefined> {
    const row = await this.db.selectFrom("environments").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toEnvironment(row);
  }

  /** The environment, created without rules when it does not exist yet (a job's first use). */
  async ensure(repositoryId: number, name: string): Promise<Environment> {
    const existing = await this.byName(repositoryId, name);
    if (existing) return existing;
    const id = await nextValue(this.db, "environments");
    const at = timestamp();
    await this.db
      .insertInto("environments")
      .values({
        id,
        repository_id: repositoryId,
        name,
        ...rulesRow(NO_RULES),
        created_at: at,
        updated_at: at,
      })
      .onConflict((oc) => oc.columns(["repository_id", "name"]).doNothing())
      .execute();
    return (await this.byName(repositoryId, name)) as Environment;
  }

  /** Creates or replaces the environment's rules; the environment afterwards. */
  async save(repositoryId: number, name: string, rules: ProtectionRules): Promise<Environment> {
    await this.ensure(repositoryId, name);
    await this.db
      .updateTable("environments")
      .set({ ...rulesRow(rules), updated_at: timestamp() })
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .execute();
    return (await this.byName(repositoryId, name)) as Environment;
  }

  /** Removes the environment; its deployments stay as history. */
  async remove(repositoryId: number, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("environments")
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

function rulesRow(rules: ProtectionRules) {
  return {
    reviewers: JSON.stringify(rules.reviewers),
    prevent_self_review: rules.preventSelfReview ? 1 : 0,
    wait_timer: rules.waitTimerMinutes,
    deployment_policy: rules.policy ? JSON.stringify(rules.policy) : null,
  };
}

function toEnvironment(row: Database["environments"]): Environment {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    name: row.name,
    reviewers: JSON.parse(row.reviewers) as string[],
    preventSelfReview: row.prevent_self_review === 1,
    waitTimerMinutes: row.wait_timer,
    policy: row.deployment_policy === null ? null : (JSON.parse(row.deployment_policy) as DeploymentPolicy),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
