/**
 * The cache service driven by GitHub's own clients: `@actions/cache` 4.1 (what actions/cache@v4
 * bundles) and 6.x (the current one), over both protocols (v1 REST and v2 Twirp with the Azure
 * SDK's uploads), on a real server over HTTP with a real database and real `tar`. The jobs are real
 * rows claimed as a runner would; their ACTIONS_RUNTIME_TOKENs are the ones a runner would get.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlockBlobClient } from "@azure/storage-blob";
import * as current from "@actions/cache";
import * as bundled from "actions-cache-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConveyorServer } from "../../src/server/server.js";
import type { JsonObject } from "../../src/json.js";
import { repositoryIn, runningJob as startJob } from "./running-job.js";
import type { RunningJob } from "./running-job.js";

interface CacheClient {
  saveCache(
    paths: string[],
    key: string,
    options?: { uploadChunkSize?: number; uploadConcurrency?: number },
  ): Promise<number>;
  restoreCache(
    paths: string[],
    primaryKey: string,
    restoreKeys?: string[],
    options?: { lookupOnly?: boolean },
  ): Promise<string | undefined>;
}

const CLIENTS: readonly { name: string; client: CacheClient }[] = [
  { name: "@actions/cache 4.1 (actions/cache@v4)", client: bundled },
  { name: "@actions/cache 6 (current)", client: current },
];
const PROTOCOLS = ["v1", "v2"] as const;
type Protocol = (typeof PROTOCOLS)[number];

let server: ConveyorServer;
let repositoryId: number;
let otherRepositoryId: number;
let adminToken: string;
const base = mkdtempSync(join(tmpdir(), "conveyor-cache-service-"));
const savedEnv = { ...process.env };
const savedCwd = process.cwd();

beforeAll(async () => {
  server = await ConveyorServer.start({ dataDir: join(base, "data"), port: 0 });
  adminToken = (await server.bootstrapAdmin("admin password"))?.token ?? "";
  repositoryId = await repositoryIn(server, "admin", "app");
  otherRepositoryId = await repositoryIn(server, "admin", "other");
}, 30_000);

afterAll(async () => {
  process.env = savedEnv;
  process.chdir(savedCwd);
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

type Job = RunningJob;

/** A running job of a run on `ref`, as a runner holds it. */
function runningJob(ref: string, options: { repository?: number; payload?: JsonObject } = {}): Promise<Job> {
  return startJob(server, options.repository ?? repositoryId, ref, options.payload);
}

/** A workspace for one client call, and the environment GitHub's runner gives actions. */
function useJob(job: Job, protocol: Protocol): string {
  const workspace = mkdtempSync(join(base, "workspace-"));
  process.env.GITHUB_WORKSPACE = workspace;
  process.env.RUNNER_TEMP = mkdtempSync(join(base, "temp-"));
  process.env.ACTIONS_RUNTIME_TOKEN = job.token;
  process.env.ACTIONS_CACHE_URL = `${server.url}/`;
  process.env.ACTIONS_RESULTS_URL = `${server.url}/`;
  // The clients use v2 only when GITHUB_SERVER_URL is not a GHES host: *.localhost passes.
  process.env.GITHUB_SERVER_URL = "http://conveyor.localhost";
  if (protocol === "v2") process.env.ACTIONS_CACHE_SERVICE_V2 = "true";
  else delete process.env.ACTIONS_CACHE_SERVICE_V2;
  process.chdir(workspace);
  return workspace;
}

function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

async function lookupV1(token: string, keys: string, version = "v"): Promise<Response> {
  return fetch(
    `${server.url}/_apis/artifactcache/cache?keys=${encodeURIComponent(keys)}&version=${version}`,
    {
      headers: { authorization: `Bearer ${token}`, accept: "application/json;api-version=6.0-preview.1" },
    },
  );
}

async function v1(token: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}/_apis/artifactcache/${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(init.headers ?? {}),
    },
  });
}

async function twirp<T>(token: string, method: string, body: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}/twirp/github.actions.results.api.v1.CacheService/${method}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

