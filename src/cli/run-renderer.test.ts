import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { AnnotationLevel, LogKind, RunEvent, StepOutcome } from "../engine/events.js";
import type { JobResult } from "../expressions/status-functions.js";
import {
  MAX_SUMMARY_BYTES,
  RunRenderer,
  clean,
  createRunRenderer,
  formatDuration,
  jsonRunOutput,
  rendererOptionsFor,
  terminalRunOutput,
  type RunRendererOptions,
} from "./run-renderer.js";
import type { Style } from "./style.js";

const at = "2025-06-14T10:00:00.000Z";
const PLAIN: RunRendererOptions = { interactive: false, colour: false };
const TTY: RunRendererOptions = { interactive: true, colour: true, columns: 120 };
const UP = "\r\u001b[1A\u001b[2K";

// Small builders, so each test reads as the run it describes.
const run = (runId = "20250614T100000000Z-abcdef"): RunEvent => ({
  type: "run-started",
  runId,
  runNumber: 7,
  workflow: "CI",
  workflowPath: ".github/workflows/ci.yml",
  event: "push",
  ref: "refs/heads/main",
  sha: "0123456",
  at,
});
const job = (jobId: string, name = jobId): RunEvent => ({ type: "job-started", jobId, name, at });
const step = (jobId: string, n: number, name: string): RunEvent => ({
  type: "step-started",
  jobId,
  step: n,
  name,
  at,
});
const log = (jobId: string, n: number | null, text: string, kind: LogKind = "output"): RunEvent => ({
  type: "log",
  jobId,
  step: n,
  text,
  kind,
  stream: "stdout",
  at,
});
const done = (
  jobId: string,
  n: number,
  name: string,
  outcome: StepOutcome,
  durationMs: number,
  conclusion: StepOutcome = outcome,
): RunEvent => ({ type: "step-finished", jobId, step: n, name, outcome, conclusion, durationMs, at });
const jobDone = (
  jobId: string,
  result: JobResult,
  durationMs: number,
  name = jobId,
  ran = true,
): RunEvent => ({
  type: "job-finished",
  jobId,
  name,
  result,
  ran,
  durationMs,
  outputs: {},
  at,
});
const runDone = (conclusion: "success" | "failure" | "cancelled", durationMs: number): RunEvent => ({
  type: "run-finished",
  conclusion,
  durationMs,
  at,
});
const note = (
  jobId: string,
  n: number | null,
  level: AnnotationLevel,
  message: string,
  where: { file?: string; line?: number; column?: number; title?: string } = {},
): RunEvent => ({ type: "annotation", jobId, step: n, level, message, ...where, at });

function render(events: readonly RunEvent[], options: RunRendererOptions = PLAIN): string[] {
  const renderer = new RunRenderer(options);
  return [...events.flatMap((e) => renderer.push(e)), ...renderer.end()];
}

/** A short, successful one-job run. */
const simpleRun: RunEvent[] = [
  run(),
  job("build"),
  step("build", 1, "Set up job"),
  done("build", 1, "Set up job", "success", 120),
  step("build", 2, "Run npm test"),
  log("build", 2, "> jest"),
  log("build", 2, "Tests: 12 passed"),
  done("build", 2, "Run npm test", "success", 1234),
  jobDone("build", "success", 1400),
  runDone("success", 1450),
];

