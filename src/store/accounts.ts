/** Users, their API tokens, runner registration tokens and runners. */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { nextValue, timestamp } from "./counters.js";
import { hashPassword, hashSecretToken, newSecretToken, sameDigest, verifyPassword } from "./credentials.js";

export interface User {
  readonly id: number;
  readonly login: string;
  readonly isAdmin: boolean;
}

export interface TokenInfo {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface Runner {
  readonly id: number;
  readonly name: string;
  readonly labels: readonly string[];
  readonly capacity: number;
  readonly os: string;
  readonly arch: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
}

export interface NewRunner {
  readonly name: string;
  readonly labels: readonly string[];
  readonly capacity: number;
  readonly os: string;
  readonly arch: string;
}

/** Token prefixes: a leaked token says what it is (and secret scanners can find it). */
export const TOKEN_PREFIX = { api: "cvt_", runner: "cvr_", registration: "cvg_" } as const;

export class AccountStore {
  constructor(private readonly db: Kysely<Database>) {}

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom("users")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Creates a user; undefined when the login is taken (whatever its case). */
  async createUser(login: string, password: string, isAdmin: boolean): Promise<User | undefined> {
    const taken = await this.db
      .selectFrom("users")
      .select("id")
      .where((eb) => eb(eb.fn("lower", ["login"]), "=", login.toLowerCase()))
      .executeTakeFirst();
    if (taken) return undefined;
    const id = await nextValue(this.db, "users");
    await this.db
      .insertInto("users")
      .values({
        id,
        login,
        password_hash: await hashPassword(password),
        is_admin: isAdmin ? 1 : 0,
        created_at: timestamp(),
      })
      .execute();
    return { id, login, isAdmin };
  }

  async userById(id: number): Promise<User | undefined> {
    const row = await this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
    return row && { id: row.id, login: row.login, isAdmin: row.is_admin === 1 };
  }

  /** The user when `password` is theirs; undefined for an unknown login or a wrong password alike. */
  async checkPassword(login: string, password: string): Promise<User | undefined> {
    const row = await this.db.selectFrom("users").selectAll().where("login", "=", login).executeTakeFirst();
    if (!row || !(await verifyPassword(password, row.password_hash))) return undefined;
    return { id: row.id, login: row.login, isAdmin: row.is_admin === 1 };
  }

  /** A new API token; the only time its value is seen. */
  async createToken(userId: number, name: string): Promise<{ token: string; info: TokenInfo }> {
    const token = newSecretToken(TOKEN_PREFIX.api);
    const id = await nextValue(this.db, "tokens");
    const createdAt = timestamp();
    await this.db
      .insertInto("tokens")
      .values({ id, user_id: userId, name, token_hash: hashSecretToken(token), created_at: createdAt })
      .execute();
    return { token, info: { id, name, createdAt, lastUsedAt: null, revokedAt: null } };
  }

  /** The user a (not revoked) token belongs to. */
  async userForToken(token: string): Promise<User | undefined> {
    const hash = hashSecretToken(token);
    const row = await this.db
      .selectFrom("tokens")
      .innerJoin("users", "users.id", "tokens.user_id")
      .select(["tokens.id as tokenId", "tokens.token_hash", "users.id", "users.login", "users.is_admin"])
      .where("tokens.token_hash", "=", hash)
      .where("tokens.revoked_at", "is", null)
      .executeTakeFirst();
    if (!row || !sameDigest(row.token_hash, hash)) return undefined;
    await this.db
      .updateTable("tokens")
      .set({ last_used_at: timestamp() })
      .where("id", "=", row.tokenId)
      .execute();
    return { id: row.id, login: row.login, isAdmin: row.is_admin === 1 };
  }

  async listTokens(userId: number): Promise<TokenInfo[]> {
    const rows = await this.db
      .selectFrom("tokens")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** Revokes a token of the user's; false when they have no such token. */
  async revokeToken(userId: number, tokenId: number): Promise<boolean> {
    const result = await this.db
      .updateTable("tokens")
      .set({ revoked_at: timestamp() })
      .where("id", "=", tokenId)
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** A token that lets one or more runners register. `value` adopts a given one (from settings). */
  async createRegistrationToken(value?: string): Promise<string> {
    const token = value ?? newSecretToken(TOKEN_PREFIX.registration);
    const hash = hashSecretToken(token);
    const existing = await this.db
      .selectFrom("runner_registrations")
      .select("id")
      .where("token_hash", "=", hash)
      .executeTakeFirst();
    if (existing) return token;
    const id = await nextValue(this.db, "runner_registrations");
    await this.db
      .insertInto("runner_registrations")
      .values({ id, token_hash: hash, created_at: timestamp() })
      .execute();
    return token;
  }

  async isRegistrationToken(token: string): Promise<boolean> {
    const hash = hashSecretToken(token);
    const row = await this.db
      .selectFrom("runner_registrations")
      .select("token_hash")
      .where("token_hash", "=", hash)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return row !== undefined && sameDigest(row.token_hash, hash);
  }

  /** Registers a runner; its credential is returned once and stored hashed. */
  async registerRunner(runner: NewRunner): Promise<{ runner: Runner; credential: string }> {
    const credential = newSecretToken(TOKEN_PREFIX.runner);
    const id = await nextValue(this.db, "runners");
    const at = timestamp();
    await this.db
      .insertInto("runners")
      .values({
        id,
        name: runner.name,
        labels: JSON.stringify(runner.labels),
        capacity: runner.capacity,
        os: runner.os,
        arch: runner.arch,
        credential_hash: hashSecretToken(credential),
        created_at: at,
        last_seen_at: at,
      })
      .execute();
    return { runner: { ...runner, id, createdAt: at, lastSeenAt: at }, credential };
  }

  async runnerForCredential(credential: string): Promise<Runner | undefined> {
    const hash = hashSecretToken(credential);
    const row = await this.db
      .selectFrom("runners")
      .selectAll()
      .where("credential_hash", "=", hash)
      .executeTakeFirst();
    return row && sameDigest(row.credential_hash, hash) ? toRunner(row) : undefined;
  }

  async touchRunner(id: number): Promise<void> {
    await this.db.updateTable("runners").set({ last_seen_at: timestamp() }).where("id", "=", id).execute();
  }

  async listRunners(): Promise<Runner[]> {
    const rows = await this.db.selectFrom("runners").selectAll().orderBy("id").execute();
    return rows.map(toRunner);
  }

  async removeRunner(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom("runners").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function toRunner(row: Database["runners"]): Runner {
  return {
    id: row.id,
    name: row.name,
    labels: JSON.parse(row.labels) as string[],
    capacity: row.capacity,
    os: row.os,
    arch: row.arch,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
  };
}