describe.each(CLIENTS)("$name", ({ name, client }) => {
  describe.each(PROTOCOLS)("cache service %s", (protocol) => {
    const tag = `${name.split(" ")[1]}-${protocol}`;

    it("saves, then restores by exact key and by restore-keys prefix", async () => {
      const saver = await runningJob("refs/heads/main");
      const workspace = useJob(saver, protocol);
      writeTree(workspace, { "deps/a.txt": "alpha\n", "deps/sub/b.bin": randomBytes(50_000) });
      const original = readFileSync(join(workspace, "deps/sub/b.bin"));
      expect(await client.saveCache(["deps"], `deps-${tag}-1`)).toBeGreaterThan(0);
      await saver.end();

      const restorer = await runningJob("refs/heads/main");
      const fresh = useJob(restorer, protocol);
      expect(await client.restoreCache(["deps"], `deps-${tag}-1`)).toBe(`deps-${tag}-1`);
      expect(readFileSync(join(fresh, "deps/a.txt"), "utf8")).toBe("alpha\n");
      expect(readFileSync(join(fresh, "deps/sub/b.bin")).equals(original)).toBe(true);

      const partial = useJob(restorer, protocol);
      expect(await client.restoreCache(["deps"], `deps-${tag}-2`, [`deps-${tag}-`])).toBe(`deps-${tag}-1`);
      expect(readFileSync(join(partial, "deps/a.txt"), "utf8")).toBe("alpha\n");
      expect(await client.restoreCache(["deps"], `nothing-${tag}`, ["nothing-"])).toBeUndefined();
      // The version covers the paths: the same key saved for other paths is another entry.
      expect(await client.restoreCache(["other"], `deps-${tag}-1`)).toBeUndefined();
      await restorer.end();
    });

    it("keeps a key immutable: a second save of it is refused, the first content stays", async () => {
      const first = await runningJob("refs/heads/main");
      writeTree(useJob(first, protocol), { "out/v.txt": "first" });
      expect(await client.saveCache(["out"], `immutable-${tag}`)).toBeGreaterThan(0);
      writeTree(useJob(first, protocol), { "out/v.txt": "second" });
      expect(await client.saveCache(["out"], `immutable-${tag}`)).toBe(-1);
      const restored = useJob(first, protocol);
      expect(await client.restoreCache(["out"], `immutable-${tag}`)).toBe(`immutable-${tag}`);
      expect(readFileSync(join(restored, "out/v.txt"), "utf8")).toBe("first");
      await first.end();
    });

    it("scopes caches by branch: the default branch is visible, another branch never", async () => {
      const feature = await runningJob("refs/heads/feature-a");
      writeTree(useJob(feature, protocol), { "s/f.txt": "feature" });
      expect(await client.saveCache(["s"], `scoped-${tag}-feature`)).toBeGreaterThan(0);
      const main = await runningJob("refs/heads/main");
      writeTree(useJob(main, protocol), { "s/f.txt": "main" });
      expect(await client.saveCache(["s"], `scoped-${tag}-main`)).toBeGreaterThan(0);

      const sibling = await runningJob("refs/heads/feature-b");
      useJob(sibling, protocol);
      expect(await client.restoreCache(["s"], `scoped-${tag}-feature`)).toBeUndefined();
      const fromMain = useJob(sibling, protocol);
      expect(await client.restoreCache(["s"], `scoped-${tag}-feature`, [`scoped-${tag}-`])).toBe(
        `scoped-${tag}-main`,
      );
      expect(readFileSync(join(fromMain, "s/f.txt"), "utf8")).toBe("main");

      // Its own branch first, before the default branch's newer entry.
      useJob(feature, protocol);
      expect(await client.restoreCache(["s"], `scoped-${tag}-x`, [`scoped-${tag}-`])).toBe(
        `scoped-${tag}-feature`,
      );
      // A save on the default branch never sees the feature branch's entry either.
      useJob(main, protocol);
      expect(await client.restoreCache(["s"], `scoped-${tag}-feature`)).toBeUndefined();
      for (const job of [feature, main, sibling]) await job.end();
    });
  });

  it("uploads in concurrent chunks over v1 and restores them whole", async () => {
    const job = await runningJob("refs/heads/main");
    const workspace = useJob(job, "v1");
    // Random bytes do not compress: several 1 MiB chunks, four in flight.
    writeTree(workspace, { "big/blob.bin": randomBytes(5 * 1024 * 1024 + 123) });
    const original = readFileSync(join(workspace, "big/blob.bin"));
    const tag = name.split(" ")[1] ?? "";
    expect(
      await client.saveCache(["big"], `chunked-${tag}`, {
        uploadChunkSize: 1024 * 1024,
        uploadConcurrency: 4,
      }),
    ).toBeGreaterThan(0);
    const fresh = useJob(job, "v1");
    expect(await client.restoreCache(["big"], `chunked-${tag}`)).toBe(`chunked-${tag}`);
    expect(readFileSync(join(fresh, "big/blob.bin")).equals(original)).toBe(true);
    await job.end();
  });
});

