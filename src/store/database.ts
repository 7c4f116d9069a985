/**
 * Opens the server's database and brings its schema up to date. SQLite (better-sqlite3, WAL) on one
 * machine; the same Kysely queries are meant to run on PostgreSQL past one machine.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import type { SqliteDialectConfig } from "kysely";
import type { Database } from "./schema.js";
import { migrationProvider } from "./migrations.js";

export type Dialect = "sqlite" | "postgres";

export interface StoreDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

/** Opens (creating when missing) the SQLite database at `path` and migrates it. */
export async function openSqliteDatabase(path: string): Promise<StoreDatabase> {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  // WAL: readers never wait for the writer. A write survives the process being killed once its
  // transaction commits (synchronous=NORMAL risks only the last commits on a power loss).
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  // A second process on the same file (a CLI reading while the server writes) waits, never fails.
  sqlite.pragma("busy_timeout = 10000");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(sqlite) }) });
  await migrate(db);
  return { db, dialect: "sqlite", close: () => db.destroy() };
}

/** Statements kept at most; past this the cache starts again (lists of ids make many shapes). */
const MAX_STATEMENTS = 500;

/**
 * Kysely prepares every query anew, and preparing costs as much as running the small queries a
 * runner's requests make (several each). Statements are kept by their SQL text: queries are built
 * from code with their values as parameters, so the texts are few.
 */
function reusingStatements(sqlite: SqliteDatabase.Database): SqliteDialectConfig["database"] {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      const kept = statements.get(text);
      // A statement still being iterated cannot run again until it is done: a new one then.
      if (kept && !kept.busy) return kept;
      const statement = sqlite.prepare(text);
      if (!kept) {
        if (statements.size >= MAX_STATEMENTS) statements.clear();
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`the database could not be brought up to date: ${message}`);
  }
}
