// Benchmark: the whole `conveyor validate` process (Node start-up included) on a repository of
// 20 workflows, one of them with a 256-job matrix. Target: under 300 ms.
// Run: npm run build && node bench/validate.mjs
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TARGET_MS = 300;
const RUNS = 15;
const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "conveyor.js");

function workflow(i) {
  const jobs = [];
  for (let j = 0; j < 6; j++) {
    jobs.push(`  job${j}:
    name: Job ${j} of workflow ${i}
    runs-on: \${{ matrix.os || 'ubuntu-latest' }}
    ${j > 0 ? `needs: [job${j - 1}]` : ""}
    if: \${{ github.event_name == 'push' || contains(github.event.pull_request.labels.*.name, 'ci') }}
    env:
      LEVEL: ${j}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          cache: npm
      - run: npm ci
      - id: test
        run: npm test -- --shard=\${{ strategy.job-index }}
      - run: echo "result=\${{ steps.test.outcome }}" >> "$GITHUB_OUTPUT"
        if: always()`);
  }
  return `name: Workflow ${i}
on:
  push:
    branches: [main, 'release/**']
    paths-ignore: ['docs/**']
  pull_request:
    types: [opened, synchronize]
  workflow_dispatch:
    inputs:
      level:
        type: choice
        options: [low, high]
        default: low
env:
  WORKFLOW: "${i}"
jobs:
${jobs.join("\n")}
`;
}

function bigMatrix() {
  const values = (n, prefix) => `[${Array.from({ length: n }, (_, k) => `${prefix}${k}`).join(", ")}]`;
  return `name: Big matrix
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      max-parallel: 16
      matrix:
        os: ${values(4, "os")}
        node: ${values(8, "n")}
        shard: ${values(8, "s")}
    steps:
      - uses: actions/checkout@v4
      - run: echo \${{ matrix.os }} \${{ matrix.node }} \${{ matrix.shard }}
  report:
    needs: test
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: echo done
`;
}

const repo = mkdtempSync(join(tmpdir(), "conveyor-bench-"));
const dir = join(repo, ".github", "workflows");
mkdirSync(dir, { recursive: true });
for (let i = 1; i <= 19; i++) writeFileSync(join(dir, `workflow-${i}.yml`), workflow(i));
writeFileSync(join(dir, "big-matrix.yml"), bigMatrix());

const times = [];
let output = "";
for (let r = 0; r < RUNS; r++) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, "validate", "--json", "-C", repo], { encoding: "utf8" });
  times.push(Number(process.hrtime.bigint() - started) / 1e6);
  if (result.status !== 0) {
    console.error(result.stdout, result.stderr);
    process.exit(1);
  }
  output = result.stdout;
}
if (!process.env.KEEP) rmSync(repo, { recursive: true, force: true });
else console.log("kept", repo);
const report = JSON.parse(output);
const jobs = report.jobs ?? "?";
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const worst = times[times.length - 1];
console.log(
  `conveyor validate, 20 workflows (${report.files.length} files, planned jobs: ${jobs}), ${RUNS} runs`,
);
console.log(`  median ${median.toFixed(1)} ms, best ${times[0].toFixed(1)} ms, worst ${worst.toFixed(1)} ms`);
console.log(`  target < ${TARGET_MS} ms: ${median < TARGET_MS ? "met" : "NOT MET"}`);
process.exitCode = median < TARGET_MS ? 0 : 1;
