import { describe, expect, it } from "vitest";
import { failed, formatDiagnostic } from "../diagnostic.js";
import { resolveCalls } from "../workflow/calls.js";
import type { CallTree } from "../workflow/calls.js";
import { loadWorkflowText } from "../workflow/load.js";
import { RunEngine } from "./run-engine.js";
import type { EngineCommand, EngineOptions, JobOutcome } from "./run-engine.js";

async function treeOf(text: string, others: Record<string, string> = {}): Promise<CallTree> {
  const loaded = await loadWorkflowText(".github/workflows/main.yml", text);
  if (!loaded.ok) throw new Error(loaded.errors.map(formatDiagnostic).join("\n"));
  const tree = await resolveCalls(loaded.value, async (ref) => {
    const path = ref.slice(2);
    const source = others[path];
    return source === undefined
      ? failed([{ severity: "error", message: `no ${path}` }])
      : loadWorkflowText(path, source);
  });
  if (!tree.ok) throw new Error(tree.errors.map(formatDiagnostic).join("\n"));
  return tree.value;
}

const CONTEXTS = {
  github: { ref: "refs/heads/main", event_name: "push" },
  vars: {},
  secrets: { TOKEN: "s3cret" },
  inputs: {},
};

function engineFor(tree: CallTree, options: Partial<EngineOptions> = {}): RunEngine {
  return new RunEngine(tree, CONTEXTS, { concurrentJobs: 8, ...options });
}

const started = (commands: readonly EngineCommand[]) =>
  commands.filter((c) => c.kind === "start").map((c) => (c.kind === "start" ? c.assignment.id : ""));
const settled = (commands: readonly EngineCommand[]) =>
  commands
    .filter((c) => c.kind === "job-settled")
    .map((c) => (c.kind === "job-settled" ? `${c.displayName}:${c.result}` : ""));
const finishedWith = (commands: readonly EngineCommand[]) =>
  commands.find((c) => c.kind === "run-finished")?.kind === "run-finished"
    ? (commands.find((c) => c.kind === "run-finished") as { conclusion: string }).conclusion
    : undefined;

const ok = (outputs: Record<string, string> = {}): JobOutcome => ({ conclusion: "success", outputs });
const fail: JobOutcome = { conclusion: "failure", outputs: {} };

