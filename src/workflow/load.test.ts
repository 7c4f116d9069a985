import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import type { Diagnostic } from "../diagnostic.js";
import { loadWorkflow, loadWorkflowText } from "./load.js";
import type { StepsJob } from "./model.js";

const FILE = ".github/workflows/ci.yml";

async function errorsOf(text: string): Promise<string[]> {
  const result = await loadWorkflowText(FILE, text);
  if (result.ok) throw new Error("expected the workflow to be refused");
  return result.errors.map(formatDiagnostic);
}

async function loaded(text: string) {
  const result = await loadWorkflowText(FILE, text);
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join("\n"));
  return result.value;
}

function stepsJob(job: unknown): StepsJob {
  const j = job as StepsJob;
  if (j.kind !== "steps") throw new Error("not a steps job");
  return j;
}

describe("loading a valid workflow", () => {
  it("reads the fields GitHub's model leaves out", async () => {
    const workflow = await loaded(`name: Build
run-name: Build by \${{ github.actor }}
on: push
permissions: read-all
defaults:
  run:
    shell: bash
    working-directory: src
env:
  A: "1"
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    continue-on-error: true
    permissions:
      contents: read
      statuses: write
    defaults:
      run:
        shell: sh
    steps:
      - id: checkout
        uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - name: Test
        run: npm test
        shell: bash
        working-directory: app
        timeout-minutes: 5
        continue-on-error: \${{ matrix.experimental == true }}
`);
    expect(workflow.name).toBe("Build");
    expect(workflow.hasExplicitName).toBe(true);
    expect(workflow.runName).toBeDefined();
    expect(workflow.permissions).toBe("read-all");
    expect(String(workflow.defaults?.shell)).toBe("bash");
    expect(String(workflow.defaults?.workingDirectory)).toBe("src");
    const job = stepsJob(workflow.jobs[0]);
    expect(job.id).toBe("build");
    expect(job.location).toEqual({ file: FILE, line: 12, column: 3 });
    expect(String(job.timeoutMinutes)).toBe("30");
    expect(String(job.continueOnError)).toBe("true");
    expect(job.permissions).toEqual({ contents: "read", statuses: "write" });
    expect(String(job.defaults?.shell)).toBe("sh");
    const [checkout, test] = job.steps;
    expect(checkout?.id).toBe("checkout");
    expect(checkout?.hasExplicitId).toBe(true);
    expect(checkout?.uses).toBe("actions/checkout@v4");
    expect(String(checkout?.with?.find("fetch-depth"))).toBe("0");
    expect(test?.hasExplicitId).toBe(false);
    expect(String(test?.shell)).toBe("bash");
    expect(String(test?.workingDirectory)).toBe("app");
    expect(String(test?.timeoutMinutes)).toBe("5");
    expect(test?.continueOnError?.isExpression).toBe(true);
    expect(test?.location).toEqual({ file: FILE, line: 27, column: 9 });
  });

  it("names a workflow without `name` by its path, as GitHub does", async () => {
    const workflow = await loaded("on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n");
    expect(workflow.name).toBe(FILE);
    expect(workflow.hasExplicitName).toBe(false);
  });

  it("applies GitHub's implicit success() to if conditions", async () => {
    const workflow = await loaded(`on: push
jobs:
  a:
    runs-on: x
    if: github.ref == 'refs/heads/main'
    steps:
      - run: echo
        if: always()
      - run: echo
        if: \${{ env.X == '1' }}
`);
    const job = stepsJob(workflow.jobs[0]);
    expect(job.if.expression).toBe("success() && (github.ref == 'refs/heads/main')");
    expect(job.steps[0]?.if.expression).toBe("always()");
    expect(job.steps[1]?.if.expression).toBe("success() && (env.X == '1')");
  });

  it("reads a job that calls a reusable workflow", async () => {
    const workflow = await loaded(`on: push
jobs:
  build:
    uses: ./.github/workflows/build.yml
    with:
      target: prod
    secrets: inherit
  deploy:
    needs: build
    uses: ./.github/workflows/deploy.yml
    secrets:
      token: \${{ secrets.TOKEN }}
`);
    const [build, deploy] = workflow.jobs;
    expect(build?.kind).toBe("call");
    if (build?.kind !== "call" || deploy?.kind !== "call") throw new Error("not call jobs");
    expect(build.uses).toBe("./.github/workflows/build.yml");
    expect(build.secrets).toBe("inherit");
    expect(String(build.with?.find("target"))).toBe("prod");
    expect(deploy.needs).toEqual(["build"]);
    expect(deploy.secrets).not.toBe("inherit");
    expect(deploy.secrets).toBeDefined();
  });
});

