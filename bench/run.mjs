// Benchmark: `conveyor run` (the whole process, Node start-up included) against a plain bash script
// doing the same work, in one run. Targets (issue 3):
// - a workflow of 100 `true` steps costs at most 5 ms per step more than bash. The bash baseline is
//   a script that runs `bash -e step.sh` 100 times, step.sh holding `true`: the default shell GitHub
//   (and Conveyor) start for a `run:` step with no `shell:`. The cost per step is the slope between a
//   run of 100 steps and a run of 1 step (for both), so start-up is left out here: it has a target
//   of its own below.
// - a trivial run (one job, one `echo hi` step) finishes in under 400 ms wall, start-up included
//   (median of several runs, in this environment as is);
// - 50 independent jobs with `--concurrent-jobs 8` add at most 30 ms per job over a run of one such
//   job: (wall(50 jobs) - wall(1 job)) / 49.
// Run: npm run build && node bench/run.mjs   (RUNS=n for more samples, KEEP=1 keeps the repositories,
// CONVEYOR_CLI=path/to/conveyor.cjs measures another build)
// Exits 1 when a target is missed.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const STEP_TARGET_MS = 5;
const TRIVIAL_TARGET_MS = 400;
const JOB_TARGET_MS = 30;
const RUNS = Number(process.env.RUNS ?? 7);
const STEPS = 100;
const JOBS = 50;
const CONCURRENT = 8;
// CONVEYOR_CLI: another build to measure (e.g. a copy of an earlier one, to compare).
const cli =
  process.env.CONVEYOR_CLI ?? join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "conveyor.cjs");
const root = mkdtempSync(join(tmpdir(), "conveyor-bench-run-"));

