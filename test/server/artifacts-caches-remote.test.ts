/**
 * Issue 5's acceptance workflow: the first job uploads an artifact and caches a folder; the next job
 * downloads the artifact and hits the cache. The same file passes under `conveyor run` and on
 * `conveyor up` whose only runner is a separate `conveyor runner` process.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { conveyor, repositoryWith } from "../cli/helpers.js";
import type { RunningProcess, StartedServer } from "./helpers.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startCli, startServer } from "./helpers.js";

const WORKFLOW = `name: Build and use
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache@v4
        id: deps
        with:
          path: deps
          key: deps-\${{ hashFiles('lock.txt') }}
      - if: steps.deps.outputs.cache-hit != 'true'
        run: mkdir -p deps/tree && echo "installed from $(cat lock.txt)" > deps/tree/pkg.txt
      - run: mkdir -p dist && echo "binary of \${{ github.sha }}" > dist/app.bin
      - uses: actions/upload-artifact@v4
        with:
          name: app
          path: dist/
  use:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/download-artifact@v4
        with:
          name: app
          path: got
      - uses: actions/cache@v4
        id: deps
        with:
          path: deps
          key: deps-\${{ hashFiles('lock.txt') }}
          fail-on-cache-miss: true
      - run: |
          echo "artifact: $(cat got/app.bin)"
          echo "cache-hit=\${{ steps.deps.outputs.cache-hit }} deps: $(cat deps/tree/pkg.txt)"
`;

const FILES = { "lock.txt": "left-pad@1.3.0\n", ".github/workflows/ci.yml": WORKFLOW };

describe("an artifact and a cache passed between jobs", () => {
  it("works under conveyor run", () => {
    const project = repositoryWith(FILES);
    const result = conveyor(["run", "push"], project);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/artifact: binary of [0-9a-f]{40}/);
    expect(result.stdout).toContain("cache-hit=true deps: installed from left-pad@1.3.0");
  });

  let server: StartedServer | undefined;
  let runner: RunningProcess | undefined;
  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  it("works on conveyor up with a remote conveyor runner", async () => {
    server = await startServer(["--runner-capacity", "0"]);
    const registration = await api<{ token: string }>(server, "/runners/registration-token", { body: {} });
    runner = startCli([
      "runner",
      "--server",
      server.url,
      "--token",
      registration.body.token,
      "--dir",
      mkdtempSync(join(tmpdir(), "conveyor-remote-runner-")),
      "--name",
      "remote",
    ]);
    await api(server, "/repos", { body: { name: "app" } });
    const project = gitRepositoryWith(FILES);
    const pushed = await git(project, ["push", pushUrl(server, "admin", server.token, "admin/app"), "main"]);
    expect(pushed.status, pushed.stderr).toBe(0);

    const live = server;
    const runs = await eventually(
      () =>
        api<{ runs: { id: number; status: string; conclusion: string | null }[] }>(
          live,
          "/repos/admin/app/runs",
        ),
      (r) => r.body.runs[0]?.status === "completed",
      60_000,
    );
    const run = runs.body.runs[0] as { id: number; conclusion: string | null };
    const detail = await api<{
      jobs: { id: number; key: string; conclusion: string | null; runnerId: number | null }[];
    }>(server, `/runs/${run.id}`);
    const use = detail.body.jobs.find((j) => j.key === "use#0");
    const logs = await api<{ rows: { event: { type: string; text?: string } }[] }>(
      server,
      `/jobs/${use?.id ?? 0}/logs`,
    );
    const log = logs.body.rows.map((row) => row.event.text ?? "").join("\n");
    expect(run.conclusion, log).toBe("success");
    expect(log).toMatch(/artifact: binary of [0-9a-f]{40}/);
    expect(log).toContain("cache-hit=true deps: installed from left-pad@1.3.0");
    expect(log).toMatch(/Cache restored from key: deps-[0-9a-f]{64}/);
    // Both jobs ran on the remote runner (the built-in one is off).
    const runners = await api<{ id: number; name: string }[]>(server, "/runners");
    const remote = runners.body.find((r) => r.name === "remote");
    expect(detail.body.jobs.every((j) => j.runnerId === remote?.id)).toBe(true);
  }, 90_000);
});
