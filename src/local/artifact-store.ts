/**
 * `conveyor run`'s artifacts: those of one run as plain folders. `<root>/runs/<runId>/artifacts/<name>/`
 * holds the artifact's files, `<root>/runs/<runId>/artifact-records/<name>.json` what is known about
 * it. An upload is copied to a staging folder and renamed into place, so a reader never sees half an
 * artifact and two uploads of one name cannot both win. The digest is of the files (paths and
 * contents), as there is no zip.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { contentDigest, copyPath } from "../actions/builtin/file-tree.js";
import type {
  ArtifactFile,
  ArtifactRecord,
  ArtifactStore,
  FetchedArtifact,
  PublishArtifactOptions,
} from "../actions/builtin/types.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export class FileArtifactStore implements ArtifactStore {
  private readonly runDirectory: string;

  constructor(
    root: string,
    runId: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (!isSafeName(runId)) throw new Error(`Invalid run id for the artifact store: '${runId}'`);
    this.runDirectory = join(root, "runs", runId);
  }

  /** The folder holding the files of the artifact `name` (it exists once uploaded). */
  artifactDirectory(name: string): string {
    return join(this.runDirectory, "artifacts", checkedName(name));
  }

  async list(): Promise<ArtifactRecord[]> {
    const entries = await readdir(this.recordsDirectory()).catch(() => [] as string[]);
    const records: ArtifactRecord[] = [];
    const names = entries.filter((e) => e.endsWith(".json")).map((e) => e.slice(0, -".json".length));
    for (const name of names.sort()) {
      const record = await this.describe(name);
      if (record) records.push(record);
    }
    return records;
  }

  async describe(name: string): Promise<ArtifactRecord | undefined> {
    const text = await readFile(this.recordPath(name), "utf8").catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ArtifactRecord);
  }

  async publish(
    name: string,
    files: readonly ArtifactFile[],
    options: PublishArtifactOptions,
  ): Promise<ArtifactRecord | undefined> {
    const staging = join(this.runDirectory, "staging");
    await mkdir(staging, { recursive: true });
    const staged = await mkdtemp(join(staging, "upload-"));
    try {
      for (const file of files) await copyPath(file.source, join(staged, file.path), { dereference: true });
      const { digest, size } = await contentDigest(staged);
      return await this.place(name, staged, { ...options, digest, size });
    } finally {
      await rm(staged, { recursive: true, force: true });
    }
  }

  async fetch(record: ArtifactRecord, into: string): Promise<FetchedArtifact> {
    const source = this.artifactDirectory(record.name);
    // The digest recorded at upload shows files changed in the store since (as the real action warns).
    const { digest } = await contentDigest(source);
    await mkdir(into, { recursive: true });
    const totals = await copyPath(source, into, { dereference: false });
    return { files: totals.files, digestMatches: digest === record.digest };
  }

  /** Makes a staged folder the artifact `name`, atomically; undefined when the name exists and `overwrite` is false. */
  private async place(
    name: string,
    staged: string,
    options: PublishArtifactOptions & { digest: string; size: number },
  ): Promise<ArtifactRecord | undefined> {
    const target = this.artifactDirectory(name);
    await mkdir(join(this.runDirectory, "artifacts"), { recursive: true });
    if (options.overwrite) await this.remove(name);
    try {
      // rename(2) refuses a non-empty target: the first upload of a name wins, atomically.
      await rename(staged, target);
    } catch (cause) {
      if (errorCode(cause) === "ENOTEMPTY" || errorCode(cause) === "EEXIST") return undefined;
      throw cause;
    }
    const createdAt = this.now();
    const record: ArtifactRecord = {
      name,
      id: await this.allocateId(),
      url: pathToFileURL(target).href,
      digest: options.digest,
      size: options.size,
      createdAt: createdAt.toISOString(),
      expiresAt: new Date(createdAt.getTime() + options.retentionDays * DAY_MS).toISOString(),
    };
    await mkdir(this.recordsDirectory(), { recursive: true });
    const temporary = `${this.recordPath(name)}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
    await rename(temporary, this.recordPath(name));
    return record;
  }

  /** Removes an artifact: its record first, so it stops being listed before its files go. */
  private async remove(name: string): Promise<void> {
    await rm(this.recordPath(name), { force: true });
    const target = this.artifactDirectory(name);
    const trash = `${target}.removed-${process.pid}-${Date.now()}`;
    const moved = await rename(target, trash).then(
      () => true,
      () => false,
    );
    if (moved) await rm(trash, { recursive: true, force: true });
  }

  /** The next free id of the run; `mkdir` is atomic, so concurrent uploads never share one. */
  private async allocateId(): Promise<number> {
    const ids = join(this.runDirectory, "artifact-ids");
    await mkdir(ids, { recursive: true });
    for (let id = (await readdir(ids)).length + 1; ; id++) {
      try {
        await mkdir(join(ids, String(id)));
        return id;
      } catch (cause) {
        if (errorCode(cause) !== "EEXIST") throw cause;
      }
    }
  }

  private recordsDirectory(): string {
    return join(this.runDirectory, "artifact-records");
  }

  private recordPath(name: string): string {
    return join(this.recordsDirectory(), `${checkedName(name)}.json`);
  }
}

/** A name that is one path segment; upload-artifact validates names fully, this only guards the store. */
function isSafeName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !/[/\\\0]/.test(name);
}

function checkedName(name: string): string {
  if (!isSafeName(name)) throw new Error(`Invalid artifact name for the store: '${name}'`);
  return name;
}

function errorCode(cause: unknown): string | undefined {
  return cause instanceof Error && "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
}
