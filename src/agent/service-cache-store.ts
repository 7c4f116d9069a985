/**
 * The built-in cache actions' store on a server runner: the server's cache service (v1 REST, the
 * protocol `@actions/cache` speaks), with entries as the toolkit makes them. An entry is a tar archive
 * of paths relative to the workspace (`-P`, so paths outside it, such as `~/.npm`, come back where
 * they were), compressed with zstd when the host has it and gzip otherwise; the version names the
 * compression as the toolkit's does. So an entry the built-in actions/cache saves restores with
 * actions that use `@actions/cache` themselves, and the other way round.
 *
 * Nothing touches the disk twice: tar's output is uploaded in parts as it is produced, and a
 * download is piped straight into tar.
 */
import { spawn } from "node:child_process";
import type { ChildProcessByStdio } from "node:child_process";
import { request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { CacheHit, CacheLocations, CacheSize, CacheStore } from "../actions/builtin/types.js";
import { findProgram } from "../runner/shell.js";
import { getInBlocks, textOf, writeBlocks } from "./block-download.js";

export interface ServiceCacheStoreOptions {
  /** The job's ACTIONS_RUNTIME_TOKEN. */
  readonly token: string;
  /** ACTIONS_CACHE_URL (ends with `/`). */
  readonly cacheUrl: string;
  /** Where the tar manifest is written (the job's temporary folder). */
  readonly tempDir: string;
  /** PATH to find tar and zstd on. */
  readonly path: string;
  /** Bytes per uploaded part (default 32 MiB, as the toolkit). */
  readonly partBytes?: number;
}

/** Parts uploaded at once, and their size: as the toolkit's defaults. */
const UPLOAD_CONCURRENCY = 4;
const PART_BYTES = 32 * 1024 * 1024;

type Compression = "zstd-without-long" | "gzip";

export class ServiceCacheStore implements CacheStore {
  private compression: Promise<Compression> | undefined;

  constructor(private readonly options: ServiceCacheStoreOptions) {}

  format(): Promise<string> {
    this.compression ??= hasZstd(this.options.path).then((yes) => (yes ? "zstd-without-long" : "gzip"));
    return this.compression;
  }

  async lookup(keys: readonly string[], version: string): Promise<CacheHit | undefined> {
    const query = `keys=${encodeURIComponent(keys.join(","))}&version=${encodeURIComponent(version)}`;
    const response = await this.call("GET", `cache?${query}`);
    const body = await readText(response);
    if (response.statusCode === 204) return undefined;
    if (response.statusCode !== 200)
      throw new Error(serviceError("look up the cache", response.statusCode, body));
    const entry = JSON.parse(body) as { cacheKey?: unknown; archiveLocation?: unknown };
    if (typeof entry.cacheKey !== "string" || typeof entry.archiveLocation !== "string") {
      throw new Error("the cache service answered a lookup without cacheKey and archiveLocation.");
    }
    return { key: entry.cacheKey, location: entry.archiveLocation };
  }

  async restore(hit: CacheHit, where: CacheLocations): Promise<CacheSize> {
    await mkdir(where.workspace, { recursive: true });
    const compression = (await this.format()) as Compression;
    // In reused blocks, with an idle timeout (block-download.ts), straight into tar.
    const response = await getInBlocks(new URL(hit.location), {});
    if (response.status !== 200) {
      throw new Error(serviceError("download the cache", response.status, await textOf(response.body)));
    }
    const tar = this.tar(
      ["-xf", "-", "-P", "-C", where.workspace, ...decompressArgs(compression)],
      where.workspace,
    );
    const [written, extracted] = await Promise.allSettled([
      writeBlocks(response.body, tar.stdin),
      exited(tar, "tar -x"),
    ]);
    // tar's own complaint says more than the broken pipe it leaves behind.
    if (extracted.status === "rejected") throw extracted.reason;
    if (written.status === "rejected") throw written.reason;
    return { bytes: written.value };
  }

  async save(
    key: string,
    version: string,
    paths: readonly string[],
    where: CacheLocations,
  ): Promise<CacheSize | undefined> {
    const reserved = await this.call("POST", "caches", JSON.stringify({ key, version }));
    const reservedBody = await readText(reserved);
    // Taken already (keys are immutable) or being saved by another job: the toolkit's "not saved".
    if (reserved.statusCode === 409) return undefined;
    if (reserved.statusCode !== 201 && reserved.statusCode !== 200) {
      throw new Error(serviceError("reserve the cache", reserved.statusCode, reservedBody));
    }
    const { cacheId } = JSON.parse(reservedBody) as { cacheId: number };
    const compression = (await this.format()) as Compression;
    const folder = await mkdtemp(join(this.options.tempDir, "cache-"));
    try {
      // As the toolkit: workspace-relative paths, one per line, `.` for the workspace itself.
      const manifest = join(folder, "manifest.txt");
      await writeFile(
        manifest,
        paths.map((p) => relative(where.workspace, p).split(sep).join("/") || ".").join("\n"),
      );
      const tar = this.tar(
        [
          "--posix",
          "-cf",
          "-",
          "-P",
          "-C",
          where.workspace,
          "--files-from",
          manifest,
          ...compressArgs(compression),
        ],
        where.workspace,
      );
      const [size] = await Promise.all([this.uploadParts(cacheId, tar.stdout), exited(tar, "tar -c")]);
      const committed = await this.call("POST", `caches/${cacheId}`, JSON.stringify({ size }));
      const body = await readText(committed);
      if (committed.statusCode !== 204 && committed.statusCode !== 200) {
        throw new Error(serviceError("commit the cache", committed.statusCode, body));
      }
      return { bytes: size };
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  /** Cuts `archive` into parts as it comes and uploads them, a few at a time; the total size. */
  private async uploadParts(cacheId: number, archive: Readable): Promise<number> {
    const uploads = new Set<Promise<void>>();
    let failure: unknown;
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      const part = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const start = offset;
      offset += part.length;
      const upload = this.uploadPart(cacheId, start, part).catch((e: unknown) => void (failure ??= e));
      uploads.add(upload);
      void upload.finally(() => uploads.delete(upload));
      // Back-pressure: tar waits while the parts in flight are uploading.
      while (uploads.size >= UPLOAD_CONCURRENCY) await Promise.race(uploads);
    };
    for await (const chunk of archive as AsyncIterable<Buffer>) {
      if (failure) break;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= (this.options.partBytes ?? PART_BYTES)) await flush();
    }
    if (pendingBytes > 0 && !failure) await flush();
    await Promise.all(uploads);
    if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
    return offset;
  }

  private async uploadPart(cacheId: number, start: number, part: Buffer): Promise<void> {
    const response = await this.call("PATCH", `caches/${cacheId}`, part, {
      "content-type": "application/octet-stream",
      "content-range": `bytes ${start}-${start + part.length - 1}/*`,
    });
    const body = await readText(response);
    if (response.statusCode !== 204 && response.statusCode !== 200) {
      throw new Error(serviceError("upload the cache", response.statusCode, body));
    }
  }

  private call(
    method: string,
    resource: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<IncomingMessage> {
    return send(
      method,
      `${this.options.cacheUrl}_apis/artifactcache/${resource}`,
      {
        authorization: `Bearer ${this.options.token}`,
        accept: "application/json;api-version=6.0-preview.1",
        ...(typeof body === "string" ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body,
    );
  }

  private tar(args: readonly string[], cwd: string): ChildProcessByStdio<Writable, Readable, Readable> {
    const tar = findProgram("tar", this.options.path);
    if (!tar) throw new Error("tar is not on PATH: the cache needs it (install GNU tar).");
    return spawn(tar, args, {
      cwd,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, PATH: this.options.path },
    });
  }
}

function compressArgs(compression: Compression): string[] {
  return compression === "gzip" ? ["-z"] : ["--use-compress-program", "zstdmt"];
}

function decompressArgs(compression: Compression): string[] {
  return compression === "gzip" ? ["-z"] : ["--use-compress-program", "unzstd"];
}

/** Whether zstd runs here (the toolkit's test: its version answers). */
function hasZstd(path: string): Promise<boolean> {
  const zstd = findProgram("zstd", path);
  if (!zstd || !findProgram("zstdmt", path) || !findProgram("unzstd", path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(zstd, ["--quiet", "--version"], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

/** Resolves when the process exits with 0; rejects with its stderr otherwise. */
function exited(
  child: ChildProcessByStdio<Writable | null, Readable | null, Readable>,
  what: string,
): Promise<void> {
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`));
    });
  });
}

function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<IncomingMessage> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(target, { method, headers }, resolve);
    outgoing.once("error", reject);
    outgoing.end(body);
  });
}

async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function serviceError(doing: string, status: number | undefined, body: string): string {
  let message = body.slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (typeof parsed.error === "string") message = parsed.error;
    else if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // not JSON: the text itself
  }
  return `could not ${doing}: the cache service answered ${status}${message ? `: ${message}` : ""}`;
}