describe("plain output (not a terminal)", () => {
  it("prints every line with its job prefix, the steps, the table and the verdict", () => {
    expect(render(simpleRun)).toEqual([
      "CI #7 · push · .github/workflows/ci.yml",
      "[build] … Set up job",
      "[build] ✓ Set up job (0.1s)",
      "[build] … Run npm test",
      "[build]   > jest",
      "[build]   Tests: 12 passed",
      "[build] ✓ Run npm test (1.2s)",
      "[build] ✓ Job succeeded (1.4s)",
      "",
      "Jobs",
      "  ✓ build  success  1.4s",
      "",
      "✓ Run succeeded in 1.4s",
    ]);
  });

  it("contains no escape code at all, even when a program printed colours and cursor moves", () => {
    const lines = render([
      run(),
      job("a"),
      step("a", 1, "colours"),
      log(
        "a",
        1,
        "\u001b[31mred\u001b[0m \u001b[2Kcleared \u001b]8;;http://x\u0007link\u001b]8;;\u0007 bell\u0007",
      ),
      done("a", 1, "colours", "success", 10),
      jobDone("a", "success", 10),
      runDone("success", 10),
    ]);
    // eslint-disable-next-line no-control-regex
    expect(lines.join("\n")).not.toMatch(/\u001b/);
    expect(lines).toContain("[a]   red cleared link bell");
  });

  it("shows groups as ▸ title with their lines indented beneath, and no ::group:: markers", () => {
    const lines = render([
      job("a"),
      step("a", 1, "Install"),
      log("a", 1, "Dependencies", "group"),
      log("a", 1, "added 12 packages"),
      log("a", 1, "", "endgroup"),
      log("a", 1, "done"),
      done("a", 1, "Install", "success", 300),
    ]);
    expect(lines.slice(0, 6)).toEqual([
      "[a] … Install",
      "[a]   ▸ Dependencies",
      "[a]     added 12 packages",
      "[a]   done",
      "[a] ✓ Install (0.3s)",
      "",
    ]);
  });

  it("marks debug, runner and echoed command lines, and job-level lines are not indented", () => {
    const lines = render([
      job("a"),
      log("a", null, "runs-on: ubuntu-latest (running on this host)", "info"),
      step("a", 1, "s"),
      log("a", 1, "value is 3", "debug"),
      log("a", 1, "::set-output name=x::1", "command"),
      done("a", 1, "s", "success", 0),
    ]);
    expect(lines.slice(0, 5)).toEqual([
      "[a] runs-on: ubuntu-latest (running on this host)",
      "[a] … s",
      "[a]   debug: value is 3",
      "[a]   ::set-output name=x::1",
      "[a] ✓ s (0.0s)",
    ]);
  });

  it("tells a failure, a continue-on-error failure, a skip and a cancel apart", () => {
    const lines = render([
      job("a"),
      step("a", 1, "lint"),
      done("a", 1, "lint", "failure", 400, "success"),
      step("a", 2, "test"),
      done("a", 2, "test", "failure", 2500),
      step("a", 3, "deploy"),
      log("a", 3, "Skipped: the condition `success()` is false.", "info"),
      done("a", 3, "deploy", "skipped", 0),
      step("a", 4, "wait"),
      done("a", 4, "wait", "cancelled", 61_000),
      jobDone("a", "failure", 64_000),
      runDone("failure", 65_000),
    ]);
    expect(lines.filter((l) => /^\[a\] [✓✗⊘]/.test(l))).toEqual([
      "[a] ✗ lint (0.4s, failed, continued)",
      "[a] ✗ test (2.5s)",
      "[a] ⊘ deploy (skipped)",
      "[a] ⊘ wait (1m 01s, cancelled)",
      "[a] ✗ Job failed (1m 04s)",
    ]);
    // The table names the step that failed the job, not the one that continued on error.
    expect(lines).toContain("  ✗ a  failure  1m 04s  failed at: test");
    expect(lines[lines.length - 1]).toBe("✗ Run failed after 1m 05s");
  });

  it("pads prefixes to the longest running job, and stops padding for jobs that ended", () => {
    const lines = render([
      job("build"),
      job("test-3.10", "test (3.10)"),
      log("build", null, "one"),
      log("test-3.10", null, "two"),
      jobDone("test-3.10", "success", 1000, "test (3.10)"),
      log("build", null, "three"),
      jobDone("build", "success", 1000),
      runDone("success", 2000),
    ]);
    expect(lines.slice(0, 5)).toEqual([
      "[build]       one",
      "[test (3.10)] two",
      "[test (3.10)] ✓ Job succeeded (1.0s)",
      "[build] three",
      "[build] ✓ Job succeeded (1.0s)",
    ]);
    expect(lines).toContain("  ✓ test (3.10)  success  1.0s");
  });

  it("shortens a very long job name in the prefix but not in the table", () => {
    const name = "integration (ubuntu-latest, node 20, postgres 16, redis)";
    const lines = render([job("i", name), log("i", null, "x"), jobDone("i", "success", 1, name)]);
    expect(lines[0]).toBe("[integration (ubuntu-latest, nod…] x");
    expect(lines).toContain(`  ✓ ${name}  success  0.0s`);
  });

  it("lists jobs that never started (skipped, or settled by the engine) with their annotations", () => {
    const lines = render([
      note("settled:deploy", null, "error", "the job could not start"),
      jobDone("settled:deploy", "failure", 0, "deploy", false),
      jobDone("settled:docs", "skipped", 0, "docs", false),
      runDone("failure", 5),
    ]);
    expect(lines).toEqual([
      "[deploy] error: the job could not start",
      "[deploy] ✗ Job failed before it started",
      "[docs] ⊘ Job skipped",
      "",
      "Jobs",
      "  ✗ deploy  failure",
      "  ⊘ docs    skipped",
      "",
      "Annotations",
      "  deploy: error: the job could not start",
      "",
      "✗ Run failed after 0.0s",
    ]);
  });

  it("prints annotations live and again at the end as file:line: level: title: message", () => {
    const lines = render([
      job("t", "test"),
      step("t", 1, "Run tests"),
      note("t", 1, "error", "expected 1 to be 2\n  at a.test.ts:12", {
        file: "src/a.test.ts",
        line: 12,
        column: 5,
        title: "Test failed",
      }),
      note("t", 1, "notice", "coverage 91%", { file: "README.md" }),
      note("t", null, "warning", "Node 16 actions are deprecated"),
      done("t", 1, "Run tests", "failure", 900),
      jobDone("t", "failure", 1000, "test"),
      runDone("failure", 1000),
    ]);
    expect(lines.slice(1, 5)).toEqual([
      "[test]   src/a.test.ts:12:5: error: Test failed: expected 1 to be 2",
      "[test]         at a.test.ts:12",
      "[test]   README.md: notice: coverage 91%",
      "[test] warning: Node 16 actions are deprecated",
    ]);
    const start = lines.indexOf("Annotations");
    expect(lines.slice(start, start + 6)).toEqual([
      "Annotations",
      "  src/a.test.ts:12:5: error: Test failed: expected 1 to be 2",
      "        at a.test.ts:12",
      "  README.md: notice: coverage 91%",
      "  test: warning: Node 16 actions are deprecated",
      "",
    ]);
  });

  it("keeps only GitHub's number of annotations for the report, and says how many it left out", () => {
    const events: RunEvent[] = [job("a"), step("a", 1, "noisy")];
    for (let i = 0; i < 15; i++) events.push(note("a", 1, "warning", `w${i}`));
    events.push(runDone("failure", 1));
    const lines = render(events);
    const start = lines.indexOf("Annotations");
    expect(lines.slice(start + 1, start + 12)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `  a: warning: w${i}`),
      "  … and 5 more (like GitHub, 10 per step and level, 50 per job are kept)",
    ]);
    // All fifteen were still shown live.
    expect(lines.filter((l) => l.startsWith("[a]   warning: w"))).toHaveLength(15);
  });

  it("renders step summaries at the end, under the job and step that wrote them", () => {
    const lines = render([
      job("b", "build"),
      step("b", 1, "Report"),
      {
        type: "step-summary",
        jobId: "b",
        step: 1,
        markdown:
          "# Coverage\n\n| file | % |\n|---|--:|\n| a.ts | 91 |\n| long/b.ts | 100 |\n\n<b>done</b>\n",
        at,
      },
      done("b", 1, "Report", "success", 10),
      jobDone("b", "success", 20, "build"),
      runDone("success", 30),
    ]);
    const start = lines.indexOf("Summary: build › Report");
    expect(lines.slice(start)).toEqual([
      "Summary: build › Report",
      "  Coverage",
      "",
      "  file         %",
      "  ─────────  ───",
      "  a.ts        91",
      "  long/b.ts  100",
      "",
      "  done",
      "",
      "✓ Run succeeded in 0.0s",
    ]);
  });

  it("cuts a summary over 1 MiB and says so", () => {
    const big = "x".repeat(MAX_SUMMARY_BYTES + 10);
    const lines = render([
      job("a"),
      step("a", 1, "s"),
      { type: "step-summary", jobId: "a", step: 1, markdown: big, at },
    ]);
    const start = lines.indexOf("Summary: a › s");
    expect(lines[start + 1]).toBe("  " + "x".repeat(MAX_SUMMARY_BYTES));
    expect(lines[start + 2]).toBe("  (summary cut at 1 MiB, GitHub's limit per step)");
  });

  it("says when the record stops before the run finished", () => {
    const renderer = new RunRenderer(PLAIN);
    renderer.push(job("a"));
    renderer.push(log("a", null, "working"));
    expect(renderer.end()).toEqual([
      "",
      "Jobs",
      "  ? a  unfinished",
      "",
      "? Run did not finish (the record stops here: the process ended mid-run, or the run is still going)",
    ]);
    expect(renderer.end()).toEqual([]);
  });

  it("prints nothing more once the run finished", () => {
    const renderer = new RunRenderer(PLAIN);
    renderer.push(runDone("cancelled", 2000));
    expect(renderer.push(log("a", null, "late"))).toEqual([]);
    expect(renderer.end()).toEqual([]);
  });

  it("ends a cancelled run with ⊘", () => {
    expect(render([runDone("cancelled", 3000)]).at(-1)).toBe("⊘ Run cancelled after 3.0s");
  });
});

