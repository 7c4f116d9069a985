/**
 * The built-in upload-artifact and download-artifact's store on a server runner: the server's
 * artifact service, spoken as GitHub's `@actions/artifact` speaks it (Twirp at ACTIONS_RESULTS_URL
 * with the job's ACTIONS_RUNTIME_TOKEN, content through the signed blob URL it hands out). Artifacts
 * are zip archives as GitHub's are, so what the built-in action uploads downloads with
 * actions/download-artifact itself, and the other way round.
 *
 * Nothing touches the disk twice: the zip is made as the files are read and sent in blocks, several
 * at once; a download is extracted as it arrives (zip-reader.ts).
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type {
  ArtifactFile,
  ArtifactRecord,
  ArtifactStore,
  FetchedArtifact,
  PublishArtifactOptions,
} from "../actions/builtin/types.js";
import { getInBlocks, textOf, unpooledBlocks } from "./block-download.js";
import type { Block } from "./block-download.js";
import { centralDirectory, extractZip, ZIP_TAIL_BYTES } from "./zip-reader.js";
import { zipArchive } from "./zip-writer.js";
import type { ZipSource } from "./zip-writer.js";

export interface ServiceArtifactStoreOptions {
  /** The job's ACTIONS_RUNTIME_TOKEN. */
  readonly token: string;
  /** ACTIONS_RESULTS_URL: the Twirp service is at its origin. */
  readonly resultsUrl: string;
  /** The ids the token's Actions.Results scope names: the run's and the job's on the server. */
  readonly runId: string;
  readonly jobId: string;
  /** The server's URL for people (artifact-url). */
  readonly serverUrl: string;
  /** Bytes per uploaded block (default 8 MiB, as the toolkit). */
  readonly blockBytes?: number;
}

const SERVICE = "github.actions.results.api.v1.ArtifactService";
const BLOCK_BYTES = 8 * 1024 * 1024;
/** Blocks in flight at once: enough to keep a loopback or LAN link busy while the zip is made. */
const UPLOAD_CONCURRENCY = 4;
const ZIP = "application/zip";

interface MonolithArtifact {
  readonly database_id?: string;
  readonly name?: string;
  readonly size?: string;
  readonly created_at?: string;
  readonly expires_at?: string;
  readonly digest?: string;
}

export class ServiceArtifactStore implements ArtifactStore {
  private readonly agent: HttpAgent;