describe("the run engine", () => {
  it("starts jobs as soon as their own needs are done (a DAG, not stages)", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  slow: { runs-on: x, steps: [{run: a}] }
  fast: { runs-on: x, steps: [{run: a}] }
  after-fast: { needs: fast, runs-on: x, steps: [{run: a}] }
  after-both: { needs: [slow, fast], runs-on: x, steps: [{run: a}] }
`),
    );
    expect(started(engine.start())).toEqual(["slow#0", "fast#0"]);
    expect(started(engine.jobFinished("fast#0", ok()))).toEqual(["after-fast#0"]);
    expect(started(engine.jobFinished("after-fast#0", ok()))).toEqual([]);
    const last = engine.jobFinished("slow#0", ok());
    expect(started(last)).toEqual(["after-both#0"]);
    expect(finishedWith(engine.jobFinished("after-both#0", ok()))).toBe("success");
  });

  it("passes needs outputs and results to later jobs", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  build: { runs-on: x, outputs: { v: "\${{ steps.a.outputs.v }}" }, steps: [{id: a, run: a}] }
  use: { needs: build, runs-on: x, steps: [{run: a}] }
`),
    );
    engine.start();
    const next = engine.jobFinished("build#0", ok({ v: "42" }));
    const start = next.find((c) => c.kind === "start");
    expect(start?.kind === "start" && start.assignment.contexts.needs).toEqual({
      build: { result: "success", outputs: { v: "42" } },
    });
  });

  it("combines matrix jobs' outputs: the last to finish wins, an empty value sets nothing", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  build:
    runs-on: x
    strategy: { matrix: { n: [1, 2, 3] } }
    outputs: { one: "\${{ steps.a.outputs.one }}", last: "\${{ steps.a.outputs.last }}" }
    steps: [{id: a, run: a}]
  use: { needs: build, runs-on: x, steps: [{run: a}] }
`),
    );
    engine.start();
    engine.jobFinished("build#1", ok({ one: "", last: "2" }));
    engine.jobFinished("build#0", ok({ one: "1", last: "1" }));
    const next = engine.jobFinished("build#2", ok({ one: "", last: "3" }));
    const start = next.find((c) => c.kind === "start");
    expect(start?.kind === "start" && start.assignment.contexts.needs).toEqual({
      build: { result: "success", outputs: { one: "1", last: "3" } },
    });
  });

  it("concludes a run with a cancelled job (one that ran out of time) as cancelled", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  slow: { runs-on: x, timeout-minutes: 1, steps: [{run: a}] }
  next: { needs: slow, runs-on: x, steps: [{run: a}] }
  other: { runs-on: x, steps: [{run: a}] }
`),
    );
    engine.start();
    engine.jobFinished("other#0", ok());
    const next = engine.jobFinished("slow#0", { conclusion: "cancelled", outputs: {} });
    expect(settled(next)).toEqual(["next:skipped"]);
    expect(finishedWith(next)).toBe("cancelled");
  });

  it("skips jobs whose needs failed, unless their if uses a status function", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  a: { runs-on: x, steps: [{run: a}] }
  b: { needs: a, runs-on: x, steps: [{run: a}] }
  report: { needs: b, if: always(), runs-on: x, steps: [{run: a}] }
  on-failure: { needs: a, if: failure(), runs-on: x, steps: [{run: a}] }
`),
    );
    engine.start();
    const next = engine.jobFinished("a#0", fail);
    expect(settled(next)).toEqual(["b:skipped"]);
    expect(started(next).sort()).toEqual(["on-failure#0", "report#0"]);
    engine.jobFinished("report#0", ok());
    expect(finishedWith(engine.jobFinished("on-failure#0", ok()))).toBe("failure");
  });

  it("expands a matrix, honours max-parallel and names jobs as GitHub does", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  test:
    runs-on: x
    strategy:
      max-parallel: 2
      matrix:
        python: ['3.10', '3.11', '3.12']
    steps: [{run: a}]
`),
    );
    const first = engine.start();
    expect(started(first)).toEqual(["test#0", "test#1"]);
    const start = first.find((c) => c.kind === "start");
    expect(start?.kind === "start" && start.assignment.displayName).toBe("test (3.10)");
    expect(start?.kind === "start" && start.assignment.contexts.matrix).toEqual({ python: "3.10" });
    expect(started(engine.jobFinished("test#1", ok()))).toEqual(["test#2"]);
  });

  it("fail-fast cancels the rest of a matrix", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  test:
    runs-on: x
    strategy:
      max-parallel: 2
      matrix: { n: [1, 2, 3, 4] }
    steps: [{run: a}]
`),
    );
    engine.start();
    const next = engine.jobFinished("test#0", fail);
    expect(next.filter((c) => c.kind === "cancel").map((c) => (c.kind === "cancel" ? c.id : ""))).toEqual([
      "test#1",
    ]);
    expect(started(next)).toEqual([]);
    // The queued ones never ran: they are reported as cancelled, as GitHub lists them.
    expect(settled(next)).toEqual(["test (3):cancelled", "test (4):cancelled"]);
    expect(finishedWith(engine.jobFinished("test#1", { conclusion: "cancelled", outputs: {} }))).toBe(
      "failure",
    );
    expect(engine.jobResults()[0]?.instances.map((i) => i.result)).toEqual([
      "failure",
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
  });

  it("does not fail fast with fail-fast: false, nor for a job with continue-on-error", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  test:
    runs-on: x
    strategy:
      fail-fast: false
      matrix: { n: [1, 2] }
    steps: [{run: a}]
`),
    );
    engine.start();
    expect(engine.jobFinished("test#0", fail).filter((c) => c.kind === "cancel")).toEqual([]);
    expect(finishedWith(engine.jobFinished("test#1", ok()))).toBe("failure");

    const lenient = engineFor(
      await treeOf(`on: push
jobs:
  test:
    runs-on: x
    strategy:
      matrix: { n: [1, 2] }
    steps: [{run: a}]
  after: { needs: test, runs-on: x, steps: [{run: a}] }
`),
    );
    lenient.start();
    expect(
      lenient.jobFinished("test#0", { ...fail, continueOnError: true }).filter((c) => c.kind === "cancel"),
    ).toEqual([]);
    const next = lenient.jobFinished("test#1", ok());
    // A failure with continue-on-error reads as success to the jobs that need it.
    const start = next.find((c) => c.kind === "start");
    expect(start?.kind === "start" && start.assignment.contexts.needs).toEqual({
      test: { result: "success", outputs: {} },
    });
    expect(finishedWith(lenient.jobFinished("after#0", ok()))).toBe("success");
  });

  it("keeps to the run's concurrent-jobs limit", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  a: { runs-on: x, steps: [{run: a}] }
  b: { runs-on: x, steps: [{run: a}] }
  c: { runs-on: x, steps: [{run: a}] }
`),
      { concurrentJobs: 2 },
    );
    expect(started(engine.start())).toEqual(["a#0", "b#0"]);
    expect(started(engine.jobFinished("b#0", ok()))).toEqual(["c#0"]);
  });

  it("cancels: queued jobs dropped, running ones told, always() jobs still run", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  a: { runs-on: x, steps: [{run: a}] }
  b: { needs: a, runs-on: x, steps: [{run: a}] }
  cleanup: { needs: a, if: always(), runs-on: x, steps: [{run: a}] }
`),
    );
    engine.start();
    const cancel = engine.cancel();
    expect(cancel.filter((c) => c.kind === "cancel").map((c) => (c.kind === "cancel" ? c.id : ""))).toEqual([
      "a#0",
    ]);
    const next = engine.jobFinished("a#0", { conclusion: "cancelled", outputs: {} });
    expect(settled(next)).toEqual(["b:cancelled"]);
    expect(started(next)).toEqual(["cleanup#0"]);
    expect(finishedWith(engine.jobFinished("cleanup#0", ok()))).toBe("cancelled");
  });

  it("runs only the jobs asked for and what they need (-j)", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  lint: { runs-on: x, steps: [{run: a}] }
  build: { runs-on: x, steps: [{run: a}] }
  test: { needs: build, runs-on: x, steps: [{run: a}] }
`),
      { onlyJobs: ["test"] },
    );
    expect(started(engine.start())).toEqual(["build#0"]);
    expect(started(engine.jobFinished("build#0", ok()))).toEqual(["test#0"]);
  });

  it("runs only matching matrix jobs (--matrix)", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  test:
    runs-on: x
    strategy:
      matrix: { os: [a, b], n: [1, 2] }
    steps: [{run: a}]
`),
      { matrixFilter: { os: "b" } },
    );
    const first = engine.start();
    expect(
      first
        .filter((c) => c.kind === "start")
        .map((c) => (c.kind === "start" ? c.assignment.displayName : "")),
    ).toEqual(["test (b, 1)", "test (b, 2)"]);
  });

  it("runs a reusable workflow's jobs under the calling job, with its inputs, secrets and outputs", async () => {
    const engine = engineFor(
      await treeOf(
        `on: push
jobs:
  build:
    uses: ./.github/workflows/build.yml
    with: { target: prod }
    secrets: inherit
  deploy: { needs: build, runs-on: x, steps: [{run: a}] }
`,
        {
          ".github/workflows/build.yml": `on:
  workflow_call:
    inputs:
      target: { type: string, required: true }
      retries: { type: number, default: 3 }
    outputs:
      artifact: { value: "\${{ jobs.compile.outputs.name }}" }
jobs:
  compile: { runs-on: x, outputs: { name: "\${{ steps.a.outputs.n }}" }, steps: [{id: a, run: a}] }
`,
        },
      ),
    );
    const first = engine.start();
    const start = first.find((c) => c.kind === "start");
    expect(start?.kind === "start" && start.assignment.id).toBe("build#0/compile#0");
    expect(start?.kind === "start" && start.assignment.displayName).toBe("build / compile");
    expect(start?.kind === "start" && start.assignment.contexts.inputs).toEqual({
      target: "prod",
      retries: 3,
    });
    expect(start?.kind === "start" && start.assignment.contexts.secrets).toEqual({ TOKEN: "s3cret" });
    const next = engine.jobFinished("build#0/compile#0", ok({ name: "app.tgz" }));
    const deploy = next.find((c) => c.kind === "start");
    expect(deploy?.kind === "start" && deploy.assignment.contexts.needs).toEqual({
      build: { result: "success", outputs: { artifact: "app.tgz" } },
    });
  });

  it("fails a job whose matrix from needs is too large, with the reason", async () => {
    const engine = engineFor(
      await treeOf(`on: push
jobs:
  plan: { runs-on: x, outputs: { m: "\${{ steps.a.outputs.m }}" }, steps: [{id: a, run: a}] }
  test:
    needs: plan
    runs-on: x
    strategy:
      matrix: \${{ fromJSON(needs.plan.outputs.m) }}
    steps: [{run: a}]
`),
    );
    engine.start();
    const values = JSON.stringify({ n: Array.from({ length: 300 }, (_, i) => i) });
    const next = engine.jobFinished("plan#0", ok({ m: values }));
    const settledCommand = next.find((c) => c.kind === "job-settled");
    expect(settledCommand?.kind === "job-settled" && settledCommand.result).toBe("failure");
    expect(settledCommand?.kind === "job-settled" && settledCommand.errors[0]?.message).toMatch(
      /300 configurations/,
    );
    expect(finishedWith(next)).toBe("failure");
  });
});
