/**
 * Artifacts across the jobs of a run on a real server with a real (in-process) runner: the first job
 * uploads with the built-in actions/upload-artifact@v4 and with GitHub's own `@actions/artifact` from a
 * JavaScript action (which finds ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL where GitHub's runner
 * puts them, the token masked); the next job downloads both with the built-in download-artifact@v4.
 */
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runner } from "../../src/agent/runner.js";
import type { ConveyorServer } from "../../src/server/server.js";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "./helpers.js";

const CLIENT = resolve("node_modules/artifact-v2");

const PROBE_ACTION = `name: Probe
description: Uses the artifact service as GitHub's own actions do
runs:
  using: node20
  main: index.js
`;

const PROBE_SCRIPT = `const fs = require("node:fs");
const token = process.env.ACTIONS_RUNTIME_TOKEN ?? "";
console.log("runtime token present: " + (token.length > 0) + ", results at " + process.env.ACTIONS_RESULTS_URL);
console.log("the token itself: " + token);
// The clients refuse hosts they take for GitHub Enterprise Server; *.localhost passes (docs/artifacts-and-caches.md).
process.env.GITHUB_SERVER_URL = "http://conveyor.localhost";
const { DefaultArtifactClient } = require(${JSON.stringify(CLIENT)});
fs.writeFileSync("c.txt", "from GitHub's client\\n");
new DefaultArtifactClient()
  .uploadArtifact("from-client", ["c.txt"], ".")
  .then((result) => console.log("client uploaded artifact " + result.id))
  .catch((e) => { console.error(e); process.exit(1); });
`;

const WORKFLOW = `name: Build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      digest: \${{ steps.up.outputs.artifact-digest }}
      id: \${{ steps.up.outputs.artifact-id }}
    steps:
      - uses: actions/checkout@v4
      - run: |
          mkdir -p dist/sub
          echo hello > dist/a.txt
          head -c 3000000 /dev/urandom > dist/sub/b.bin
          sha256sum dist/sub/b.bin | cut -d' ' -f1 > expected.sum
      - uses: actions/upload-artifact@v4
        id: up
        with:
          name: dist
          path: dist/
          retention-days: 3
      - uses: actions/upload-artifact@v4
        with:
          name: sums
          path: expected.sum
      - run: test -z "$ACTIONS_RUNTIME_TOKEN" && echo "run steps have no runtime token"
      - uses: ./.github/actions/probe
  use:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: dist
          path: got
      - uses: actions/download-artifact@v4
        with:
          pattern: "{sums,from-client}"
          path: more
      - run: |
          cat got/a.txt
          test "$(sha256sum got/sub/b.bin | cut -d' ' -f1)" = "$(cat more/sums/expected.sum)" && echo "binary intact"
          cat more/from-client/c.txt
          echo "digest from build: \${{ needs.build.outputs.digest }}"
`;

let server: ConveyorServer;
let runner: Runner;
let admin: { url: string; token: string };

beforeAll(async () => {
  ({ server, runner, admin } = await startInProcess({ prefix: "conveyor-artifacts-e2e-", capacity: 2 }));
  await api(admin, "/repos", { body: { name: "app" } });
}, 30_000);

afterAll(async () => {
  await runner?.stop({ cancelJobs: true });
  await server?.close();
});

interface RunDetail {
  id: number;
  status: string;
  conclusion: string | null;
  jobs: { id: number; name: string; conclusion: string | null }[];
}

async function logOf(jobId: number): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/jobs/${jobId}/logs?format=text`, {
    headers: { authorization: `Bearer ${admin.token}` },
  });
  return response.text();
}

describe("artifacts on a server runner", () => {
  it("uploads in one job and downloads in the next, with the built-in actions and GitHub's client", async () => {
    const project = gitRepositoryWith({
      ".github/workflows/build.yml": WORKFLOW,
      ".github/actions/probe/action.yml": PROBE_ACTION,
      ".github/actions/probe/index.js": PROBE_SCRIPT,
    });
    expect(
      (await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/app"), "main"])).status,
    ).toBe(0);
    const runs = await eventually(
      async () =>
        (await api<{ runs: { id: number; status: string }[] }>(admin, "/repos/admin/app/runs")).body.runs,
      (r) => r.length > 0 && r.every((run) => run.status === "completed"),
      60_000,
    );
    const detail = (await api<RunDetail>(admin, `/runs/${runs[0]?.id}`)).body;
    const build = detail.jobs.find((j) => j.name === "build");
    const use = detail.jobs.find((j) => j.name === "use");
    const buildLog = await logOf(build?.id ?? 0);
    const useLog = await logOf(use?.id ?? 0);
    expect({
      conclusion: detail.conclusion,
      build: buildLog.slice(-3000),
      use: useLog.slice(-3000),
    }).toMatchObject({
      conclusion: "success",
    });

    expect(buildLog).toContain("run steps have no runtime token");
    expect(buildLog).toMatch(/runtime token present: true, results at http:\/\/127\.0\.0\.1:\d+\//);
    expect(buildLog).toContain("the token itself: ***");
    // The token is a JWT: its header never reaches the log.
    expect(buildLog).not.toMatch(/eyJhbGciOi/);
    expect(buildLog).toMatch(/client uploaded artifact \d+/);
    expect(useLog).toContain("hello");
    expect(useLog).toContain("binary intact");
    expect(useLog).toContain("from GitHub's client");

    const listed = await api<{
      artifacts: { id: number; name: string; size: number; digest: string; expiresAt: string }[];
    }>(admin, `/runs/${detail.id}/artifacts`);
    expect(listed.body.artifacts.map((a) => a.name).sort()).toEqual(["dist", "from-client", "sums"]);
    const dist = listed.body.artifacts.find((a) => a.name === "dist");
    expect(useLog).toContain(`digest from build: ${dist?.digest.replace("sha256:", "")}`);
    expect(Date.parse(dist?.expiresAt ?? "") - Date.now()).toBeGreaterThan(2.9 * 86_400_000);
    // The zip people download is the one the runner uploaded.
    const zip = await fetch(`${server.url}/api/v1/artifacts/${dist?.id}/zip`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(zip.status).toBe(200);
    expect((await zip.arrayBuffer()).byteLength).toBe(dist?.size);
  }, 90_000);
});
