// Benchmark (issue 5): a 500 MiB artifact up and down through the server's artifact service on
// loopback, with the built-in actions/upload-artifact@v4 and download-artifact@v4 on a `conveyor runner`
// (zip made as the files are read, sent in 8 MiB blocks four at a time, the server checking
// the SHA-256; the download extracted as it arrives). Target: 200 MB/s or more each way, measured as
// the artifact's bytes over the step's duration (as the run records it).
//
// The data is random (it does not compress), so the upload uses `compression-level: 0`, as
// upload-artifact's README advises for such files; compression speed is zlib's, not the service's.
// Disk writeback moves figures a lot on a shared machine: every sample starts after `sync` (the
// download job too, in a step before it); medians are compared.
// Run: npm run build && node bench/artifacts.mjs   (SAMPLES=n, KEEP=1)
// Exits 1 when the target is missed.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clearInterval, setInterval } from "node:timers";
import {
  api,
  benchmark,
  hostedRepository,
  machineNote,
  median,
  ms1,
  push,
  completedRun,
  cpuMs,
  sleep,
  startRunner,
  startServer,
  tempDir,
  verdict,
} from "./lib/conveyor-server.mjs";

const TARGET_MB_PER_S = 200;
const SAMPLES = Number(process.env.SAMPLES ?? 3);
const FILES = 5;
const FILE_BYTES = 100 * 1024 * 1024;
const TOTAL = FILES * FILE_BYTES;

const workflows = (dataDir) => ({
  ".github/workflows/ready.yml":
    "name: Ready\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: 'true' }]\n",
  ".github/workflows/artifact.yml": `name: Artifact
on: workflow_dispatch
jobs:
  up:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/upload-artifact@v4
        with:
          name: big
          path: ${dataDir}
          compression-level: 0
  down:
    needs: up
    runs-on: ubuntu-latest
    steps:
      - run: sync
      - uses: actions/download-artifact@v4
        with:
          name: big
          path: got
      - run: test "$(du -sb got | cut -f1)" -ge ${TOTAL}
`,
});

/** `sync`, then a moment: the sample after it does not pay for the last one's writeback. */
async function settle() {
  spawnSync("sync");
  await sleep(200);
}

const stepMs = (step) => Date.parse(step.finishedAt) - Date.parse(step.startedAt);

/** System (kernel) CPU milliseconds of a process so far, from /proc (Linux; 10 ms ticks). */
function sysMs(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[12]) * 10;
  } catch {
    return NaN;
  }
}

/** CPU milliseconds `who` used during `step`, from the samples around its start and end. */
function stepCpu(samples, step, who) {
  const at = (time) => {
    const after = samples.find((s) => s.at >= time) ?? samples.at(-1);
    return after[who];
  };
  return at(Date.parse(step.finishedAt)) - at(Date.parse(step.startedAt));
}
const mbPerS = (ms) => TOTAL / 1e6 / (ms / 1000);

async function main() {
  const dataDir = tempDir("artifact-data");
  console.log(`Writing ${FILES} files of ${FILE_BYTES / 2 ** 20} MiB of random bytes...`);
  for (let i = 0; i < FILES; i++) writeFileSync(join(dataDir, `part-${i}.bin`), randomBytes(FILE_BYTES));

  // A runner of its own on loopback, as a remote one: `conveyor up`'s built-in runner would share
  // the server's process (and its one thread) with the service it talks to.
  const server = await startServer(["--runner-capacity", "0"]);
  const runner = await startRunner(server);
  // CPU time of both processes, sampled: what each step cost them, whatever else the machine does.
  const cpu = [];
  const sampler = setInterval(
    () =>
      cpu.push({
        at: Date.now(),
        server: cpuMs(server.child.pid),
        runner: cpuMs(runner.child.pid),
        serverSys: sysMs(server.child.pid),
        runnerSys: sysMs(runner.child.pid),
      }),
    20,
  );
  const repository = await hostedRepository(server, "artifacts", workflows(dataDir));
  const { sha } = push(repository);
  await completedRun(server, repository, sha, { everyMs: 100, ms: 120_000 });

  const ups = [];
  const downs = [];
  // The first run warms caches (code, the page cache of the data): not counted.
  for (let i = 0; i <= SAMPLES; i++) {
    await settle();
    const before = (await api(server, "/repos/admin/artifacts/runs")).runs.length;
    await api(server, "/repos/admin/artifacts/dispatches", { workflow: "artifact.yml" });
    let runId;
    while (!runId) {
      const { runs } = await api(server, "/repos/admin/artifacts/runs");
      if (runs.length > before) runId = runs[0].id;
      else await sleep(50);
    }
    let detail;
    for (;;) {
      detail = await api(server, `/runs/${runId}`);
      if (detail.status === "completed") break;
      await sleep(100);
    }
    if (detail.conclusion !== "success") throw new Error(`run ${runId} ended ${detail.conclusion}`);
    const upStep = detail.jobs.find((j) => j.name === "up").steps.find((s) => /upload-artifact/.test(s.name));
    const downStep = detail.jobs
      .find((j) => j.name === "down")
      .steps.find((s) => /download-artifact/.test(s.name));
    const upMs = stepMs(upStep);
    const downMs = stepMs(downStep);
    const cost = (step) =>
      `CPU: runner ${stepCpu(cpu, step, "runner")} ms (system ${stepCpu(cpu, step, "runnerSys")}), ` +
      `server ${stepCpu(cpu, step, "server")} ms (system ${stepCpu(cpu, step, "serverSys")})`;
    console.log(
      `sample ${i}${i === 0 ? " (warm-up)" : ""}: upload ${ms1(upMs)} (${mbPerS(upMs).toFixed(0)} MB/s; ${cost(upStep)}), ` +
        `download ${ms1(downMs)} (${mbPerS(downMs).toFixed(0)} MB/s; ${cost(downStep)})`,
    );
    if (i > 0) {
      ups.push(upMs);
      downs.push(downMs);
    }
  }
  clearInterval(sampler);
  const { artifacts } = await api(
    server,
    `/runs/${(await api(server, "/repos/admin/artifacts/runs")).runs[0].id}/artifacts`,
  );
  console.log(
    `artifact: ${(artifacts[0].size / 1e6).toFixed(1)} MB zip of ${(TOTAL / 1e6).toFixed(1)} MB of files`,
  );
  const up = mbPerS(median(ups));
  const down = mbPerS(median(downs));
  const met = up >= TARGET_MB_PER_S && down >= TARGET_MB_PER_S;
  console.log(`\n| what | median of ${SAMPLES} | throughput |`);
  console.log(`| --- | --- | --- |`);
  console.log(
    `| upload-artifact@v4 (built-in), ${TOTAL / 2 ** 20} MiB | ${ms1(median(ups))} | ${up.toFixed(0)} MB/s |`,
  );
  console.log(`| download-artifact@v4 (built-in) | ${ms1(median(downs))} | ${down.toFixed(0)} MB/s |`);
  console.log(`\ntarget >= ${TARGET_MB_PER_S} MB/s each way: ${verdict(met)}`);
  console.log(machineNote());
  return met;
}

await benchmark(main);