describe("bad input: a clear error with its location, never a throw", () => {
  it("refuses an empty file", async () => {
    const result = await loadWorkflow({ path: FILE, bytes: new TextEncoder().encode("# nothing here\n\n") });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.errors.map(formatDiagnostic)).toEqual([
        `${FILE}: the file is empty: a workflow needs at least \`on:\` (its triggers) and \`jobs:\`.`,
      ]);
  });

  it("refuses a file that is not UTF-8, naming the line and column of the bad byte", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("on: push\nname: caf"), 0xe9, 0x0a]);
    const result = await loadWorkflow({ path: FILE, bytes });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.errors.map(formatDiagnostic)).toEqual([
        `${FILE}:2:10: the file is not valid UTF-8 (byte 0xe9 at offset 18): save it as UTF-8.`,
      ]);
  });

  it("refuses a YAML alias bomb quickly and with bounded memory", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const text = `on: push\n${levels.join("\n")}\njobs:\n  j:\n    runs-on: x\n    steps: [{run: echo}]\n`;
    const started = performance.now();
    const heapBefore = process.memoryUsage().heapUsed;
    const result = await loadWorkflow({ path: FILE, bytes: new TextEncoder().encode(text) });
    const elapsed = performance.now() - started;
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(1);
      expect(formatDiagnostic(result.errors[0] as Diagnostic)).toMatch(
        /^\.github\/workflows\/ci\.yml:\d+:\d+: YAML aliases expand this file to more than 200000 values/,
      );
    }
    expect(elapsed).toBeLessThan(1000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it("refuses a workflow with no `on`", async () => {
    expect(await errorsOf("jobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n")).toEqual([
      `${FILE}:1:1: Required property is missing: on`,
    ]);
  });

  it("names a cycle in needs in full", async () => {
    const errors = await errorsOf(`on: push
jobs:
  start:
    runs-on: x
    steps: [{run: echo}]
  a:
    needs: [start, c]
    runs-on: x
    steps: [{run: echo}]
  b:
    needs: a
    runs-on: x
    steps: [{run: echo}]
  c:
    needs: b
    runs-on: x
    steps: [{run: echo}]
`);
    expect(errors).toEqual([
      `${FILE}:7:20: jobs need each other in a cycle: a -> c -> b -> a. Remove one of these needs so the jobs can run in order.`,
    ]);
  });

  it("names an unknown job in needs and lists the known ones", async () => {
    const errors = await errorsOf(`on: push
jobs:
  build:
    runs-on: x
    steps: [{run: echo}]
  deploy:
    needs: [build, tests]
    runs-on: x
    steps: [{run: echo}]
`);
    expect(errors).toEqual([
      `${FILE}:7:20: job 'deploy' needs 'tests', which is not a job in this workflow (jobs: build, deploy).`,
    ]);
  });

  it("reports an expression syntax error where it is", async () => {
    const errors = await errorsOf(`on: push
jobs:
  a:
    runs-on: x
    steps:
      - run: echo \${{ github.sha == }}
`);
    expect(errors).toEqual([`${FILE}:6:19: Unexpected end of expression: '=='`]);
  });

  it("refuses duplicate step ids", async () => {
    const errors = await errorsOf(`on: push
jobs:
  a:
    runs-on: x
    steps:
      - id: build
        run: make
      - id: build
        run: make again
`);
    expect(errors).toEqual([
      `${FILE}:8:13: step id 'build' is already used by another step of this job: step ids must be unique within a job.`,
    ]);
  });

  it("refuses a step with both run and uses", async () => {
    const errors = await errorsOf(`on: push
jobs:
  a:
    runs-on: x
    steps:
      - run: make
        uses: actions/checkout@v4
`);
    expect(errors).toEqual([
      `${FILE}:7:9: this step has both \`run\` and \`uses\`: a step either runs a script or uses an action. Split it into two steps.`,
    ]);
  });

  it("refuses a step with neither run nor uses", async () => {
    const errors = await errorsOf(`on: push
jobs:
  a:
    runs-on: x
    steps:
      - name: nothing to do
`);
    expect(errors).toEqual([
      `${FILE}:6:9: this step has neither \`run\` (a script to run) nor \`uses\` (an action to use): give it one of them.`,
    ]);
  });

  it("refuses an action reference without a version", async () => {
    const errors = await errorsOf(`on: push
jobs:
  a:
    runs-on: x
    steps:
      - uses: actions/checkout
`);
    expect(errors).toEqual([
      `${FILE}:6:9: \`uses: actions/checkout\` names no version: write actions/checkout@{ref} with a tag, branch or commit SHA (e.g. actions/checkout@v4).`,
    ]);
  });

  it("reports every error at once, in file order", async () => {
    const errors = await errorsOf(`on: push
jobs:
  a:
    runs-on: x
    timeout-minutes: soon
    steps:
      - run: echo \${{ ( }}
  b:
    needs: nope
    runs-on: x
    steps:
      - name: empty
`);
    expect(errors).toEqual([
      `${FILE}:5:22: Unexpected value 'soon'`,
      `${FILE}:7:19: Unexpected end of expression: '('`,
      `${FILE}:9:12: job 'b' needs 'nope', which is not a job in this workflow (jobs: a, b).`,
      `${FILE}:12:9: this step has neither \`run\` (a script to run) nor \`uses\` (an action to use): give it one of them.`,
    ]);
  });

  it("reports YAML syntax errors without the parser's excerpt", async () => {
    expect(await errorsOf("on: push\njobs:\n\ta: {}\n")).toEqual([
      `${FILE}:3:1: Tabs are not allowed as indentation`,
    ]);
  });
});

