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
const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "conveyor.cjs");

// A workflow of the size real repositories have: three jobs of five or six steps, with filters,
// inputs, conditions and expressions.
function workflow(i) {
  const job = (id, needs) => `  ${id}:
    name: ${id} (workflow ${i})
    runs-on: \${{ matrix.os || 'ubuntu-latest' }}
    ${needs.length > 0 ? `needs: [${needs.join(", ")}]` : ""}
    if: \${{ github.event_name == 'push' || contains(github.event.pull_request.labels.*.name, 'ci') }}
    env:
      JOB: ${id}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          cache: npm
      - run: npm ci
      - id: run
        run: npm run ${id} -- --shard=\${{ strategy.job-index }}
      - run: echo "result=\${{ steps.run.outcome }}" >> "$GITHUB_OUTPUT"
        if: always()`;
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
${job("lint", [])}
${job("test", [])}
${job("build", ["lint", "test"])}
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

// Node's own start-up, for reference: this machine's environment sets NODE_EXTRA_CA_CERTS, which
// makes every Node process parse a CA bundle before running anything (about 50 ms here).
const plainEnv = { ...process.env };
delete plainEnv.NODE_EXTRA_CA_CERTS;
const variants = [
  { label: "environment as is", env: process.env },
  { label: "without NODE_EXTRA_CA_CERTS", env: plainEnv },
];
const samples = { validate: variants.map(() => []), node: variants.map(() => []) };
let output = "";
const timed = (args, env) => {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { encoding: "utf8", env });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
};
for (let r = 0; r < RUNS; r++) {
  variants.forEach((variant, v) => {
    const { ms, result } = timed([cli, "validate", "--json", "-C", repo], variant.env);
    if (result.status !== 0) {
      console.error(result.stdout, result.stderr);
      process.exit(1);
    }
    output = result.stdout;
    samples.validate[v].push(ms);
    samples.node[v].push(timed(["-e", "0"], variant.env).ms);
  });
}
if (!process.env.KEEP) rmSync(repo, { recursive: true, force: true });
else console.log("kept", repo);
const report = JSON.parse(output);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `conveyor validate: ${report.files.length} workflows, ${report.jobs} jobs planned (one 256-job matrix), ${RUNS} runs each`,
);
let met = true;
variants.forEach((variant, v) => {
  const m = median(samples.validate[v]);
  const n = median(samples.node[v]);
  console.log(
    `  ${variant.label.padEnd(28)} median ${m.toFixed(0)} ms (node -e 0 alone: ${n.toFixed(0)} ms; Conveyor's share ${(m - n).toFixed(0)} ms)`,
  );
  if (v === 0) met = m < TARGET_MS;
});
console.log(`  target: whole process under ${TARGET_MS} ms in this environment: ${met ? "met" : "NOT MET"}`);
