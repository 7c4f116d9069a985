/**
 * The artifact service driven by GitHub's own clients: `@actions/artifact` 2.3.2 (what
 * actions/upload-artifact@v4 bundles) and 6.x (the current one), on a real server over HTTP with a
 * real database; uploads go through the Azure SDK the clients use, in parallel blocks. The jobs are
 * real rows claimed as a runner would; their ACTIONS_RUNTIME_TOKENs are the ones a runner would get.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlockBlobClient } from "@azure/storage-blob";
import { DefaultArtifactClient as CurrentClient } from "@actions/artifact";
import { DefaultArtifactClient as BundledClient } from "artifact-v2";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ArtifactRecord } from "../../src/actions/builtin/types.js";
import { ServiceArtifactStore } from "../../src/agent/service-artifact-store.js";
import { ArtifactService } from "../../src/server/artifacts/artifact-service.js";
import { ConveyorServer } from "../../src/server/server.js";
import { repositoryIn, runningJob as startJob } from "./running-job.js";
import type { RunningJob } from "./running-job.js";

interface ArtifactClient {
  uploadArtifact(
    name: string,
    files: string[],
    rootDirectory: string,
    options?: { retentionDays?: number; compressionLevel?: number },
  ): Promise<{ id?: number; size?: number; digest?: string }>;
  listArtifacts(options?: {
    latest?: boolean;
  }): Promise<{ artifacts: { id: number; name: string; size: number; digest?: string }[] }>;
  getArtifact(
    name: string,
  ): Promise<{ artifact: { id: number; name: string; size: number; digest?: string } }>;
  downloadArtifact(
    id: number,
    options?: { path?: string; expectedHash?: string },
  ): Promise<{ downloadPath?: string; digestMismatch?: boolean }>;
  deleteArtifact(name: string): Promise<{ id: number }>;
}

const CLIENTS: readonly { name: string; make: () => ArtifactClient }[] = [
  { name: "@actions/artifact 2.3.2 (upload-artifact@v4)", make: () => new BundledClient() },
  { name: "@actions/artifact 6 (current)", make: () => new CurrentClient() },
];

const MiB = 1024 * 1024;
let server: ConveyorServer;
let repositoryId: number;
let otherRepositoryId: number;
let adminToken: string;
const base = mkdtempSync(join(tmpdir(), "conveyor-artifact-service-"));
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = await ConveyorServer.start({ dataDir: join(base, "data"), port: 0 });
  adminToken = (await server.bootstrapAdmin("admin password"))?.token ?? "";
  repositoryId = await repositoryIn(server, "admin", "app");
  otherRepositoryId = await repositoryIn(server, "admin", "other");
}, 30_000);

afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

function runningJob(repository = repositoryId): Promise<RunningJob> {
  return startJob(server, repository, "refs/heads/main");
}

/** The environment GitHub's runner gives a JavaScript action, for `job`. */
function useJob(job: RunningJob): string {
  const workspace = mkdtempSync(join(base, "workspace-"));
  process.env.GITHUB_WORKSPACE = workspace;
  process.env.ACTIONS_RUNTIME_TOKEN = job.token;
  process.env.ACTIONS_RESULTS_URL = `${server.url}/`;
  // The clients refuse GHES hosts; *.localhost passes and is never connected to (see the docs).
  process.env.GITHUB_SERVER_URL = "http://conveyor.localhost";
  return workspace;
}

function writeTree(root: string, files: Record<string, string | Buffer>): string[] {
  return Object.entries(files).map(([path, content]) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
    return join(root, path);
  });
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The run id and job id of a running job, as the token's Actions.Results scope names them. */
async function idsOf(job: RunningJob): Promise<{ run: string; job: string }> {
  const record = await server.store.jobs.byId(job.id);
  return { run: String(record?.runId), job: String(job.id) };
}

