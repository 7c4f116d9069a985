import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DefaultArtifactClient as CurrentClient } from "@actions/artifact";
import { DefaultArtifactClient as BundledClient } from "artifact-v2";
import { it } from "vitest";
import { ConveyorServer } from "../../src/server/server.js";
import { repositoryIn, runningJob } from "./running-job.js";

it("perf", async () => {
  const base = mkdtempSync(join(tmpdir(), "perf-"));
  const server = await ConveyorServer.start({ dataDir: join(base, "data"), port: 0 });
  const repo = await repositoryIn(server, "admin", "app");
  const job = await runningJob(server, repo, "refs/heads/main");
  process.env.ACTIONS_RUNTIME_TOKEN = job.token;
  process.env.ACTIONS_RESULTS_URL = `${server.url}/`;
  process.env.GITHUB_SERVER_URL = "http://conveyor.localhost";
  const ws = mkdtempSync(join(base, "ws-"));
  process.env.GITHUB_WORKSPACE = ws;
  const chunk = randomBytes(64 * 1024 * 1024);
  const files = [];
  for (let i = 0; i < 8; i++) {
    const f = join(ws, `part${i}.bin`);
    writeFileSync(f, chunk);
    files.push(f);
  }
  const log = console.log;
  process.stdout.write = (() => true) as never;
  for (const [label, make] of [
    ["v6", () => new CurrentClient()],
    ["v2", () => new BundledClient()],
  ] as const) {
    let t = Date.now();
    const up = await make().uploadArtifact(`big-${label}`, files, ws, { compressionLevel: 0 });
    const upMs = Date.now() - t;
    t = Date.now();
    await make().downloadArtifact(up.id ?? 0, { path: join(base, `down-${label}`) });
    const downMs = Date.now() - t;
    process.stderr.write(
      `${label}: up ${upMs} ms (${((512 / upMs) * 1000).toFixed(0)} MiB/s), down ${downMs} ms (${((512 / downMs) * 1000).toFixed(0)} MiB/s)\n`,
    );
  }
  void log;
  await server.close();
  rmSync(base, { recursive: true, force: true });
}, 300_000);