/** A git repository with one commit holding `.github/workflows/bench.yml`. */
function repository(name, workflow) {
  const dir = join(root, name);
  mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
  writeFileSync(join(dir, ".github", "workflows", "bench.yml"), workflow);
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "Bench",
    GIT_AUTHOR_EMAIL: "bench@example.com",
    GIT_COMMITTER_NAME: "Bench",
    GIT_COMMITTER_EMAIL: "bench@example.com",
  };
  for (const args of [
    ["init", "-q", "-b", "main"],
    ["add", "-A"],
    ["commit", "-q", "-m", "bench"],
  ]) {
    const result = spawnSync("git", args, { cwd: dir, env, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
  }
  return dir;
}

const stepsWorkflow = (n) =>
  `on: push\njobs:\n  steps:\n    runs-on: ubuntu-latest\n    steps:\n${"      - run: 'true'\n".repeat(n)}`;
const jobsWorkflow = (n) =>
  `on: push\njobs:\n${Array.from(
    { length: n },
    (_, i) => `  job${i + 1}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n`,
  ).join("")}`;

const repos = {
  steps: repository("steps", stepsWorkflow(STEPS)),
  step: repository("step", stepsWorkflow(1)),
  trivial: repository("trivial", jobsWorkflow(1)),
  jobs: repository("jobs", jobsWorkflow(JOBS)),
};

// The bash baselines: the same processes a plain script would start.
const baseline = join(root, "baseline");
mkdirSync(baseline);
writeFileSync(join(baseline, "true.sh"), "true\n");
writeFileSync(join(baseline, "echo.sh"), "echo hi\n");
const script = (name, body) => {
  const path = join(baseline, name);
  writeFileSync(path, `#!/usr/bin/env bash\nset -e\ncd "$(dirname "$0")"\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};
const bashSteps = script("steps.sh", `for i in $(seq ${STEPS}); do bash -e true.sh; done`);
const bashStep = script("step.sh", "bash -e true.sh");
const bashJobs = script("jobs.sh", `seq ${JOBS} | xargs -P ${CONCURRENT} -I{} bash -e echo.sh`);
const bashJob = script("job.sh", "bash -e echo.sh");

// Node's own start-up, for reference: this machine's environment sets NODE_EXTRA_CA_CERTS, which
// makes every Node process parse a CA bundle before running anything (about 50 ms here).
const plainEnv = { ...process.env };
delete plainEnv.NODE_EXTRA_CA_CERTS;
const environments = { asIs: process.env, plain: plainEnv };

function timed(command, args, cwd, env = process.env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    console.error(`${command} ${args.join(" ")} failed (exit ${result.status}):`);
    console.error(result.stdout.slice(-4000), result.stderr.slice(-4000));
    process.exit(2);
  }
  return ms;
}
const conveyor = (repo, args = [], env = process.env) =>
  timed(process.execPath, [cli, "run", ...args], repo, env);
const bash = (path) => timed("bash", [path], baseline);

// Every measure is taken once per round, so noise from the machine spreads over all of them.
const measures = {
  conveyorSteps: () => conveyor(repos.steps),
  conveyorStep: () => conveyor(repos.step),
  bashSteps: () => bash(bashSteps),
  bashStep: () => bash(bashStep),
  trivial: () => conveyor(repos.trivial),
  trivialPlain: () => conveyor(repos.trivial, [], environments.plain),
  node: () => timed(process.execPath, ["-e", "0"], root),
  nodePlain: () => timed(process.execPath, ["-e", "0"], root, environments.plain),
  conveyorJobs: () => conveyor(repos.jobs, ["--concurrent-jobs", String(CONCURRENT)]),
  conveyorJob: () => conveyor(repos.trivial, ["--concurrent-jobs", String(CONCURRENT)]),
  bashJobs: () => bash(bashJobs),
  bashJob: () => bash(bashJob),
};
const samples = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
// One round first to warm the file cache and Conveyor's records folders; not counted.
for (const measure of Object.values(measures)) measure();
for (let r = 0; r < RUNS; r++) {
  for (const [name, measure] of Object.entries(measures)) samples[name].push(measure());
}
if (!process.env.KEEP) rmSync(root, { recursive: true, force: true });
else console.log("kept", root);

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const m = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
const ms = (x) => `${x.toFixed(0)} ms`;
const ms1 = (x) => `${x.toFixed(1)} ms`;
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const verdict = (ok) => (ok ? "met" : "NOT MET");
let allMet = true;

console.log(`conveyor run vs bash, medians of ${RUNS} runs each (whole processes, start-up included)`);

// 1. Steps
const conveyorPerStep = (m.conveyorSteps - m.conveyorStep) / (STEPS - 1);
const bashPerStep = (m.bashSteps - m.bashStep) / (STEPS - 1);
const stepOverhead = conveyorPerStep - bashPerStep;
const stepsMet = stepOverhead <= STEP_TARGET_MS;
allMet &&= stepsMet;
console.log(`\n${STEPS} \`true\` steps in one job (bash: ${STEPS} \`bash -e true.sh\` in a loop)`);
console.log(
  `  whole run        conveyor ${ms(m.conveyorSteps)}, bash ${ms(m.bashSteps)} (ratio ${ratio(m.conveyorSteps, m.bashSteps)}); 1 step: conveyor ${ms(m.conveyorStep)}, bash ${ms(m.bashStep)}`,
);
console.log(
  `  per step         conveyor ${ms1(conveyorPerStep)}, bash ${ms1(bashPerStep)} (ratio ${ratio(conveyorPerStep, bashPerStep)})`,
);
console.log(
  `  target: at most ${STEP_TARGET_MS} ms per step more than bash: ${ms1(stepOverhead)} more: ${verdict(stepsMet)}`,
);

// 2. A trivial run
const trivialMet = m.trivial < TRIVIAL_TARGET_MS;
allMet &&= trivialMet;
console.log(`\nA trivial run (one job, one \`echo hi\` step; bash: \`bash -e echo.sh\`: ${ms(m.bashJob)})`);
for (const [label, run, node] of [
  ["environment as is", m.trivial, m.node],
  ["without NODE_EXTRA_CA_CERTS", m.trivialPlain, m.nodePlain],
]) {
  console.log(
    `  ${label.padEnd(28)} ${ms(run)} (node -e 0 alone: ${ms(node)}; Conveyor's share ${ms(run - node)}; ratio to bash ${ratio(run, m.bashJob)})`,
  );
}
console.log(
  `  target: under ${TRIVIAL_TARGET_MS} ms wall in this environment as is: ${ms(m.trivial)}: ${verdict(trivialMet)}`,
);

// 3. Many jobs
const conveyorPerJob = (m.conveyorJobs - m.conveyorJob) / (JOBS - 1);
const bashPerJob = (m.bashJobs - m.bashJob) / (JOBS - 1);
const jobsMet = conveyorPerJob <= JOB_TARGET_MS;
allMet &&= jobsMet;
console.log(
  `\n${JOBS} independent one-step jobs, --concurrent-jobs ${CONCURRENT} (bash: xargs -P ${CONCURRENT} over ${JOBS} \`bash -e echo.sh\`)`,
);
console.log(
  `  whole run        conveyor ${ms(m.conveyorJobs)} (1 job: ${ms(m.conveyorJob)}), bash ${ms(m.bashJobs)} (1: ${ms(m.bashJob)}); ratio ${ratio(m.conveyorJobs, m.bashJobs)}`,
);
console.log(
  `  per extra job    conveyor ${ms1(conveyorPerJob)}, bash ${ms1(bashPerJob)} (Conveyor beyond bash: ${ms1(conveyorPerJob - bashPerJob)})`,
);
console.log(
  `  target: at most ${JOB_TARGET_MS} ms per job added over one job: ${ms1(conveyorPerJob)}: ${verdict(jobsMet)}`,
);

console.log(`\n${allMet ? "All targets met." : "Some target NOT MET."}`);
process.exitCode = allMet ? 0 : 1;
