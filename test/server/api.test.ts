/**
 * The REST API on a real server: its OpenAPI description matches the routes, every route but the
 * public ones needs a token, and runs can be filtered, paged, cancelled and re-run (a re-run keeps
 * the earlier attempt and its logs).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_OPERATIONS } from "../../src/server/http/openapi.js";
import { ConveyorServer } from "../../src/server/server.js";
import { api, git, gitRepositoryWith, pushUrl } from "./helpers.js";

let server: ConveyorServer;
let admin: { url: string; token: string };

beforeAll(async () => {
  server = await ConveyorServer.start({ dataDir: mkdtempSync(join(tmpdir(), "conveyor-api-")), port: 0 });
  admin = { url: server.url, token: (await server.bootstrapAdmin("admin password"))?.token ?? "" };
}, 30_000);

afterAll(async () => {
  await server?.close();
});

const toFastify = (path: string) => `/api/v1${path.replace(/\{(\w+)\}/g, ":$1")}`;

describe("the API", () => {
  it("describes exactly the routes it serves under /api/v1", () => {
    const served = server.routes
      .filter((r) => r.url.startsWith("/api/v1/") && r.method !== "head")
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    const described = API_OPERATIONS.map((o) => `${o.method} ${toFastify(o.path)}`).sort();
    expect(served).toEqual(described);
  });

  it("answers 401 without a token on every route that is not public", async () => {
    for (const operation of API_OPERATIONS.filter((o) => !o.public)) {
      const url = `${server.url}${toFastify(operation.path).replace(/:\w+/g, "1")}`;
      const response = await fetch(url, {
        method: operation.method.toUpperCase(),
        headers: operation.method === "get" ? {} : { "content-type": "application/json" },
        body: operation.method === "get" ? undefined : "{}",
      });
      expect(response.status, `${operation.method} ${operation.path}`).toBe(401);
      expect(((await response.json()) as { error: string }).error).toMatch(/token/i);
    }
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
  });

  it("filters and pages runs, cancels queued ones and re-runs them as a new attempt", async () => {
    await api(admin, "/repos", { body: { name: "paging" } });
    const project = gitRepositoryWith({
      ".github/workflows/a.yml":
        "name: A\non: push\njobs:\n  j:\n    runs-on: no-such-runner\n    steps: [{ run: 'true' }]\n",
      ".github/workflows/b.yml":
        "name: B\non: push\njobs:\n  j:\n    runs-on: no-such-runner\n    steps: [{ run: 'true' }]\n",
    });
    const remote = pushUrl(admin, "admin", admin.token, "admin/paging");
    expect((await git(project, ["push", remote, "main"])).status).toBe(0);
    expect((await git(project, ["push", remote, "main:feature"])).status).toBe(0);
    const all = await api<{
      runs: { id: number; branch: string; workflow: { name: string } }[];
      next: number | null;
    }>(admin, "/repos/admin/paging/runs");
    expect(all.body.runs).toHaveLength(4);
    const onFeature = await api<{ runs: { branch: string }[] }>(
      admin,
      "/repos/admin/paging/runs?branch=feature",
    );
    expect(onFeature.body.runs.map((r) => r.branch)).toEqual(["feature", "feature"]);
    const firstPage = await api<{ runs: { id: number }[]; next: number }>(
      admin,
      "/repos/admin/paging/runs?limit=3&workflow=A",
    );
    expect(firstPage.body.runs).toHaveLength(2);
    const paged = await api<{ runs: { id: number }[]; next: number }>(
      admin,
      "/repos/admin/paging/runs?limit=1",
    );
    const second = await api<{ runs: { id: number }[] }>(
      admin,
      `/repos/admin/paging/runs?limit=1&before=${paged.body.next}`,
    );
    expect(second.body.runs[0]?.id).toBeLessThan(paged.body.runs[0]?.id as number);
    expect((await api(admin, "/repos/admin/paging/runs?status=sleeping")).status).toBe(400);

    // A job nobody can take waits, and says why.
    const runId = all.body.runs[0]?.id as number;
    const waiting = await api<{ jobs: { waitingReason: string }[] }>(admin, `/runs/${runId}`);
    expect(waiting.body.jobs[0]?.waitingReason).toMatch(/no-such-runner/);
    expect((await api(admin, `/runs/${runId}/rerun`, { body: {} })).status).toBe(409);
    expect((await api(admin, `/runs/${runId}/cancel`, { body: {} })).status).toBe(202);
    const cancelled = await api<{ status: string; conclusion: string }>(admin, `/runs/${runId}`);
    expect(cancelled.body).toMatchObject({ status: "completed", conclusion: "cancelled" });
    const rerun = await api<{ attempt: number }>(admin, `/runs/${runId}/rerun`, { body: {} });
    expect(rerun.body.attempt).toBe(2);
    const attempts = await api<{ attempt: number; jobs: { status: string }[] }>(admin, `/runs/${runId}`);
    expect(attempts.body).toMatchObject({ attempt: 2, jobs: [{ status: "queued" }] });
    const first = await api<{ jobs: { conclusion: string }[] }>(admin, `/runs/${runId}?attempt=1`);
    expect(first.body.jobs[0]?.conclusion).toBe("cancelled");
  });

  it("refuses bodies that are not what a route needs, naming the field", async () => {
    const response = await api<{ error: string }>(admin, "/repos", { body: { name: 42 } });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/'name'/);
    const broken = await fetch(`${server.url}/api/v1/repos`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toMatch(/not valid JSON/);
  });
});
