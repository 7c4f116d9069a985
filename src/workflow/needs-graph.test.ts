import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import { ancestorsOf, buildNeedsGraph, levelsOf, readyJobs } from "./needs-graph.js";
import type { NeedsGraph, NeedsNode } from "./needs-graph.js";

function graphOf(nodes: NeedsNode[]): NeedsGraph {
  const result = buildNeedsGraph(nodes);
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join("\n"));
  return result.value;
}

const at = (line: number) => ({ file: "w.yml", line, column: 5 });

describe("the needs graph", () => {
  it("orders jobs topologically, keeping declaration order where it can", () => {
    const graph = graphOf([
      { id: "deploy", needs: ["test", "build"] },
      { id: "build", needs: [] },
      { id: "lint", needs: [] },
      { id: "test", needs: ["build"] },
    ]);
    expect(graph.order).toEqual(["build", "lint", "test", "deploy"]);
    expect(graph.dependents.get("build")).toEqual(["deploy", "test"]);
    expect(levelsOf(graph)).toEqual(
      new Map([
        ["build", 0],
        ["lint", 0],
        ["test", 1],
        ["deploy", 2],
      ]),
    );
  });

  it("lets a job start as soon as its own needs are done, not when a whole stage is", () => {
    // slow and fast have no needs; after-fast needs only fast.
    const graph = graphOf([
      { id: "slow", needs: [] },
      { id: "fast", needs: [] },
      { id: "after-fast", needs: ["fast"] },
      { id: "after-slow", needs: ["slow"] },
    ]);
    expect(readyJobs(graph, new Set(), new Set())).toEqual(["slow", "fast"]);
    // fast finished while slow still runs: after-fast may start now.
    expect(readyJobs(graph, new Set(["fast"]), new Set(["slow", "fast"]))).toEqual(["after-fast"]);
    expect(readyJobs(graph, new Set(["fast", "slow"]), new Set(["slow", "fast", "after-fast"]))).toEqual([
      "after-slow",
    ]);
  });

  it("finds every ancestor through needs", () => {
    const graph = graphOf([
      { id: "a", needs: [] },
      { id: "b", needs: ["a"] },
      { id: "c", needs: ["b"] },
      { id: "d", needs: [] },
    ]);
    expect([...ancestorsOf(graph, "c")].sort()).toEqual(["a", "b"]);
    expect([...ancestorsOf(graph, "d")]).toEqual([]);
  });

  it("names a cycle in full, at the need that closes it", () => {
    const result = buildNeedsGraph([
      { id: "a", needs: ["b"], needsLocations: [at(3)] },
      { id: "b", needs: ["a"], needsLocations: [at(6)] },
    ]);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map(formatDiagnostic)).toEqual([
        "w.yml:3:5: jobs need each other in a cycle: a -> b -> a. Remove one of these needs so the jobs can run in order.",
      ]);
    }
  });

  it("reports a job that needs itself", () => {
    const result = buildNeedsGraph([{ id: "a", needs: ["a"], needsLocations: [at(4)] }]);
    expect(!result.ok && result.errors.map((e) => e.message)).toEqual([
      "jobs need each other in a cycle: a -> a. Remove one of these needs so the jobs can run in order.",
    ]);
  });

  it("reports each distinct cycle once", () => {
    const result = buildNeedsGraph([
      { id: "a", needs: ["b"] },
      { id: "b", needs: ["a"] },
      { id: "c", needs: ["d"] },
      { id: "d", needs: ["c"] },
    ]);
    expect(!result.ok && result.errors.map((e) => e.message.split(":")[1]?.split(".")[0]?.trim())).toEqual([
      "a -> b -> a",
      "c -> d -> c",
    ]);
  });

  it("reports unknown needs and cycles together", () => {
    const result = buildNeedsGraph([
      { id: "a", needs: ["b", "ghost"], needsLocations: [at(2), at(3)] },
      { id: "b", needs: ["a"], needsLocations: [at(5)] },
    ]);
    expect(!result.ok && result.errors.map(formatDiagnostic)).toEqual([
      "w.yml:3:5: job 'a' needs 'ghost', which is not a job in this workflow (jobs: a, b).",
      "w.yml:2:5: jobs need each other in a cycle: a -> b -> a. Remove one of these needs so the jobs can run in order.",
    ]);
  });
});
