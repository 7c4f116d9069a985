/**
 * Issue 4's end-to-end acceptance: `conveyor up`, create a repository, `git push` a project, watch
 * the run start, stream its log live, finish green; a second runner process takes the jobs labelled
 * for it. All real processes: the built CLI, git, HTTP on loopback.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, eventually, git, gitRepositoryWith, pushUrl, startCli, startServer } from "./helpers.js";
import type { RunningProcess, StartedServer } from "./helpers.js";

interface RunView {
  id: number;
  status: string;
  conclusion: string | null;
  title: string;
  jobs: {
    id: number;
    key: string;
    status: string;
    conclusion: string | null;
    runnerId: number | null;
    steps: { name: string; conclusion: string | null }[];
  }[];
}

const WORKFLOW = `name: CI
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      greeting: \${{ steps.greet.outputs.greeting }}
    steps:
      - uses: actions/checkout@v4
      - run: cat README.md
      - id: greet
        run: |
          for i in 1 2 3; do echo "building $i"; sleep 0.2; done
          echo "greeting=hello from build" >> "$GITHUB_OUTPUT"
  gpu:
    needs: build
    runs-on: [self-hosted, gpu]
    steps:
      - run: echo "gpu job says \${{ needs.build.outputs.greeting }}"
`;

let server: StartedServer;
let gpuRunner: RunningProcess | undefined;

beforeAll(async () => {
  server = await startServer();
}, 30_000);

afterAll(async () => {
  await gpuRunner?.stop();
  await server?.stop();
});

/** Reads a Server-Sent Events stream to its `end` event; the data of each event, in order. */
async function followLog(jobId: number): Promise<string[]> {
  const response = await fetch(`${server.url}/api/v1/jobs/${jobId}/logs/stream`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
  const decoder = new TextDecoder();
  let buffer = "";
  const events: string[] = [];
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name === "end") return events;
      if (data) events.push(data);
    }
  }
  return events;
}

describe("conveyor up, end to end", () => {
  it("runs a pushed project's workflow on the built-in runner and a second runner, streaming logs", async () => {
    const created = await api<{ cloneUrl: string }>(server, "/repos", { body: { name: "app" } });
    expect(created.status).toBe(201);
    expect(created.body.cloneUrl).toBe(`${server.url}/admin/app.git`);

    // A second runner, with a label the built-in one lacks.
    const registration = await api<{ token: string; command: string }>(
      server,
      "/runners/registration-token",
      { body: {} },
    );
    expect(registration.status).toBe(201);
    gpuRunner = startCli([
      "runner",
      "--server",
      server.url,
      "--token",
      registration.body.token,
      "--labels",
      "gpu",
      "--dir",
      mkdtempSync(join(tmpdir(), "conveyor-gpu-runner-")),
      "--name",
      "gpu-box",
    ]);
    await eventually(
      () => api<{ name: string; online: boolean }[]>(server, "/runners"),
      (r) => r.body.some((runner) => runner.name === "gpu-box" && runner.online),
    );

    const project = gitRepositoryWith({ "README.md": "# The app\n", ".github/workflows/ci.yml": WORKFLOW });
    const pushed = await git(project, ["push", pushUrl(server, "admin", server.token, "admin/app"), "main"]);
    expect(pushed.status, pushed.stderr).toBe(0);

    // The run exists when `git push` returns.
    const runs = await api<{ runs: { id: number; title: string; event: string; branch: string }[] }>(
      server,
      "/repos/admin/app/runs",
    );
    expect(runs.body.runs).toHaveLength(1);
    const run = runs.body.runs[0] as { id: number; title: string; event: string; branch: string };
    expect(run).toMatchObject({ title: "first commit", event: "push", branch: "main" });

    const build = await eventually(
      () => api<RunView>(server, `/runs/${run.id}`),
      (r) => r.body.jobs.some((j) => j.key === "build#0"),
    );
    const buildJob = build.body.jobs.find((j) => j.key === "build#0") as RunView["jobs"][number];
    const streamed = (await followLog(buildJob.id)).map(
      (d) => JSON.parse(d) as { type: string; text?: string },
    );
    const lines = streamed.filter((e) => e.type === "log").map((e) => e.text);
    expect(lines).toContain("# The app");
    expect(lines).toEqual(expect.arrayContaining(["building 1", "building 2", "building 3"]));

    const finished = await eventually(
      () => api<RunView>(server, `/runs/${run.id}`),
      (r) => r.body.status === "completed",
    );
    expect(finished.body.conclusion).toBe("success");
    const runners = await api<{ id: number; name: string }[]>(server, "/runners");
    const gpuBox = runners.body.find((r) => r.name === "gpu-box");
    const gpuJob = finished.body.jobs.find((j) => j.key === "gpu#0");
    expect(gpuJob?.runnerId).toBe(gpuBox?.id);
    const gpuLog = await fetch(`${server.url}/api/v1/jobs/${gpuJob?.id}/logs?format=text`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(await gpuLog.text()).toContain("gpu job says hello from build");
  }, 60_000);

  it("refuses a push without a token, or with the token of a user who does not own the repository", async () => {
    await api(server, "/repos", { body: { name: "private" } });
    const bob = await api(server, "/users", { body: { login: "bob", password: "bob's password" } });
    expect(bob.status).toBe(201);
    const project = gitRepositoryWith({ "README.md": "x\n" });
    const anonymous = await git(project, ["push", `${server.url}/admin/private.git`, "main"]);
    expect(anonymous.status).not.toBe(0);
    expect(anonymous.stderr).toMatch(/Authentication|401|could not read Username/i);

    const bobToken = await bobsToken();
    const asBob = await git(project, ["push", pushUrl(server, "bob", bobToken, "admin/private"), "main"]);
    expect(asBob.status).not.toBe(0);
    expect(asBob.stderr).toMatch(/403|may not push/);
    const runs = await api<{ runs: unknown[] }>(server, "/repos/admin/private/runs");
    expect(runs.body.runs).toHaveLength(0);
  }, 30_000);
});

/** Bob signs in with his password (HTTP basic) to create a token of his own. */
async function bobsToken(): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/user/tokens`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from("bob:bob's password").toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ name: "bob's laptop" }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}
