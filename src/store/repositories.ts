/** Repositories (hosted or mirrored) and the webhook deliveries they received. */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { nextValue, timestamp } from "./counters.js";

export type RepositoryKind = "hosted" | "mirror";

export interface Repository {
  readonly id: number;
  readonly owner: string;
  readonly name: string;
  readonly fullName: string;
  readonly defaultBranch: string;
  readonly kind: RepositoryKind;
  readonly remoteUrl: string | null;
  /** Whether incoming webhooks are set up (the secret itself is never handed out). */
  readonly hasWebhookSecret: boolean;
  readonly createdAt: string;
}

export interface NewRepository {
  readonly owner: string;
  readonly name: string;
  readonly defaultBranch?: string;
  readonly kind?: RepositoryKind;
  readonly remoteUrl?: string;
  readonly webhookSecret?: string;
}

export class RepositoryStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates a repository; undefined when one of that name exists already. */
  async create(repository: NewRepository): Promise<Repository | undefined> {
    if (await this.byName(repository.owner, repository.name)) return undefined;
    const id = await nextValue(this.db, "repositories");
    const result = await this.db
      .insertInto("repositories")
      .values({
        id,
        owner: repository.owner,
        name: repository.name,
        default_branch: repository.defaultBranch ?? "main",
        kind: repository.kind ?? "hosted",
        remote_url: repository.remoteUrl ?? null,
        webhook_secret: repository.webhookSecret ?? null,
        created_at: timestamp(),
      })
      .onConflict((oc) => oc.columns(["owner", "name"]).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    return this.byId(id);
  }

  async byId(id: number): Promise<Repository | undefined> {
    const row = await this.db.selectFrom("repositories").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toRepository(row);
  }

  /** Names compare without case, as on GitHub. */
  async byName(owner: string, name: string): Promise<Repository | undefined> {
    const row = await this.db
      .selectFrom("repositories")
      .selectAll()
      .where((eb) => eb(eb.fn("lower", ["owner"]), "=", owner.toLowerCase()))
      .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
      .executeTakeFirst();
    return row && toRepository(row);
  }

  async list(): Promise<Repository[]> {
    const rows = await this.db
      .selectFrom("repositories")
      .selectAll()
      .orderBy("owner")
      .orderBy("name")
      .execute();
    return rows.map(toRepository);
  }

  async webhookSecret(id: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("repositories")
      .select("webhook_secret")
      .where("id", "=", id)
      .executeTakeFirst();
    return row?.webhook_secret ?? undefined;
  }

  async setDefaultBranch(id: number, branch: string): Promise<void> {
    await this.db.updateTable("repositories").set({ default_branch: branch }).where("id", "=", id).execute();
  }

  async remove(id: number): Promise<void> {
    await this.db.deleteFrom("repositories").where("id", "=", id).execute();
  }

  /** Records a webhook delivery; false when this delivery id was seen before (a redelivery). */
  async recordDelivery(id: string, repositoryId: number, event: string): Promise<boolean> {
    const result = await this.db
      .insertInto("webhook_deliveries")
      .values({ id, repository_id: repositoryId, event, received_at: timestamp() })
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

function toRepository(row: Database["repositories"]): Repository {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    fullName: `${row.owner}/${row.name}`,
    defaultBranch: row.default_branch,
    kind: row.kind === "mirror" ? "mirror" : "hosted",
    remoteUrl: row.remote_url,
    hasWebhookSecret: row.webhook_secret !== null,
    createdAt: row.created_at,
  };
}
