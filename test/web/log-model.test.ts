/** The log page's pure parts: the log model (steps, groups, numbering, search), the SSE parser, the graph layout. */
import { describe, expect, it } from "vitest";
import { EventStreamParser } from "../../web/src/log/event-stream.js";
import { LogModel, stripAnsi } from "../../web/src/log/log-model.js";
import { layoutGraph } from "../../web/src/graph-layout.js";

const at = "2026-01-01T00:00:00.000Z";
const log = (seq: number, text: string, kind = "output", step: number | null = 1) => ({
  seq,
  event: { type: "log", jobId: "j", step, text, kind, stream: "stdout", at },
});

function sampleModel(): LogModel {
  const model = new LogModel();
  model.append([
    log(1, "runs-on: ubuntu-latest", "info", null),
    { seq: 2, event: { type: "step-started", jobId: "j", step: 1, name: "Build", at } },
    log(3, "Install", "group"),
    log(4, "installing a"),
    log(5, "", "endgroup"),
    log(6, "\x1b[31mred needle\x1b[0m"),
    {
      seq: 7,
      event: {
        type: "annotation",
        jobId: "j",
        step: 1,
        level: "error",
        message: "boom",
        file: "a.js",
        line: 3,
        at,
      },
    },
    {
      seq: 8,
      event: {
        type: "step-finished",
        jobId: "j",
        step: 1,
        name: "Build",
        outcome: "failure",
        conclusion: "failure",
        durationMs: 1500,
        at,
      },
    },
  ]);
  return model;
}

describe("the log model", () => {
  it("numbers lines, makes steps sections and folds groups by default", () => {
    const model = sampleModel();
    expect(model.lineCount).toBe(5);
    expect(model.entries.map((e) => `${e.kind}:${e.n}:${stripAnsi(e.text)}`)).toEqual([
      "line:1:runs-on: ubuntu-latest",
      "step:0:Build",
      "group:2:Install",
      "line:3:installing a",
      "line:4:red needle",
      "annotation:5:boom (a.js:3)",
    ]);
    expect(model.steps.get(1)).toMatchObject({ conclusion: "failure", durationMs: 1500 });
    const folded = [...model.visible(new Set())].map((i) => model.entries[i]?.n);
    expect(folded).toEqual([1, 0, 2, 4, 5]);
    // Opening the group shows its line; closing the step hides everything in it.
    expect([...model.visible(new Set([2]))].map((i) => model.entries[i]?.n)).toEqual([1, 0, 2, 3, 4, 5]);
    expect([...model.visible(new Set([1]))].map((i) => model.entries[i]?.n)).toEqual([1, 0]);
  });

  it("finds lines by number and by seq, searches without colours, reveals folded matches", () => {
    const model = sampleModel();
    expect(model.entryOfLine(3)).toBe(3);
    expect(model.entryOfSeq(7)).toBe(5);
    expect(model.search("NEEDLE")).toEqual([4]);
    expect(model.search("31m")).toEqual([]);
    expect(model.revealing(3, new Set([1]))).toEqual([1, 2]);
  });

  it("ignores rows it has already (a resumed stream repeats none twice)", () => {
    const model = sampleModel();
    model.append([log(6, "again"), log(9, "new line")]);
    expect(model.lineCount).toBe(6);
    expect(model.plainText()).toContain("new line");
    expect(model.plainText()).not.toContain("again");
  });

  it("keeps many lines as plain entries and folds them quickly", () => {
    const model = new LogModel();
    const rows = [];
    for (let seq = 1; seq <= 200_000; seq++) rows.push(log(seq, `line ${seq}`, "output", null));
    model.append(rows);
    const started = performance.now();
    expect(model.visible(new Set()).length).toBe(200_000);
    // Generous for a loaded CI machine; the benchmark measures the browser.
    expect(performance.now() - started).toBeLessThan(250);
  });
});

describe("the event-stream parser", () => {
  it("parses events split anywhere, with ids, names, comments and multi-line data", () => {
    const parser = new EventStreamParser();
    const text =
      ': keep-alive\n\nid: 4\nevent: log\ndata: {"a":1}\n\nid: 5\ndata: one\ndata: two\n\nevent: end\ndata: {}\n\n';
    const events = [];
    for (const chunk of text.match(/[\s\S]{1,7}/g) ?? []) events.push(...parser.feed(chunk));
    expect(events).toEqual([
      { id: "4", event: "log", data: '{"a":1}' },
      { id: "5", event: "message", data: "one\ntwo" },
      { id: "5", event: "end", data: "{}" },
    ]);
  });
});

describe("the job graph layout", () => {
  it("places jobs left to right by needs, with an edge for each", () => {
    const layout = layoutGraph([
      { id: "build", needs: [], width: 100, height: 40 },
      { id: "test", needs: ["build"], width: 100, height: 40 },
      { id: "deploy", needs: ["test", "missing"], width: 100, height: 40 },
    ]);
    const x = Object.fromEntries(layout.nodes.map((n) => [n.id, n.x]));
    expect(x.build).toBeLessThan(x.test as number);
    expect(x.test).toBeLessThan(x.deploy as number);
    expect(layout.edges.map((e) => `${e.from}->${e.to}`)).toEqual(["build->test", "test->deploy"]);
    expect(layout.width).toBeGreaterThan(300);
  });
});
