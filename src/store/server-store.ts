/**
 * The server's store: one database (SQLite now; the queries are portable to PostgreSQL) seen
 * through a store per concern. Every server process reads and writes the same tables: the queue,
 * leases and run state live here, never only in a process's memory.
 */
import { join } from "node:path";
import { AccountStore } from "./accounts.js";
import { ArtifactEntryStore } from "./artifacts.js";
import { CacheEntryStore } from "./caches.js";
import { openSqliteDatabase } from "./database.js";
import type { StoreDatabase } from "./database.js";
import { FileBlobStore } from "./blobs.js";
import type { BlobStore } from "./blobs.js";
import { JobStore } from "./jobs.js";
import { RepositoryStore } from "./repositories.js";
import { RunStore } from "./runs.js";

export class ServerStore {
  readonly accounts: AccountStore;
  readonly repositories: RepositoryStore;
  readonly runs: RunStore;
  readonly jobs: JobStore;
  readonly caches: CacheEntryStore;
  readonly artifacts: ArtifactEntryStore;

  constructor(
    private readonly database: StoreDatabase,
    readonly blobs: BlobStore,
  ) {
    this.accounts = new AccountStore(database.db);
    this.repositories = new RepositoryStore(database.db);
    this.runs = new RunStore(database.db);
    this.jobs = new JobStore(database.db, blobs);
    this.caches = new CacheEntryStore(database.db);
    this.artifacts = new ArtifactEntryStore(database.db);
  }

  get dialect(): StoreDatabase["dialect"] {
    return this.database.dialect;
  }

  close(): Promise<void> {
    return this.database.close();
  }
}

/** Opens the SQLite store of a data directory (`<dir>/conveyor.db`, blobs under `<dir>/blobs`). */
export async function openServerStore(dataDir: string): Promise<ServerStore> {
  return new ServerStore(
    await openSqliteDatabase(join(dataDir, "conveyor.db")),
    new FileBlobStore(join(dataDir, "blobs")),
  );
}
