/**
 * Webhooks end to end on a real server: a mirrored repository receives a signed GitHub push
 * delivery, fetches the remote (another repository served over real HTTP), and starts the
 * workflows at the pushed commit; a redelivery starts nothing; a bad signature is refused.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConveyorServer } from "../../src/server/server.js";
import { api, git, gitRepositoryWith, pushUrl } from "./helpers.js";

const SECRET = "a webhook secret of some length";
let server: ConveyorServer;
let admin: { url: string; token: string };
let upstreamSha: string;

beforeAll(async () => {
  server = await ConveyorServer.start({ dataDir: mkdtempSync(join(tmpdir(), "conveyor-hooks-")), port: 0 });
  const bootstrap = await server.bootstrapAdmin("admin password");
  admin = { url: server.url, token: bootstrap?.token ?? "" };
  // The "remote": a repository this same server hosts, fetched over real HTTP with a token.
  await api(admin, "/repos", { body: { name: "upstream" } });
  const project = gitRepositoryWith({
    ".github/workflows/ci.yml":
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo hi }]\n",
    "src/app.js": "1\n",
  });
  expect(
    (await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/upstream"), "main"])).status,
  ).toBe(0);
  upstreamSha = (await git(project, ["rev-parse", "HEAD"])).stdout.trim();
  const mirror = await api(admin, "/repos", {
    body: {
      name: "mirror",
      mirrorUrl: pushUrl(admin, "admin", admin.token, "admin/upstream"),
      webhookSecret: SECRET,
    },
  });
  expect(mirror.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await server?.close();
});

function githubPush(id: string, body: string, secret = SECRET) {
  return fetch(`${server.url}/api/v1/repos/admin/mirror/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": id,
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    },
    body,
  });
}

function pushBody(): string {
  return JSON.stringify({
    ref: "refs/heads/main",
    before: "0".repeat(40),
    after: upstreamSha,
    created: true,
    deleted: false,
    forced: false,
    commits: [
      {
        id: upstreamSha,
        message: "first commit",
        added: ["src/app.js"],
        removed: [],
        modified: [],
        timestamp: "2026-01-01T00:00:00Z",
        author: { name: "T", email: "t@example.com" },
      },
    ],
    head_commit: {
      id: upstreamSha,
      message: "first commit",
      timestamp: "2026-01-01T00:00:00Z",
      author: { name: "T", email: "t@example.com" },
    },
    repository: {
      id: 1,
      name: "upstream",
      full_name: "someone/upstream",
      clone_url: "https://example.invalid/someone/upstream.git",
      default_branch: "main",
      owner: { login: "someone" },
    },
    pusher: { name: "someone", email: "s@example.com" },
    sender: { login: "someone", id: 5 },
  });
}

describe("webhooks", () => {
  it("starts the workflows of a signed push, once per delivery", async () => {
    const body = pushBody();
    const first = await githubPush("delivery-1", body);
    expect(first.status, await first.clone().text()).toBe(202);
    expect(((await first.json()) as { runs: number[] }).runs).toHaveLength(1);
    const again = await githubPush("delivery-1", body);
    expect(await again.json()).toMatchObject({ duplicate: true, runs: [] });
    const runs = await api<{ runs: { sha: string; actor: string; event: string }[] }>(
      admin,
      "/repos/admin/mirror/runs",
    );
    expect(runs.body.runs).toEqual([
      expect.objectContaining({ sha: upstreamSha, actor: "someone", event: "push" }),
    ]);
  });

  it("refuses a delivery signed with another secret, without starting anything", async () => {
    const response = await githubPush("delivery-2", pushBody(), "not the secret at all");
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).not.toContain(SECRET);
    const runs = await api<{ runs: unknown[] }>(admin, "/repos/admin/mirror/runs");
    expect(runs.body.runs).toHaveLength(1);
  });

  it("refuses a push to a mirror", async () => {
    const project = gitRepositoryWith({ "x.txt": "x\n" });
    const pushed = await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/mirror"), "main"]);
    expect(pushed.status).not.toBe(0);
    expect(pushed.stderr).toMatch(/push there instead|403/);
  });
});
