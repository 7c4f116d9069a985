/**
 * actions/cache on `conveyor up`: a real server and a real (in-process) runner. The first job of a
 * run caches a folder; a later job restores it (cache-hit true), and so does a second run, through
 * the server's cache service, the way GitHub-hosted runs share caches.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runner } from "../../src/agent/runner.js";
import type { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "./helpers.js";

interface RunSummary {
  id: number;
  event: string;
  status: string;
  conclusion: string | null;
}

const WORKFLOW = `name: Cached
on: [push, workflow_dispatch]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/cache@v4
        id: cache
        with:
          path: deps
          key: deps-\${{ runner.os }}-v1
      - if: steps.cache.outputs.cache-hit != 'true'
        run: mkdir -p deps/nested && echo "built in run \${{ github.run_number }}" > deps/nested/out.txt
      - run: echo "build cache-hit=\${{ steps.cache.outputs.cache-hit }}"
  use:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/cache/restore@v4
        id: restore
        with:
          path: deps
          key: deps-\${{ runner.os }}-v1
          fail-on-cache-miss: true
      - run: echo "use cache-hit=\${{ steps.restore.outputs.cache-hit }} content=$(cat deps/nested/out.txt)"
`;

let server: ConveyorServer;
let runner: Runner;
let admin: { url: string; token: string };

/** The value, or a failed test saying what was missing. */
function present<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}`);
  return value;
}

beforeAll(async () => {
  ({ server, runner, admin } = await startInProcess({ prefix: "conveyor-caches-e2e-", capacity: 2 }));
  await api(admin, "/repos", { body: { name: "app" } });
}, 30_000);

afterAll(async () => {
  await runner?.stop({ cancelJobs: true });
  await server?.close();
});

const runsOf = async () => (await api<{ runs: RunSummary[] }>(admin, "/repos/admin/app/runs")).body.runs;

async function logOf(runId: number, job: string): Promise<string> {
  const detail = await api<{ jobs: { id: number; name: string }[] }>(admin, `/runs/${runId}`);
  const id = detail.body.jobs.find((j) => j.name === job)?.id;
  const response = await fetch(`${server.url}/api/v1/jobs/${id}/logs?format=text`, {
    headers: { authorization: `Bearer ${admin.token}` },
  });
  return response.text();
}

describe("actions/cache on a server runner", () => {
  it("saves in the first job, hits in a later job and in the next run", async () => {
    const project = gitRepositoryWith({ ".github/workflows/cached.yml": WORKFLOW });
    const pushed = await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/app"), "main"]);
    expect(pushed.status).toBe(0);
    const [completed] = await eventually(
      runsOf,
      (runs) => runs.length === 1 && runs[0]?.status === "completed",
    );
    const first = present(completed, "the push's run");
    expect(first.conclusion, await logOf(first.id, "build")).toBe("success");
    expect(await logOf(first.id, "build")).toContain("build cache-hit=\n");
    expect(await logOf(first.id, "build")).toContain("Cache saved with key: deps-Linux-v1");
    expect(await logOf(first.id, "use")).toContain("use cache-hit=true content=built in run 1");

    const dispatched = await api(admin, "/repos/admin/app/dispatches", { body: { workflow: "cached.yml" } });
    expect(dispatched.status).toBeLessThan(300);
    const runs = await eventually(
      runsOf,
      (r) => r.length === 2 && r.every((run) => run.status === "completed"),
    );
    const second = present(
      runs.find((r) => r.event === "workflow_dispatch"),
      "the dispatched run",
    );
    expect(second.conclusion).toBe("success");
    const build = await logOf(second.id, "build");
    expect(build).toContain("build cache-hit=true");
    expect(build).toContain("Cache hit occurred on the primary key deps-Linux-v1, not saving cache.");
    expect(await logOf(second.id, "use")).toContain("use cache-hit=true content=built in run 1");

    const caches = await api<{
      totalSize: number;
      quota: number;
      caches: { key: string; ref: string; size: number }[];
    }>(admin, "/repos/admin/app/caches");
    expect(caches.body.caches).toEqual([
      expect.objectContaining({ key: "deps-Linux-v1", ref: "refs/heads/main" }),
    ]);
    expect(caches.body.totalSize).toBe(caches.body.caches[0]?.size);
  }, 60_000);
});
