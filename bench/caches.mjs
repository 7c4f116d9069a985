// Benchmark (issue 5): restoring a cached node_modules-like tree (200 MB, 20,000 files) with the
// built-in actions/cache/restore on a `conveyor up` runner, through the server's cache service
// (lookup, download on loopback, unzstd, tar -x), against `tar -x` of the same tree from an
// uncompressed archive on the same disk. Target: the restore step takes at most 1.5 times `tar -x`.
//
// Disk writeback moves both figures a lot on a shared machine: every sample starts after `sync`,
// and the two kinds of sample alternate, so both see the same conditions; medians are compared.
// Run: npm run build && node bench/caches.mjs   (SAMPLES=n, KEEP=1)
// Exits 1 when the target is missed.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  api,
  benchmark,
  completedRun,
  hostedRepository,
  machineNote,
  median,
  ms1,
  push,
  sleep,
  startServer,
  tempDir,
  verdict,
} from "./lib/conveyor-server.mjs";
import { BYTES, FILES, writeTree } from "./lib/node-modules-tree.mjs";

const TARGET_RATIO = 1.5;
const SAMPLES = Number(process.env.SAMPLES ?? 5);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr}`);
  return result;
}

/** `sync`, then a moment: the sample after it does not pay for the last one's writeback. */
async function settle() {
  run("sync", []);
  await sleep(200);
}

function timedTarExtract(archive, into) {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const started = process.hrtime.bigint();
  run("tar", ["-xf", archive, "-C", into]);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const workflows = (archive) => ({
  ".github/workflows/save.yml": `name: Save
on: push
jobs:
  save:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir node_modules && tar -xf ${archive} -C node_modules
      - uses: actions/cache/save@v4
        with:
          path: node_modules
          key: bench-node-modules
`,
  ".github/workflows/restore.yml": `name: Restore
on: workflow_dispatch
jobs:
  restore:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/cache/restore@v4
        with:
          path: node_modules
          key: bench-node-modules
          fail-on-cache-miss: true
      - run: test "$(find node_modules -type f | wc -l)" = ${FILES}
`,
});

async function main() {
  const treeDir = tempDir("tree");
  console.log(`Writing the tree (${FILES} files, ${BYTES / 1e6} MB)...`);
  writeTree(treeDir);
  const archive = join(tempDir("archive"), "tree.tar");
  run("tar", ["-cf", archive, "-C", treeDir, "."]);
  rmSync(treeDir, { recursive: true, force: true });
  console.log(`tar archive: ${(statSync(archive).size / 1e6).toFixed(1)} MB`);

  const server = await startServer(["--runner-capacity", "1"]);
  const repository = await hostedRepository(server, "cached", workflows(archive));
  const { sha } = push(repository);
  const saved = await completedRun(server, repository, sha, { everyMs: 200, ms: 600_000 });
  if (saved.conclusion !== "success") throw new Error(`the save run ended ${saved.conclusion}`);
  const caches = await api(server, "/repos/admin/cached/caches");
  console.log(`cache entry: ${(caches.caches[0].size / 1e6).toFixed(1)} MB (tar, zstd)`);

  const extractDir = join(tempDir("extract"), "node_modules");
  const tarTimes = [];
  const restoreTimes = [];
  // The first of each warms caches (code, page cache of the archives): not counted.
  for (let i = 0; i <= SAMPLES; i++) {
    await settle();
    const tarMs = timedTarExtract(archive, extractDir);
    rmSync(extractDir, { recursive: true, force: true });
    await settle();
    const before = (await api(server, "/repos/admin/cached/runs")).runs.length;
    await api(server, "/repos/admin/cached/dispatches", { workflow: "restore.yml" });
    let runId;
    while (!runId) {
      const { runs } = await api(server, "/repos/admin/cached/runs");
      if (runs.length > before) runId = runs[0].id;
      else await sleep(50);
    }
    let detail;
    for (;;) {
      detail = await api(server, `/runs/${runId}`);
      if (detail.status === "completed") break;
      await sleep(100);
    }
    if (detail.conclusion !== "success") throw new Error(`restore run ${runId} ended ${detail.conclusion}`);
    const step = detail.jobs[0].steps[0];
    const restoreMs = Date.parse(step.finishedAt) - Date.parse(step.startedAt);
    console.log(
      `sample ${i}${i === 0 ? " (warm-up)" : ""}: tar -x ${ms1(tarMs)}, restore step ${ms1(restoreMs)}`,
    );
    if (i > 0) {
      tarTimes.push(tarMs);
      restoreTimes.push(restoreMs);
    }
  }
  const tarMedian = median(tarTimes);
  const restoreMedian = median(restoreTimes);
  const ratio = restoreMedian / tarMedian;
  const met = ratio <= TARGET_RATIO;
  console.log(`\n| what | median of ${SAMPLES} |`);
  console.log(`| --- | --- |`);
  console.log(`| tar -x of the uncompressed tree | ${ms1(tarMedian)} |`);
  console.log(`| actions/cache/restore on a server runner | ${ms1(restoreMedian)} |`);
  console.log(`\nrestore / tar -x = ${ratio.toFixed(2)} (target <= ${TARGET_RATIO}): ${verdict(met)}`);
  console.log(machineNote());
  return met;
}

await benchmark(main);
