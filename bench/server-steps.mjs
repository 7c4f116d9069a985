// Benchmark (issue 4): per-step overhead on a runner. Target: under 5 ms per step over bash.
// A job of 100 `true` steps and a job of one, pushed to `conveyor up` and run by its built-in
// runner; each job's time is the server's, from its lease (startedAt) to its completion
// (finishedAt), both stamped by the server's clock in ms. The bash baseline runs `bash -e true.sh`
// 100 times and once in a loop, as bench/run.mjs does. The cost per step is the slope between
// the two sizes (for both), so the job's own start and end are left out.
// Buildbot's per-step figure is the (about 90 ms), not measured here.
// Run: npm run build && node bench/server-steps.mjs   (RUNS=n, KEEP=1)
// Exits 1 when the target is missed.
import { spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUILDBOT_REFERENCE } from "./lib/buildbot.mjs";
import {
  benchmark,
  completedRun,
  git,
  hostedRepository,
  machineNote,
  median,
  ms1,
  push,
  startServer,
  tempDir,
  verdict,
} from "./lib/conveyor-server.mjs";

const TARGET_MS = 5;
const STEPS = 100;
const RUNS = Number(process.env.RUNS ?? 5);

const workflow = (n) =>
  `on: push\njobs:\n  steps:\n    runs-on: ubuntu-latest\n    steps:\n${"      - run: 'true'\n".repeat(n)}`;

async function jobMs(server, repository, i) {
  git(repository.dir, ["commit", "-q", "--allow-empty", "-m", `run ${i}`]);
  const { sha } = push(repository);
  const run = await completedRun(server, repository, sha);
  const [job] = run.jobs;
  if (run.conclusion !== "success" || job.steps.length === 0)
    throw new Error(`run ${run.id}: ${run.conclusion}`);
  return Date.parse(job.finishedAt) - Date.parse(job.startedAt);
}

function bashMs(script) {
  const started = process.hrtime.bigint();
  const result = spawnSync("bash", [script], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${script}: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

await benchmark(async () => {
  const baseline = tempDir("steps-bash");
  writeFileSync(join(baseline, "true.sh"), "true\n");
  const script = (name, count) => {
    const path = join(baseline, name);
    writeFileSync(path, `cd "$(dirname "$0")"\nfor i in $(seq ${count}); do bash -e true.sh; done\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const bashSteps = script("steps.sh", STEPS);
  const bashStep = script("step.sh", 1);

  const server = await startServer();
  const many = await hostedRepository(server, "steps", { ".github/workflows/steps.yml": workflow(STEPS) });
  const one = await hostedRepository(server, "step", { ".github/workflows/step.yml": workflow(1) });
  const samples = { many: [], one: [], bashMany: [], bashOne: [] };
  // One round first to warm the runner and the file cache; not counted. Then each measure once a
  // round, so noise from the machine spreads over all of them.
  for (let round = 0; round <= RUNS; round++) {
    const measured = {
      many: await jobMs(server, many, round),
      one: await jobMs(server, one, round),
      bashMany: bashMs(bashSteps),
      bashOne: bashMs(bashStep),
    };
    if (round > 0) for (const [name, value] of Object.entries(measured)) samples[name].push(value);
  }
  await server.stop();

  const m = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
  const perStep = (m.many - m.one) / (STEPS - 1);
  const bashPerStep = (m.bashMany - m.bashOne) / (STEPS - 1);
  const overhead = perStep - bashPerStep;
  const met = overhead < TARGET_MS;
  console.log(`Per-step cost on a runner (built-in runner of conveyor up), medians of ${RUNS} runs:`);
  console.log(`${STEPS} \`true\` steps in one job against one (job time: lease to completion, server clock)`);
  console.log(
    `  conveyor        ${STEPS} steps ${m.many.toFixed(0)} ms, 1 step ${m.one.toFixed(0)} ms: ${ms1(perStep)} per step`,
  );
  console.log(
    `  bash            ${STEPS} \`bash -e true.sh\` ${m.bashMany.toFixed(0)} ms, 1: ${m.bashOne.toFixed(0)} ms: ${ms1(bashPerStep)} per step`,
  );
  console.log(
    `  buildbot 3.7    about ${BUILDBOT_REFERENCE.perStepMs} ms per step (the issue's figure; not measured)`,
  );
  console.log(`  target: under ${TARGET_MS} ms per step over bash: ${ms1(overhead)} over: ${verdict(met)}`);
  console.log(`  (${machineNote()})`);
  return met;
});