async function twirp<T>(token: string, method: string, body: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(
    `${server.url}/twirp/github.actions.results.api.v1.ArtifactService/${method}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    },
  );
  return { status: response.status, body: (await response.json()) as T };
}

async function api<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return { status: response.status, body: (await response.json()) as T };
}

describe.each(CLIENTS)("$name", ({ name, make }) => {
  const tag = name.split(" ")[1] ?? "";

  it("uploads several files in parallel blocks, then lists, gets, downloads and deletes", async () => {
    const job = await runningJob();
    const workspace = useJob(job);
    // Random bytes do not compress: 20 MiB make three 8 MiB blocks, sent at once.
    const big = randomBytes(20 * MiB + 17);
    const files = writeTree(workspace, {
      "dist/big.bin": big,
      "dist/readme.txt": "hello\n",
      "dist/deep/er/x.json": '{"x":1}',
    });
    const client = make();
    const digests = vi.spyOn(server.context.uploadDigests, "take");
    const uploaded = await client.uploadArtifact(`build-${tag}`, files, join(workspace, "dist"));
    // The server followed the digest while the SDK's parallel blocks arrived (no second pass).
    expect(digests.mock.results.map((r) => r.value as unknown)).toContain(`sha256:${uploaded.digest}`);
    digests.mockRestore();
    expect(uploaded.id).toBeGreaterThan(0);
    expect(uploaded.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(uploaded.size).toBeGreaterThan(20 * MiB);

    const stored = await server.store.artifacts.byId(uploaded.id ?? 0);
    expect(stored).toMatchObject({
      status: "finalized",
      size: uploaded.size,
      digest: `sha256:${uploaded.digest}`,
    });

    const listed = await client.listArtifacts();
    expect(listed.artifacts.map((a) => a.name)).toEqual([`build-${tag}`]);
    expect(listed.artifacts[0]).toMatchObject({ id: uploaded.id, size: uploaded.size });
    const got = await client.getArtifact(`build-${tag}`);
    expect(got.artifact).toMatchObject({ id: uploaded.id, name: `build-${tag}`, size: uploaded.size });

    const into = join(workspace, "downloaded");
    const downloaded = await client.downloadArtifact(uploaded.id ?? 0, {
      path: into,
      expectedHash: got.artifact.digest,
    });
    expect(downloaded.digestMismatch).toBe(false);
    expect(readFileSync(join(into, "big.bin")).equals(big)).toBe(true);
    expect(readFileSync(join(into, "readme.txt"), "utf8")).toBe("hello\n");
    expect(readFileSync(join(into, "deep/er/x.json"), "utf8")).toBe('{"x":1}');

    // A later job of the same run sees it too; then it is deleted.
    expect((await client.deleteArtifact(`build-${tag}`)).id).toBe(uploaded.id);
    expect((await client.listArtifacts()).artifacts).toEqual([]);
    await expect(client.getArtifact(`build-${tag}`)).rejects.toThrow(/not found/i);
    expect(await server.store.blobs.size(stored?.blob ?? "")).toBeUndefined();
    await job.end();
  });

  it("refuses a second artifact of the same name in a run", async () => {
    const job = await runningJob();
    const workspace = useJob(job);
    const files = writeTree(workspace, { "a.txt": "a" });
    const client = make();
    await client.uploadArtifact(`twice-${tag}`, files, workspace);
    await expect(client.uploadArtifact(`twice-${tag}`, files, workspace)).rejects.toThrow(
      /already uploaded in this run/,
    );
    await job.end();
  });

  it("cannot see or touch another run's artifacts, nor work once its job ended", async () => {
    const owner = await runningJob();
    const files = writeTree(useJob(owner), { "secret.txt": "s" });
    const uploaded = await make().uploadArtifact(`private-${tag}`, files, process.env.GITHUB_WORKSPACE ?? "");

    const stranger = await runningJob(otherRepositoryId);
    useJob(stranger);
    const client = make();
    expect((await client.listArtifacts()).artifacts).toEqual([]);
    await expect(client.getArtifact(`private-${tag}`)).rejects.toThrow(/not found/i);
    await expect(client.downloadArtifact(uploaded.id ?? 0, { path: join(base, "stolen") })).rejects.toThrow();

    await owner.end();
    useJob(owner);
    await expect(make().listArtifacts()).rejects.toThrow(/job has ended/);
    await stranger.end();
  });
});

describe("artifacts between the two clients", () => {
  it("downloads with the current client what the bundled one uploaded, and the other way round", async () => {
    const job = await runningJob();
    const workspace = useJob(job);
    const files = writeTree(workspace, { "out/a.bin": randomBytes(MiB), "out/b.txt": "b" });
    const up2 = await new BundledClient().uploadArtifact("from-v2", files, join(workspace, "out"));
    const up6 = await new CurrentClient().uploadArtifact("from-v6", files, join(workspace, "out"), {
      compressionLevel: 0,
    });
    const by6 = join(workspace, "by6");
    await new CurrentClient().downloadArtifact(up2.id ?? 0, { path: by6 });
    const by2 = join(workspace, "by2");
    await new BundledClient().downloadArtifact(up6.id ?? 0, { path: by2 });
    for (const folder of [by6, by2]) {
      expect(readdirSync(folder).sort()).toEqual(["a.bin", "b.txt"]);
      expect(readFileSync(join(folder, "a.bin")).equals(readFileSync(join(workspace, "out/a.bin")))).toBe(
        true,
      );
    }
    await job.end();
  });
});

describe("the built-in actions' store (src/agent/service-artifact-store.ts) and GitHub's clients", () => {
  async function storeFor(job: RunningJob): Promise<ServiceArtifactStore> {
    const ids = await idsOf(job);
    return new ServiceArtifactStore({
      token: job.token,
      resultsUrl: `${server.url}/`,
      runId: ids.run,
      jobId: ids.job,
      serverUrl: server.url,
      blockBytes: 256 * 1024,
    });
  }

  it.each([0, 6])("uploads a zip the clients download, at compression level %i", async (level) => {
    const job = await runningJob();
    const workspace = useJob(job);
    const big = randomBytes(MiB + 3);
    const files = writeTree(workspace, { "bin/app": big, "notes.txt": "n\n" });
    const store = await storeFor(job);
    const record = await store.publish(
      `builtin-${level}`,
      [
        { source: files[0] ?? "", path: "bin/app" },
        { source: files[1] ?? "", path: "notes.txt" },
      ],
      { overwrite: false, retentionDays: 1, compressionLevel: level },
    );
    expect(record?.digest).toMatch(/^[0-9a-f]{64}$/);
    for (const make of [() => new BundledClient(), () => new CurrentClient()]) {
      const into = mkdtempSync(join(base, "client-"));
      const got = await make().getArtifact(`builtin-${level}`);
      expect(got.artifact.digest).toBe(`sha256:${record?.digest}`);
      const result = await make().downloadArtifact(got.artifact.id, {
        path: into,
        expectedHash: got.artifact.digest,
      });
      expect(result.digestMismatch).toBe(false);
      expect(readFileSync(join(into, "bin/app")).equals(big)).toBe(true);
      expect(readFileSync(join(into, "notes.txt"), "utf8")).toBe("n\n");
    }
    // A second upload of the name is refused (undefined), unless overwrite.
    expect(
      await store.publish(`builtin-${level}`, [{ source: files[1] ?? "", path: "x" }], {
        overwrite: false,
        retentionDays: 1,
        compressionLevel: level,
      }),
    ).toBeUndefined();
    const replaced = await store.publish(`builtin-${level}`, [{ source: files[1] ?? "", path: "x" }], {
      overwrite: true,
      retentionDays: 1,
      compressionLevel: level,
    });
    expect(replaced?.id).not.toBe(record?.id);
    expect((await store.list()).filter((r) => r.name === `builtin-${level}`)).toHaveLength(1);
    await job.end();
  });

  it("downloads what the clients uploaded, checking the digest", async () => {
    const job = await runningJob();
    const workspace = useJob(job);
    const big = randomBytes(2 * MiB);
    const files = writeTree(workspace, { "out/a.bin": big, "out/sub/b.txt": "b" });
    await new BundledClient().uploadArtifact("by-client", files, join(workspace, "out"));
    const store = await storeFor(job);
    const record = await store.describe("by-client");
    expect(record).toBeDefined();
    const into = join(workspace, "fetched");
    expect(await store.fetch(record as ArtifactRecord, into)).toEqual({ files: 2, digestMatches: true });
    expect(readFileSync(join(into, "a.bin")).equals(big)).toBe(true);
    expect(readFileSync(join(into, "sub/b.txt"), "utf8")).toBe("b");
    // A record whose digest is not the content's is reported, as download-artifact warns.
    const wrong = { ...(record as ArtifactRecord), digest: "0".repeat(64) };
    expect((await store.fetch(wrong, join(workspace, "again"))).digestMatches).toBe(false);
    await job.end();
  });
});

describe("the protocol at its edges", () => {
  it("rejects a corrupted upload: a digest or a size that does not match what was stored", async () => {
    const job = await runningJob();
    const ids = await idsOf(job);
    const content = randomBytes(3000);
    for (const [artifact, finalize] of [
      ["bad-digest", { size: String(content.length), hash: `sha256:${sha256(Buffer.from("other"))}` }],
      ["bad-size", { size: String(content.length - 1), hash: `sha256:${sha256(content)}` }],
    ] as const) {
      const created = await twirp<{ ok: boolean; signed_upload_url: string }>(job.token, "CreateArtifact", {
        workflow_run_backend_id: ids.run,
        workflow_job_run_backend_id: ids.job,
        name: artifact,
        version: 4,
      });
      expect(created.status).toBe(200);
      await new BlockBlobClient(created.body.signed_upload_url).uploadData(content);
      const finalized = await twirp<{ code: string; msg: string }>(job.token, "FinalizeArtifact", {
        workflow_run_backend_id: ids.run,
        workflow_job_run_backend_id: ids.job,
        name: artifact,
        ...finalize,
      });
      expect(finalized.status).toBe(400);
      expect(finalized.body.code).toBe("invalid_argument");
      expect(finalized.body.msg).toMatch(
        artifact === "bad-digest" ? /does not match its digest/ : /incomplete/,
      );
    }
    const listed = await twirp<{ artifacts: unknown[] }>(job.token, "ListArtifacts", {
      workflow_run_backend_id: ids.run,
    });
    expect(listed.body.artifacts).toEqual([]);
    await job.end();
  });

  it("assembles blocks sent out of order by the block list, and verifies the digest of the whole", async () => {
    const job = await runningJob();
    const ids = await idsOf(job);
    const created = await twirp<{ signed_upload_url: string }>(job.token, "CreateArtifact", {
      workflow_run_backend_id: ids.run,
      workflow_job_run_backend_id: ids.job,
      name: "blocks",
      version: 7,
    });
    const url = new URL(created.body.signed_upload_url);
    const parts = [randomBytes(1000), randomBytes(2000), randomBytes(500)];
    const blockIds = parts.map((_, i) =>
      Buffer.from(`block-${String(i).padStart(4, "0")}`).toString("base64"),
    );
    const put = (query: string, body: Buffer | string) => {
      const target = new URL(url);
      for (const [key, value] of new URLSearchParams(query)) target.searchParams.set(key, value);
      return fetch(target, { method: "PUT", body });
    };
    const order = [2, 0, 1];
    const answers = await Promise.all(
      order.map((i) => put(`comp=block&blockid=${blockIds[i] ?? ""}`, parts[i] ?? Buffer.alloc(0))),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${blockIds.map((b) => `<Latest>${b}</Latest>`).join("")}</BlockList>`;
    const committed = await put("comp=blocklist", list);
    expect(committed.status, await committed.text()).toBe(201);
    const whole = Buffer.concat(parts);
    const finalized = await twirp<{ ok: boolean; artifact_id: string }>(job.token, "FinalizeArtifact", {
      workflow_run_backend_id: ids.run,
      workflow_job_run_backend_id: ids.job,
      name: "blocks",
      size: String(whole.length),
      hash: `sha256:${sha256(whole)}`,
    });
    expect(finalized.body.ok).toBe(true);
    const signed = await twirp<{ signed_url: string }>(job.token, "GetSignedArtifactURL", {
      workflow_run_backend_id: ids.run,
      workflow_job_run_backend_id: ids.job,
      name: "blocks",
    });
    const download = await fetch(signed.body.signed_url);
    expect(download.headers.get("content-type")).toBe("application/zip");
    expect(Buffer.from(await download.arrayBuffer()).equals(whole)).toBe(true);
    // The signature is the `sig` parameter (what the clients mask); without it, or changed, nothing.
    const unsigned = new URL(signed.body.signed_url);
    expect(unsigned.searchParams.get("sig")).toBeTruthy();
    unsigned.searchParams.set("sig", "x".repeat(43));
    expect((await fetch(unsigned)).status).toBe(403);
    await job.end();
  });

  it("refuses names with path separators, '..', NUL or control characters", async () => {
    const job = await runningJob();
    const ids = await idsOf(job);
    for (const bad of ["a/b", "a\\b", "..", "x..y", "nul\u0000", "bell\u0007", ""]) {
      const created = await twirp<{ msg: string }>(job.token, "CreateArtifact", {
        workflow_run_backend_id: ids.run,
        workflow_job_run_backend_id: ids.job,
        name: bad,
      });
      expect(created.status, JSON.stringify(bad)).toBe(400);
      expect(created.body.msg).toMatch(/artifact name/i);
    }
    await job.end();
  });

  it("refuses another run's ids and another job's uploads with a reason", async () => {
    const job = await runningJob();
    const ids = await idsOf(job);
    const foreignRun = await twirp<{ code: string; msg: string }>(job.token, "ListArtifacts", {
      workflow_run_backend_id: String(Number(ids.run) + 1000),
    });
    expect(foreignRun.status).toBe(403);
    expect(foreignRun.body.msg).toMatch(/only its own run's artifacts/);
    const asOther = await twirp<{ code: string }>(job.token, "CreateArtifact", {
      workflow_run_backend_id: ids.run,
      workflow_job_run_backend_id: String(job.id + 1),
      name: "x",
    });
    expect(asOther.status).toBe(403);
    const noToken = await fetch(
      `${server.url}/twirp/github.actions.results.api.v1.ArtifactService/ListArtifacts`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ workflow_run_backend_id: ids.run }),
      },
    );
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { msg: string }).msg).toMatch(/ACTIONS_RUNTIME_TOKEN/);
    await job.end();
  });

  it("lets a re-run attempt upload a name again, replacing the earlier attempt's artifact", async () => {
    const first = await runningJob();
    const workspace = useJob(first);
    const files = writeTree(workspace, { "v.txt": "attempt 1" });
    const one = await new CurrentClient().uploadArtifact("again", files, workspace);
    await first.end();
    // The second attempt of the same run, as "re-run" makes it, with its own job.
    const runId = Number((await idsOf(first)).run);
    const attempt = await server.store.runs.newAttempt(runId, []);
    await server.store.jobs.ensureQueued({
      runId,
      attempt,
      key: "build#0",
      name: "build",
      labels: [],
      assignment: "{}",
    });
    const [claimed] = await server.store.jobs.claim(1, [], 1, 600);
    if (!claimed) throw new Error("no job to claim");
    const second = {
      id: claimed.id,
      token: server.context.runtimeTokens.issue({ jobId: claimed.id, runId, repositoryId }),
      end: async () => void (await server.store.jobs.finish(claimed.id, { conclusion: "success" })),
    };
    writeTree(useJob(second), { "v.txt": "attempt 2" });
    const two = await new CurrentClient().uploadArtifact(
      "again",
      [join(process.env.GITHUB_WORKSPACE ?? "", "v.txt")],
      process.env.GITHUB_WORKSPACE ?? "",
    );
    expect(two.id).not.toBe(one.id);
    const listed = await new CurrentClient().listArtifacts();
    expect(listed.artifacts.map((a) => [a.name, a.id])).toEqual([["again", two.id]]);
    await second.end();
  });

  it("refuses an upload over the configured size limit while it is sent", async () => {
    const small = await ConveyorServer.start({
      dataDir: join(base, "small"),
      port: 0,
      artifactMaxSize: 64 * 1024,
    });
    try {
      const repository = await repositoryIn(small, "admin", "app");
      const job = await startJob(small, repository, "refs/heads/main");
      const workspace = useJob(job);
      process.env.ACTIONS_RESULTS_URL = `${small.url}/`;
      const files = writeTree(workspace, { "big.bin": randomBytes(200 * 1024) });
      await expect(new CurrentClient().uploadArtifact("too-big", files, workspace)).rejects.toThrow(
        /over the limit of 65536 bytes/,
      );
      expect(await small.store.artifacts.finalizedIn(Number((await idsOf(job)).run))).toEqual([]);
      await job.end();
    } finally {
      await small.close();
    }
  });

  it("lists a run's artifacts in the API, serves them as zip, and sweeps them once expired", async () => {
    const job = await runningJob();
    const workspace = useJob(job);
    const files = writeTree(workspace, { "r.txt": "report" });
    const uploaded = await new CurrentClient().uploadArtifact("report", files, workspace, {
      retentionDays: 2,
    });
    const runId = (await idsOf(job)).run;
    const listed = await api<{
      totalCount: number;
      artifacts: { id: number; name: string; size: number; digest: string; expiresAt: string }[];
    }>(`/runs/${runId}/artifacts`);
    expect(listed.status).toBe(200);
    expect(listed.body.artifacts).toEqual([
      expect.objectContaining({
        id: uploaded.id,
        name: "report",
        size: uploaded.size,
        digest: `sha256:${uploaded.digest}`,
      }),
    ]);
    const days = (Date.parse(listed.body.artifacts[0]?.expiresAt ?? "") - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(1.9);
    expect(days).toBeLessThanOrEqual(2);

    const zip = await fetch(`${server.url}/api/v1/artifacts/${uploaded.id}/zip`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(zip.status).toBe(200);
    expect(zip.headers.get("content-type")).toBe("application/zip");
    expect(zip.headers.get("content-disposition")).toContain("report.zip");
    const body = Buffer.from(await zip.arrayBuffer());
    expect(body.subarray(0, 4).toString("hex")).toBe("504b0304");
    expect(`sha256:${sha256(body)}`).toBe(`sha256:${uploaded.digest}`);
    expect((await fetch(`${server.url}/api/v1/artifacts/${uploaded.id}/zip`)).status).toBe(401);

    const stored = await server.store.artifacts.byId(uploaded.id ?? 0);
    const service = new ArtifactService(server.context);
    expect(await service.sweep(Date.now())).toBe(0);
    expect(await service.sweep(Date.now() + 3 * 86_400_000)).toBeGreaterThanOrEqual(1);
    expect(await server.store.artifacts.byId(uploaded.id ?? 0)).toBeUndefined();
    expect(await server.store.blobs.size(stored?.blob ?? "")).toBeUndefined();
    expect((await api<{ artifacts: unknown[] }>(`/runs/${runId}/artifacts`)).body.artifacts).toEqual([]);
    await job.end();
  });
});