  constructor(private readonly options: ServiceArtifactStoreOptions) {
    const https = options.resultsUrl.startsWith("https:");
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: UPLOAD_CONCURRENCY + 1 })
      : new HttpAgent({ keepAlive: true, maxSockets: UPLOAD_CONCURRENCY + 1 });
  }

  async list(): Promise<ArtifactRecord[]> {
    const records = await this.query({});
    return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
  }

  async describe(name: string): Promise<ArtifactRecord | undefined> {
    return (await this.query({ name_filter: name })).pop();
  }

  async publish(
    name: string,
    files: readonly ArtifactFile[],
    options: PublishArtifactOptions,
  ): Promise<ArtifactRecord | undefined> {
    if (options.overwrite && (await this.describe(name))) {
      await this.call("DeleteArtifact", { ...this.ids(), name });
    }
    const created = await this.call<{ signed_upload_url?: string }>(
      "CreateArtifact",
      {
        ...this.ids(),
        name,
        version: 7,
        mime_type: ZIP,
        expires_at: new Date(Date.now() + options.retentionDays * 86_400_000).toISOString(),
      },
      { conflict: true },
    );
    if (created === "conflict") return undefined;
    if (!created.signed_upload_url) throw new Error("the artifact service gave no upload URL.");
    const sources: ZipSource[] = [];
    for (const file of files) {
      // upload-artifact follows links: what is archived is what they point to.
      const info = await stat(file.source);
      sources.push({
        source: file.source,
        path: file.path,
        size: info.size,
        mode: info.mode,
        mtime: info.mtime,
      });
    }
    const uploaded = await this.uploadBlocks(
      created.signed_upload_url,
      zipArchive(sources, options.compressionLevel, { reuseBuffers: true }),
    );
    const finalized = await this.call<{ artifact_id?: string }>("FinalizeArtifact", {
      ...this.ids(),
      name,
      size: String(uploaded.size),
      hash: `sha256:${uploaded.sha256}`,
    });
    const now = new Date();
    return {
      name,
      id: Number(finalized.artifact_id),
      url: `${this.options.serverUrl}/api/v1/artifacts/${finalized.artifact_id}/zip`,
      digest: uploaded.sha256,
      size: uploaded.size,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + options.retentionDays * 86_400_000).toISOString(),
    };
  }

  async fetch(record: ArtifactRecord, into: string): Promise<FetchedArtifact> {
    const { signed_url: url } = await this.call<{ signed_url?: string }>("GetSignedArtifactURL", {
      ...this.ids(),
      name: record.name,
    });
    if (!url) throw new Error("the artifact service gave no download URL.");
    await mkdir(into, { recursive: true });
    // The archive's end first (its directory says where every file is), then the whole, once.
    const tail = await this.get(url, `bytes=-${ZIP_TAIL_BYTES}`);
    const tailBody = await readAll(tail);
    const total = totalOf(tail, tailBody.length);
    if (!(tail.headers["content-type"] ?? "").startsWith(ZIP)) {
      // A file uploaded as it is (by `@actions/artifact`'s skipArchive): saved under its name.
      const whole = await this.get(url);
      const hash = createHash("sha256");
      whole.on("data", (chunk: Buffer) => hash.update(chunk));
      await pipeline(whole, createWriteStream(join(into, basename(record.name))));
      return { files: 1, digestMatches: hash.digest("hex") === record.digest };
    }
    const entries = await centralDirectory(total, tailBody, async (start, end) =>
      readAll(await this.get(url, `bytes=${start}-${end}`)),
    );
    const body = tailBody.length === total ? unpooledBlocks([tailBody]) : await this.getBlocks(url);
    // With a digest to check the whole against, the files' CRC-32s add nothing but time.
    const extracted = await extractZip(body, entries, into, {
      verifyCrc: record.digest === "",
    });
    return { files: extracted.files, digestMatches: extracted.sha256 === record.digest };
  }

  private ids(): { workflow_run_backend_id: string; workflow_job_run_backend_id: string } {
    return { workflow_run_backend_id: this.options.runId, workflow_job_run_backend_id: this.options.jobId };
  }

  private async query(filter: Record<string, string>): Promise<ArtifactRecord[]> {
    const { artifacts } = await this.call<{ artifacts?: MonolithArtifact[] }>("ListArtifacts", {
      ...this.ids(),
      ...filter,
    });
    return (artifacts ?? []).map((a) => ({
      name: a.name ?? "",
      id: Number(a.database_id),
      url: `${this.options.serverUrl}/api/v1/artifacts/${a.database_id}/zip`,
      digest: (a.digest ?? "").replace(/^sha256:/, ""),
      size: Number(a.size ?? 0),
      createdAt: a.created_at ?? "",
      expiresAt: a.expires_at ?? "",
    }));
  }

  /** Cuts `archive` into blocks as it comes, uploads them a few at a time, then commits the list. */
  private async uploadBlocks(
    url: string,
    archive: AsyncIterable<Buffer>,
  ): Promise<{ size: number; sha256: string }> {
    const blockBytes = this.options.blockBytes ?? BLOCK_BYTES;
    const hash = createHash("sha256");
    const ids: string[] = [];
    const uploads = new Set<Promise<void>>();
    // Blocks are filled in place and reused once sent: a few buffers serve the whole upload.
    const free: Buffer[] = [];
    let failure: unknown;
    let size = 0;
    let block: Buffer = Buffer.allocUnsafe(blockBytes);
    let filled = 0;
    const send = async (): Promise<void> => {
      const sent = block;
      const body = sent.subarray(0, filled);
      block = free.pop() ?? Buffer.allocUnsafe(blockBytes);
      filled = 0;
      // Azure wants ids of one length within a blob: the block's number, padded.
      const id = Buffer.from(`block-${String(ids.length).padStart(8, "0")}`).toString("base64");
      ids.push(id);
      const upload = this.put(withQuery(url, { comp: "block", blockid: id }), body).then(
        () => void free.push(sent),
        (e: unknown) => void (failure ??= e),
      );
      uploads.add(upload);
      void upload.finally(() => uploads.delete(upload));
      // Back-pressure: the zip waits while enough blocks are in flight.
      while (uploads.size >= UPLOAD_CONCURRENCY) await Promise.race(uploads);
    };
    for await (const chunk of archive) {
      if (failure) break;
      hash.update(chunk);
      size += chunk.length;
      // Copied at once: the archive may reuse the chunk's memory for the next one.
      for (let at = 0; at < chunk.length;) {
        const copied = chunk.copy(block, filled, at);
        filled += copied;
        at += copied;
        if (filled === blockBytes) await send();
      }
    }
    if (filled > 0 && !failure) await send();
    await Promise.all(uploads);
    if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
    const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join("")}</BlockList>`;
    await this.put(withQuery(url, { comp: "blocklist" }), Buffer.from(list), "application/xml");
    return { size, sha256: hash.digest("hex") };
  }

  private async put(
    url: string,
    body: Buffer | readonly Buffer[],
    contentType = "application/octet-stream",
  ): Promise<void> {
    const response = await this.send(
      "PUT",
      url,
      { "content-type": contentType, "x-ms-blob-type": "BlockBlob" },
      body,
    );
    const text = (await readAll(response)).toString("utf8");
    if (response.statusCode !== 201) {
      const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 300);
      throw new Error(`the artifact upload was refused (${response.statusCode}): ${unescapeXml(message)}`);
    }
  }

  private async get(url: string, range?: string): Promise<IncomingMessage> {
    const response = await this.send("GET", url, range ? { range } : {});
    if (response.statusCode !== 200 && response.statusCode !== 206) {
      const text = (await readAll(response)).toString("utf8");
      throw new Error(`the artifact download was refused (${response.statusCode}): ${text.slice(0, 300)}`);
    }
    return response;
  }

  /** The whole of `url`, in reused blocks of memory (block-download.ts). */
  private async getBlocks(url: string): Promise<AsyncIterable<Block>> {
    const response = await getInBlocks(new URL(url), {});
    if (response.status === 200) return response.body;
    const text = await textOf(response.body);
    throw new Error(`the artifact download was refused (${response.status}): ${text.slice(0, 300)}`);
  }

  /** A Twirp call; a refusal's message is the error's. `conflict`: a 409 is answered, not thrown. */
  private async call<T>(method: string, body: object): Promise<T>;
  private async call<T>(method: string, body: object, options: { conflict: true }): Promise<T | "conflict">;
  private async call<T>(
    method: string,
    body: object,
    options: { conflict?: boolean } = {},
  ): Promise<T | "conflict"> {
    const url = new URL(`/twirp/${SERVICE}/${method}`, this.options.resultsUrl).href;
    const response = await this.send(
      "POST",
      url,
      { authorization: `Bearer ${this.options.token}`, "content-type": "application/json" },
      Buffer.from(JSON.stringify(body)),
    );
    const text = (await readAll(response)).toString("utf8");
    if (response.statusCode === 409 && options.conflict) return "conflict";
    if (response.statusCode !== 200) {
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { msg?: unknown };
        if (typeof parsed.msg === "string") message = parsed.msg;
      } catch {
        // not JSON: the text itself
      }
      throw new Error(`the artifact service refused ${method} (${response.statusCode}): ${message}`);
    }
    return JSON.parse(text) as T;
  }

  private send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: Buffer | readonly Buffer[],
  ): Promise<IncomingMessage> {
    const target = new URL(url);
    const request = target.protocol === "https:" ? httpsRequest : httpRequest;
    const chunks = body === undefined ? [] : Buffer.isBuffer(body) ? [body] : body;
    const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    return new Promise((resolve, reject) => {
      const outgoing = request(
        target,
        {
          method,
          agent: this.agent,
          headers: { ...headers, ...(body ? { "content-length": String(length) } : {}) },
        },
        resolve,
      );
      outgoing.once("error", reject);
      // Corked: the chunks leave in one writev.
      outgoing.cork();
      for (const chunk of chunks) outgoing.write(chunk);
      outgoing.end();
    });
  }
}

function withQuery(url: string, query: Record<string, string>): string {
  const target = new URL(url);
  for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value);
  return target.href;
}

/** The whole size from a ranged answer's Content-Range (`bytes a-b/total`), or its length. */
function totalOf(response: IncomingMessage, length: number): number {
  const match = /\/(\d+)$/.exec(response.headers["content-range"] ?? "");
  return match ? Number(match[1]) : length;
}

async function readAll(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