describe("interactive output (a terminal)", () => {
  // eslint-disable-next-line no-control-regex
  const strip = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, "");

  it("rewrites a step's … line in place when nothing came between", () => {
    const lines = render(simpleRun, TTY).map(strip);
    expect(lines.slice(1, 7)).toEqual([
      "[build] … Set up job",
      `${UP}[build] ✓ Set up job (0.1s)`,
      "[build] … Run npm test",
      "[build]   > jest",
      "[build]   Tests: 12 passed",
      // Lines came between: a new line, not a rewrite.
      "[build] ✓ Run npm test (1.2s)",
    ]);
  });

  it("does not rewrite a line that may have wrapped on a narrow terminal", () => {
    const lines = render(simpleRun.slice(0, 4), { ...TTY, columns: 10 }).map(strip);
    expect(lines[2]).toBe("[build] ✓ Set up job (0.1s)");
  });

  it("does not rewrite when another job printed in between", () => {
    const lines = render(
      [job("a"), job("b"), step("a", 1, "s"), log("b", null, "hello"), done("a", 1, "s", "success", 5)],
      TTY,
    ).map(strip);
    expect(lines.slice(0, 3)).toEqual(["[a] … s", "[b] hello", "[a] ✓ s (0.0s)"]);
  });

  it("collapses a group to its title, counts the hidden lines, and offers the full log", () => {
    const events: RunEvent[] = [
      run("20250614T100000000Z-abcdef"),
      job("a"),
      step("a", 1, "Install"),
      log("a", 1, "Dependencies", "group"),
      log("a", 1, "one"),
      log("a", 1, "two"),
      log("a", 1, "", "endgroup"),
      log("a", 1, "after"),
      done("a", 1, "Install", "success", 300),
      jobDone("a", "success", 300),
      runDone("success", 300),
    ];
    const lines = render(events, TTY).map(strip);
    expect(lines.slice(1, 6)).toEqual([
      "[a] … Install",
      "[a]   ▸ Dependencies",
      `${UP}[a]   ▸ Dependencies (2 lines)`,
      "[a]   after",
      "[a] ✓ Install (0.3s)",
    ]);
    expect(lines).toContain(
      "2 lines inside collapsed groups not shown: `conveyor logs 20250614T100000000Z-abcdef --expand` shows everything",
    );
  });

  it("shows the group's lines when asked to expand", () => {
    const lines = render(
      [
        job("a"),
        step("a", 1, "s"),
        log("a", 1, "G", "group"),
        log("a", 1, "inside"),
        log("a", 1, "", "endgroup"),
      ],
      { ...TTY, expandGroups: true },
    ).map(strip);
    expect(lines.slice(0, 3)).toEqual(["[a] … s", "[a]   ▸ G", "[a]     inside"]);
  });

  it("shows annotations even inside a collapsed group", () => {
    const lines = render(
      [job("a"), step("a", 1, "s"), log("a", 1, "G", "group"), note("a", 1, "error", "boom")],
      TTY,
    ).map(strip);
    expect(lines.slice(0, 3)).toEqual(["[a] … s", "[a]   ▸ G", "[a]   error: boom"]);
  });

  it("colours the prefix stably per job, different for jobs running together, and dims debug lines", () => {
    const first = render([job("a", "lint"), log("a", null, "x")], TTY)[0] ?? "";
    const again = render([job("z", "lint"), log("z", null, "x")], TTY)[0] ?? "";
    expect(first).toBe(again);
    // eslint-disable-next-line no-control-regex
    expect(first).toMatch(/^\u001b\[\d+m\[lint\]\u001b\[39m x$/);
    const together = render(
      [job("a", "lint"), job("b", "lint "), log("a", null, "x"), log("b", null, "y")],
      TTY,
      // eslint-disable-next-line no-control-regex
    ).map((l) => /^\u001b\[(\d+)m/.exec(l)?.[1]);
    expect(together[0]).not.toBe(together[1]);
    const debug = render([job("a"), log("a", 1, "detail", "debug")], TTY)[0];
    expect(debug).toContain("\u001b[2mdebug: detail\u001b[22m");
  });

  it("keeps a program's colours but resets them at the end of its line", () => {
    const line = render([job("a"), log("a", null, "\u001b[32mgreen")], TTY)[0];
    expect(line?.endsWith("\u001b[32mgreen\u001b[0m")).toBe(true);
  });
});

describe("memory", () => {
  it("streams a huge step through without keeping its lines", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const renderer = new RunRenderer(PLAIN);
    renderer.push(job("big"));
    renderer.push(step("big", 1, "flood"));
    const filler = "y".repeat(1000);
    gc();
    const before = process.memoryUsage().heapUsed;
    let printed = 0;
    // 200k distinct lines of 1 kB: 200 MB if they were kept. toUpperCase makes each a flat string of
    // its own, not a cheap rope over the shared filler that would hide a leak.
    for (let i = 0; i < 200_000; i++)
      printed += renderer.push(log("big", 1, `${i} ${filler}`.toUpperCase())).length;
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(printed).toBe(200_000);
    expect(grown).toBeLessThan(10 * 1024 * 1024);
  });
});

describe("clean", () => {
  it("leaves ordinary text alone and keeps tabs", () => {
    expect(clean("a\tb ✓", false)).toBe("a\tb ✓");
  });

  it("drops cursor moves, screen clears, OSC links and stray control characters", () => {
    expect(clean("\u001b[2J\u001b[Hhi\u0008\u001b]0;title\u0007!", true)).toBe("hi!");
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0.0s"],
    [1234, "1.2s"],
    [9_949, "9.9s"],
    [12_400, "12s"],
    [185_000, "3m 05s"],
    [3_720_000, "1h 02m"],
  ])("%d ms is %s", (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe("writers", () => {
  const sink = (): { stream: NodeJS.WritableStream; text: () => string } => {
    let text = "";
    const stream = {
      write: (chunk: string): boolean => {
        text += chunk;
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    return { stream, text: () => text };
  };

  it("--json writes one event a line, exactly as given", () => {
    const out = sink();
    const output = jsonRunOutput(out.stream);
    for (const event of simpleRun) output.write(event);
    output.end();
    expect(
      out
        .text()
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual(simpleRun);
  });

  it("the terminal writer prints what the core returns, one line each", () => {
    const out = sink();
    const output = terminalRunOutput(out.stream, PLAIN);
    for (const event of simpleRun) output.write(event);
    output.end();
    expect(out.text()).toBe(render(simpleRun).join("\n") + "\n");
  });

  it("chooses the plain form off a terminal, with --no-color and with NO_COLOR", () => {
    const tty = { isTTY: true, columns: 80 } as unknown as NodeJS.WritableStream;
    const pipe = {} as NodeJS.WritableStream;
    expect(rendererOptionsFor(tty, {})).toEqual({ interactive: true, colour: true, columns: 80 });
    expect(rendererOptionsFor(tty, {}, { color: false })).toMatchObject({
      interactive: false,
      colour: false,
    });
    expect(rendererOptionsFor(tty, { NO_COLOR: "1" })).toMatchObject({ interactive: false, colour: false });
    expect(rendererOptionsFor(pipe, {})).toEqual({ interactive: false, colour: false });
    const unsized = { isTTY: true, columns: 0 } as unknown as NodeJS.WritableStream;
    expect(rendererOptionsFor(unsized, {})).toEqual({ interactive: true, colour: true });
    expect(rendererOptionsFor(pipe, { FORCE_COLOR: "1" })).toEqual({ interactive: false, colour: true });
  });

  it("createRunRenderer follows a style without colour to the plain form", () => {
    let text = "";
    const tty = {
      isTTY: true,
      write: (chunk: string): boolean => {
        text += chunk;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const colourless: Style = {
      bold: String,
      dim: String,
      red: String,
      green: String,
      yellow: String,
      cyan: String,
    };
    const output = createRunRenderer(tty, colourless, {}, {});
    for (const event of simpleRun) output.write(event);
    output.end();
    expect(text).toBe(render(simpleRun).join("\n") + "\n");
  });
});
