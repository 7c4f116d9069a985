/**
 * Secrets (ciphertexts only: encryption lives in src/server/secrets) and variables, by scope. A
 * scope is (repository id, environment): 0 and '' for the organisation, '' for a whole repository.
 */
import type { Kysely } from "kysely";
import { nextValue, timestamp } from "./counters.js";
import type { Database } from "./schema.js";

export interface StoredScope {
  readonly repositoryId: number;
  readonly environment: string;
}

/** What a listing shows: never a secret's value. */
export interface NamedEntry {
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface StoredSecret extends NamedEntry {
  readonly scope: StoredScope;
  readonly ciphertext: string;
}

export interface StoredVariable extends NamedEntry {
  readonly value: string;
}

type Table = "secrets" | "variables";

/** Inserts or replaces an entry; `created` tells which (for the audit log and a 201 or 204). */
async function upsert(
  db: Kysely<Database>,
  table: Table,
  scope: StoredScope,
  name: string,
  field: { readonly ciphertext: string } | { readonly value: string },
): Promise<{ created: boolean }> {
  const at = timestamp();
  const updated = await db
    .updateTable(table)
    .set({ ...field, updated_at: at } as never)
    .where("repository_id", "=", scope.repositoryId)
    .where("environment", "=", scope.environment)
    .where("name", "=", name)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) return { created: false };
  const id = await nextValue(db, table);
  const inserted = await db
    .insertInto(table)
    .values({
      id,
      repository_id: scope.repositoryId,
      environment: scope.environment,
      name,
      ...field,
      created_at: at,
      updated_at: at,
    } as never)
    .onConflict((oc) =>
      oc.columns(["repository_id", "environment", "name"]).doUpdateSet({ ...field, updated_at: at } as never),
    )
    .executeTakeFirst();
  return { created: Number(inserted.numInsertedOrUpdatedRows ?? 1n) > 0 };
}

async function remove(
  db: Kysely<Database>,
  table: Table,
  scope: StoredScope,
  name: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom(table)
    .where("repository_id", "=", scope.repositoryId)
    .where("environment", "=", scope.environment)
    .where("name", "=", name)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export class SecretStore {
  constructor(private readonly db: Kysely<Database>) {}

  put(scope: StoredScope, name: string, ciphertext: string): Promise<{ created: boolean }> {
    return upsert(this.db, "secrets", scope, name, { ciphertext });
  }

  remove(scope: StoredScope, name: string): Promise<boolean> {
    return remove(this.db, "secrets", scope, name);
  }

  /** Names and dates of a scope's secrets, by name. */
  async list(scope: StoredScope): Promise<NamedEntry[]> {
    const rows = await this.db
      .selectFrom("secrets")
      .select(["name", "created_at", "updated_at"])
      .where("repository_id", "=", scope.repositoryId)
      .where("environment", "=", scope.environment)
      .orderBy("name")
      .execute();
    return rows.map((row) => ({ name: row.name, createdAt: row.created_at, updatedAt: row.updated_at }));
  }

  /** Every secret of a scope with its ciphertext (for a job's lease). */
  async ciphertexts(scope: StoredScope): Promise<StoredSecret[]> {
    const rows = await this.db
      .selectFrom("secrets")
      .selectAll()
      .where("repository_id", "=", scope.repositoryId)
      .where("environment", "=", scope.environment)
      .orderBy("name")
      .execute();
    return rows.map((row) => ({
      scope,
      name: row.name,
      ciphertext: row.ciphertext,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }
}

export class VariableStore {
  constructor(private readonly db: Kysely<Database>) {}

  put(scope: StoredScope, name: string, value: string): Promise<{ created: boolean }> {
    return upsert(this.db, "variables", scope, name, { value });
  }

  remove(scope: StoredScope, name: string): Promise<boolean> {
    return remove(this.db, "variables", scope, name);
  }

  async list(scope: StoredScope): Promise<StoredVariable[]> {
    const rows = await this.db
      .selectFrom("variables")
      .selectAll()
      .where("repository_id", "=", scope.repositoryId)
      .where("environment", "=", scope.environment)
      .orderBy("name")
      .execute();
    return rows.map((row) => ({
      name: row.name,
      value: row.value,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }
}