describe("triggers checked at load", () => {
  it("names the cron field at fault instead of GitHub's generic message", async () => {
    const errors = await errorsOf(`on:
  schedule:
    - cron: "61 * * * *"
jobs:
  a:
    runs-on: x
    steps: [{run: echo}]
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\.github\/workflows\/ci\.yml:3:\d+: .*minute value 61 is out of range 0-59/);
  });

  it("refuses a choice default that is not among its options, at the default", async () => {
    const errors = await errorsOf(`on:
  workflow_dispatch:
    inputs:
      level:
        type: choice
        options: [low, high]
        default: medium
jobs:
  a:
    runs-on: x
    steps: [{run: echo}]
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\.github\/workflows\/ci\.yml:7:18: .*'medium'/);
  });

  it("keeps number inputs, which GitHub's parser drops", async () => {
    const workflow = await loaded(`on:
  workflow_dispatch:
    inputs:
      count:
        type: number
        default: 3
      name:
        type: string
jobs:
  a:
    runs-on: x
    steps: [{run: echo}]
`);
    expect(workflow.dispatchInputs?.count).toMatchObject({ type: "number", default: 3 });
    expect(workflow.dispatchInputs?.name).toMatchObject({ type: "string" });
  });

  it("refuses branches together with branches-ignore", async () => {
    const errors = await errorsOf(`on:
  push:
    branches: [main]
    branches-ignore: [dev]
jobs:
  a:
    runs-on: x
    steps: [{run: echo}]
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\.github\/workflows\/ci\.yml:\d+:\d+: .*branches.*branches-ignore/);
  });
});