describe("the protocols at their edges", () => {
  it("assembles v1 parts sent concurrently and out of order", async () => {
    const job = await runningJob("refs/heads/main");
    const data = randomBytes(3 * 1000 + 17);
    const reserved = await v1(job.token, "caches", {
      method: "POST",
      body: JSON.stringify({ key: "parts", version: "v" }),
    });
    expect(reserved.status).toBe(201);
    const { cacheId } = (await reserved.json()) as { cacheId: number };
    const ranges = [
      [2000, data.length - 1],
      [0, 999],
      [1000, 1999],
    ] as const;
    const answers = await Promise.all(
      ranges.map(([start, end]) =>
        v1(job.token, `caches/${cacheId}`, {
          method: "PATCH",
          headers: { "content-type": "application/octet-stream", "content-range": `bytes ${start}-${end}/*` },
          body: data.subarray(start, end + 1),
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([204, 204, 204]);
    expect(
      (
        await v1(job.token, `caches/${cacheId}`, {
          method: "POST",
          body: JSON.stringify({ size: data.length }),
        })
      ).status,
    ).toBe(204);
    const found = (await (await lookupV1(job.token, "parts")).json()) as {
      archiveLocation: string;
      cacheKey: string;
    };
    expect(found.cacheKey).toBe("parts");
    // The archive URL is signed: no token needed, ranges served.
    const whole = Buffer.from(await (await fetch(found.archiveLocation)).arrayBuffer());
    expect(whole.equals(data)).toBe(true);
    const range = await fetch(found.archiveLocation, { headers: { range: "bytes=10-19" } });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
    await job.end();
  });

  it("rejects a corrupted v1 upload: a gap, a size that does not match, a part longer than its range", async () => {
    const job = await runningJob("refs/heads/main");
    const reserve = async (key: string) =>
      (
        (await (
          await v1(job.token, "caches", { method: "POST", body: JSON.stringify({ key, version: "v" }) })
        ).json()) as { cacheId: number }
      ).cacheId;
    const patch = (id: number, start: number, body: Buffer, end = start + body.length - 1) =>
      v1(job.token, `caches/${id}`, {
        method: "PATCH",
        headers: { "content-type": "application/octet-stream", "content-range": `bytes ${start}-${end}/*` },
        body,
      });
    const gap = await reserve("corrupt-gap");
    await patch(gap, 0, Buffer.alloc(100));
    await patch(gap, 200, Buffer.alloc(100));
    const commitGap = await v1(job.token, `caches/${gap}`, {
      method: "POST",
      body: JSON.stringify({ size: 300 }),
    });
    expect(commitGap.status).toBe(400);
    expect(((await commitGap.json()) as { message: string }).message).toContain(
      "bytes 100-199 were never uploaded",
    );
    expect((await lookupV1(job.token, "corrupt-gap")).status).toBe(204);

    const short = await reserve("corrupt-size");
    await patch(short, 0, Buffer.alloc(100));
    const commitShort = await v1(job.token, `caches/${short}`, {
      method: "POST",
      body: JSON.stringify({ size: 150 }),
    });
    expect(commitShort.status).toBe(400);
    expect((await lookupV1(job.token, "corrupt-size")).status).toBe(204);

    const long = await reserve("corrupt-long");
    expect((await patch(long, 0, Buffer.alloc(100), 49)).status).toBe(400);
    expect(
      (
        await v1(job.token, `caches/${long}`, {
          method: "PATCH",
          body: "x",
          headers: { "content-type": "application/octet-stream", "content-range": "bytes=0-0" },
        })
      ).status,
    ).toBe(400);
    // The key of a dropped upload is free again.
    expect(
      (
        await v1(job.token, "caches", {
          method: "POST",
          body: JSON.stringify({ key: "corrupt-gap", version: "v" }),
        })
      ).status,
    ).toBe(201);
    await job.end();
  });

  it("takes v2 uploads in blocks through the Azure SDK, and rejects a finalize whose size does not match", async () => {
    const job = await runningJob("refs/heads/main");
    const created = await twirp<{ ok: boolean; signed_upload_url: string }>(job.token, "CreateCacheEntry", {
      key: "blocks",
      version: "v",
    });
    expect(created.body.ok).toBe(true);
    const data = randomBytes(3 * 1024 * 1024 + 5);
    // Small blocks force stageBlock + commitBlockList, four at a time.
    await new BlockBlobClient(created.body.signed_upload_url).uploadData(data, {
      blockSize: 512 * 1024,
      maxSingleShotSize: 512 * 1024,
      concurrency: 4,
    });
    // The upload URL writes once: the finalized content cannot change under readers.
    await expect(
      new BlockBlobClient(created.body.signed_upload_url).uploadData(Buffer.from("evil")),
    ).rejects.toThrow(/cannot change/);
    const wrong = await twirp<{ ok: boolean; message: string }>(job.token, "FinalizeCacheEntryUpload", {
      key: "blocks",
      version: "v",
      size_bytes: String(data.length + 1),
    });
    expect(wrong.body).toMatchObject({ ok: false });
    expect(wrong.body.message).toContain("incomplete or corrupted");
    const missed = await twirp<{ ok: boolean }>(job.token, "GetCacheEntryDownloadURL", {
      key: "blocks",
      version: "v",
    });
    expect(missed.body.ok).toBe(false);

    const again = await twirp<{ ok: boolean; signed_upload_url: string }>(job.token, "CreateCacheEntry", {
      key: "blocks",
      version: "v",
    });
    await new BlockBlobClient(again.body.signed_upload_url).uploadData(data, {
      blockSize: 1024 * 1024,
      maxSingleShotSize: 1024 * 1024,
      concurrency: 4,
    });
    const finalized = await twirp<{ ok: boolean; entry_id: string }>(job.token, "FinalizeCacheEntryUpload", {
      key: "blocks",
      version: "v",
      size_bytes: String(data.length),
    });
    expect(finalized.body.ok).toBe(true);
    const found = await twirp<{ ok: boolean; signed_download_url: string; matched_key: string }>(
      job.token,
      "GetCacheEntryDownloadURL",
      { key: "blocks", version: "v" },
    );
    expect(found.body).toMatchObject({ ok: true, matched_key: "blocks" });
    const downloaded = Buffer.from(await (await fetch(found.body.signed_download_url)).arrayBuffer());
    expect(downloaded.equals(data)).toBe(true);
    await job.end();
  });

  it("refuses tokens that are forged, of an ended job, or of another repository", async () => {
    const owner = await runningJob("refs/heads/main");
    writeTree(useJob(owner, "v1"), { "t/x.txt": "secret" });
    expect(await current.saveCache(["t"], "tokens")).toBeGreaterThan(0);
    const forged = owner.token.slice(0, -4) + (owner.token.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect((await lookupV1(forged, "tokens")).status).toBe(401);
    expect((await twirp(forged, "GetCacheEntryDownloadURL", { key: "tokens", version: "v" })).status).toBe(
      401,
    );

    const foreign = await runningJob("refs/heads/main", { repository: otherRepositoryId });
    useJob(foreign, "v1");
    expect(await current.restoreCache(["t"], "tokens")).toBeUndefined();
    useJob(foreign, "v2");
    expect(await current.restoreCache(["t"], "tokens")).toBeUndefined();
    await foreign.end();

    await owner.end();
    const ended = await lookupV1(owner.token, "tokens");
    expect(ended.status).toBe(401);
    expect(((await ended.json()) as { message: string }).message).toContain("has ended");
  });

  it("drops the uploads of jobs that ended without committing", async () => {
    const quitter = await runningJob("refs/heads/main");
    const reserved = await v1(quitter.token, "caches", {
      method: "POST",
      body: JSON.stringify({ key: "abandoned", version: "v" }),
    });
    const { cacheId } = (await reserved.json()) as { cacheId: number };
    await v1(quitter.token, `caches/${cacheId}`, {
      method: "PATCH",
      headers: { "content-type": "application/octet-stream", "content-range": "bytes 0-9/*" },
      body: Buffer.alloc(10),
    });
    const entry = await server.store.caches.byId(cacheId);
    const part = `${entry?.blob}.parts/0`;
    expect(await server.store.blobs.size(part)).toBe(10);
    await quitter.end();
    // The next commit in the repository clears it away.
    const next = await runningJob("refs/heads/main");
    writeTree(useJob(next, "v1"), { "n/x.txt": "x" });
    expect(await current.saveCache(["n"], "after-abandoned")).toBeGreaterThan(0);
    expect(await server.store.caches.byId(cacheId)).toBeUndefined();
    expect(await server.store.blobs.size(part)).toBeUndefined();
    await next.end();
  });

  it("lets a pull request restore its base branch's caches", async () => {
    const develop = await runningJob("refs/heads/develop");
    const reserved = (await (
      await v1(develop.token, "caches", {
        method: "POST",
        body: JSON.stringify({ key: "pr-base", version: "v" }),
      })
    ).json()) as { cacheId: number };
    await v1(develop.token, `caches/${reserved.cacheId}`, {
      method: "PATCH",
      headers: { "content-type": "application/octet-stream", "content-range": "bytes 0-2/*" },
      body: "abc",
    });
    expect(
      (
        await v1(develop.token, `caches/${reserved.cacheId}`, {
          method: "POST",
          body: JSON.stringify({ size: 3 }),
        })
      ).status,
    ).toBe(204);
    const pr = await runningJob("refs/pull/7/merge", {
      payload: { pull_request: { number: 7, base: { ref: "develop" } } },
    });
    expect((await lookupV1(pr.token, "pr-base")).status).toBe(200);
    const push = await runningJob("refs/heads/elsewhere");
    expect((await lookupV1(push.token, "pr-base")).status).toBe(204);
    for (const job of [develop, pr, push]) await job.end();
  });

  it("lists a repository's caches with the total and the quota, and deletes one", async () => {
    const listed = await fetch(`${server.url}/api/v1/repos/admin/app/caches`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const body = (await listed.json()) as {
      totalSize: number;
      quota: number;
      caches: { id: number; key: string; size: number; ref: string }[];
    };
    expect(body.quota).toBe(10 * 1024 * 1024 * 1024);
    expect(body.caches.length).toBeGreaterThan(3);
    expect(body.totalSize).toBe(body.caches.reduce((sum, c) => sum + c.size, 0));
    const victim = body.caches.find((c) => c.key === "pr-base");
    expect(victim).toMatchObject({ ref: "refs/heads/develop", size: 3 });
    const deleted = await fetch(`${server.url}/api/v1/repos/admin/app/caches/${victim?.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(deleted.status).toBe(204);
    const pr = await runningJob("refs/pull/8/merge", {
      payload: { pull_request: { base: { ref: "develop" } } },
    });
    expect((await lookupV1(pr.token, "pr-base")).status).toBe(204);
    await pr.end();
    expect((await fetch(`${server.url}/api/v1/repos/admin/app/caches`)).status).toBe(401);
  });
});

describe("quota", () => {
  it("evicts the least recently used entries past the repository's quota", async () => {
    const small = await ConveyorServer.start({ dataDir: join(base, "small"), port: 0, cacheQuota: 250_000 });
    try {
      const { token } = await startJob(small, await repositoryIn(small, "o", "r"), "refs/heads/main");
      const call = (path: string, init: RequestInit = {}) =>
        fetch(`${small.url}/_apis/artifactcache/${path}`, {
          ...init,
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            ...(init.headers ?? {}),
          },
        });
      const save = async (key: string, size: number) => {
        const { cacheId } = (await (
          await call("caches", { method: "POST", body: JSON.stringify({ key, version: "v" }) })
        ).json()) as { cacheId: number };
        await call(`caches/${cacheId}`, {
          method: "PATCH",
          headers: { "content-type": "application/octet-stream", "content-range": `bytes 0-${size - 1}/*` },
          body: Buffer.alloc(size),
        });
        return (await call(`caches/${cacheId}`, { method: "POST", body: JSON.stringify({ size }) })).status;
      };
      expect(await save("one", 100_000)).toBe(204);
      expect(await save("two", 100_000)).toBe(204);
      // Using "one" makes "two" the least recently used.
      expect((await call("cache?keys=one&version=v")).status).toBe(200);
      expect(await save("three", 100_000)).toBe(204);
      const found = async (key: string) => (await call(`cache?keys=${key}&version=v`)).status;
      expect([await found("one"), await found("two"), await found("three")]).toEqual([200, 204, 200]);
      // Over the quota on its own: refused when reserving, with the figure.
      const tooBig = await call("caches", {
        method: "POST",
        body: JSON.stringify({ key: "huge", version: "v", cacheSize: 300_000 }),
      });
      expect(tooBig.status).toBe(400);
      expect(((await tooBig.json()) as { message: string }).message).toContain("quota of 250000 B");
    } finally {
      await small.close();
    }
  });
});
