/**
 * The server's store: one database (SQLite now; the queries are portable to PostgreSQL) seen
 * through a store per concern. Every server process reads and writes the same tables: the queue,
 * leases and run state live here, never only in a process's memory.
 */
import { join } from "node:path";
import { AccountStore } from "./accounts.js";
import { ArtifactEntryStore } from "./artifacts.js";
import { AuditStore } from "./audit.js";
import { CommitStatusStore } from "./commit-statuses.js";
import { JobNoteStore } from "./job-notes.js";
import { CacheEntryStore } from "./caches.js";
import { ConcurrencyGroupStore } from "./concurrency-groups.js";
import { DeploymentStore } from "./deployments.js";
import { EnvironmentStore } from "./environments.js";
import { openSqliteDatabase } from "./database.js";
import type { StoreDatabase } from "./database.js";
import { FileBlobStore } from "./blobs.js";
import type { BlobStore } from "./blobs.js";
import { JobStore } from "./jobs.js";
import { RepositoryStore } from "./repositories.js";
import { RunStore } from "./runs.js";
import { SecretStore, VariableStore } from "./secrets.js";

export class ServerStore {
  readonly accounts: AccountStore;
  readonly repositories: RepositoryStore;
  readonly runs: RunStore;
  readonly jobs: JobStore;
  readonly caches: CacheEntryStore;
  readonly artifacts: ArtifactEntryStore;
  readonly audit: AuditStore;
  readonly commitStatuses: CommitStatusStore;
  readonly jobNotes: JobNoteStore;
  readonly secrets: SecretStore;
  readonly variables: VariableStore;
  readonly environments: EnvironmentStore;
  readonly deployments: DeploymentStore;
  readonly concurrencyGroups: ConcurrencyGroupStore;

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
    this.audit = new AuditStore(database.db);
    this.commitStatuses = new CommitStatusStore(database.db);
    this.jobNotes = new JobNoteStore(database.db);
    this.secrets = new SecretStore(database.db);
    this.variables = new VariableStore(database.db);
    this.environments = new EnvironmentStore(database.db);
    this.deployments = new DeploymentStore(database.db);
    this.concurrencyGroups = new ConcurrencyGroupStore(database.db);
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
