import { describe, expect, it } from "vitest";
import { RunEngine } from "../engine/run-engine.js";
import type { JobAssignment } from "../engine/run-engine.js";
import { CallTreeCache } from "../workflow/call-tree-cache.js";
import { findJob, parseJobKey, rebuildAssignment } from "./job-assignment.js";

const CI = `
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        node: [18, 20]
    steps:
      - run: echo node \${{ matrix.node }}
  build:
    uses: ./.github/workflows/build.yml
    with:
      target: linux
`;

const BUILD = `
on:
  workflow_call:
    inputs:
      target:
        type: string
        required: true
jobs:
  compile:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        arch: [x64, arm64]
    name: compile \${{ matrix.arch }}
    steps:
      - run: echo \${{ inputs.target }} \${{ matrix.arch }}
      - run: echo done
`;

const FILES = { ".github/workflows/ci.yml": CI, ".github/workflows/build.yml": BUILD };
const PATH = ".github/workflows/ci.yml";

async function tree(files: Record<string, string> = FILES) {
  const loaded = await new CallTreeCache().load(PATH, files);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join("; "));
  return loaded.value;
}

/** What the server's engine hands out when the run starts: the assignments a lease is made from. */
async function engineAssignments(): Promise<JobAssignment[]> {
  const engine = new RunEngine(
    await tree(),
    {
      github: { repository: "acme/app", event_path: "/srv/event.json" },
      vars: {},
      secrets: { TOKEN: "s" },
      inputs: {},
    },
    { concurrentJobs: 10 },
  );
  return engine.start().flatMap((command) => (command.kind === "start" ? [command.assignment] : []));
}

describe("rebuilding the engine's assignment from a lease", () => {
  it("finds every job the engine starts, matrix and called jobs included, from its key", async () => {
    const assignments = await engineAssignments();
    expect(assignments.map((a) => a.id).sort()).toEqual([
      "build#0/compile#0",
      "build#0/compile#1",
      "test#0",
      "test#1",
    ]);
    const runnerTree = await tree();
    for (const assignment of assignments) {
      // What travels in a lease: the key, the name, the instance and the contexts; never the parsed workflow.
      const lease = JSON.parse(
        JSON.stringify({
          key: assignment.id,
          displayName: assignment.displayName,
          instance: assignment.instance,
          contexts: assignment.contexts,
        }),
      ) as Parameters<typeof rebuildAssignment>[1];
      const rebuilt = rebuildAssignment(runnerTree, lease, "/runner/work/1/event.json");
      if (!rebuilt.ok) throw new Error(rebuilt.errors[0]?.message);
      const value = rebuilt.value;
      expect(value.id).toBe(assignment.id);
      expect(value.displayName).toBe(assignment.displayName);
      expect(value.workflow.path).toBe(assignment.workflow.path);
      expect(value.job.id).toBe(assignment.job.id);
      expect(value.job.location).toEqual(assignment.job.location);
      expect(value.job.steps.map((s) => s.location)).toEqual(assignment.job.steps.map((s) => s.location));
      expect(value.instance).toEqual(assignment.instance);
      expect({ ...value.contexts, github: undefined }).toEqual({ ...assignment.contexts, github: undefined });
      expect(value.contexts.github).toEqual({
        ...assignment.contexts.github,
        event_path: "/runner/work/1/event.json",
      });
    }
    const compile = assignments.find((a) => a.id === "build#0/compile#1");
    expect(compile?.workflow.path).toBe(".github/workflows/build.yml");
    expect(compile?.instance.matrix).toEqual({ arch: "arm64" });
    expect(compile?.contexts.inputs).toEqual({ target: "linux" });
  });

  it("reads keys of nested calls and refuses malformed ones", () => {
    expect(parseJobKey("build#0/compile#12")).toEqual({
      ok: true,
      value: [
        { job: "build", instance: 0 },
        { job: "compile", instance: 12 },
      ],
    });
    for (const bad of ["build", "build#", "build#01", "build#0/", "#1", "a#-1"]) {
      const parsed = parseJobKey(bad);
      expect(parsed.ok, bad).toBe(false);
      if (!parsed.ok) expect(parsed.errors[0]?.message).toContain(`'${bad}'`);
    }
  });

  it("says which part of a key does not fit the workflow", async () => {
    const loaded = await tree();
    const message = (key: string): string => {
      const found = findJob(loaded, key);
      return found.ok ? "" : (found.errors[0]?.message ?? "");
    };
    expect(message("deploy#0")).toBe("has no job 'deploy' (the lease's job key is 'deploy#0').");
    expect(message("build#0")).toContain("job 'build' calls a workflow: it has no steps to run");
    expect(message("test#0/compile#0")).toContain("job 'test' does not call a workflow");
    expect(message("build#0/link#0")).toContain("has no job 'link'");
    const found = findJob(loaded, "build#0/compile#1");
    expect(found.ok && found.value.workflow.path).toBe(".github/workflows/build.yml");
  });

  it("names a called workflow that the lease did not bring, and a remote one", async () => {
    const missing = await new CallTreeCache().load(PATH, { [PATH]: CI });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.errors[0]?.message).toContain("does not exist in this repository");
    const remote = await new CallTreeCache().load(PATH, {
      [PATH]: CI.replace("./.github/workflows/build.yml", "acme/shared/.github/workflows/build.yml@v1"),
    });
    expect(remote.ok).toBe(false);
    if (!remote.ok) expect(remote.errors[0]?.message).toContain("remote reusable workflow");
    const absent = await new CallTreeCache().load(".github/workflows/other.yml", FILES);
    expect(absent.ok).toBe(false);
  });

  it("parses a run's files once, and again when they differ", async () => {
    const cache = new CallTreeCache(2);
    const first = cache.load(PATH, FILES);
    expect(cache.load(PATH, { ...FILES })).toBe(first);
    const changed = cache.load(PATH, { ...FILES, [PATH]: CI.replace("name: ci", "name: ci2") });
    expect(changed).not.toBe(first);
    cache.load(".github/workflows/build.yml", FILES);
    // The oldest of three went: capacity 2.
    expect(cache.load(PATH, FILES)).not.toBe(first);
    const loaded = await changed;
    expect(loaded.ok && loaded.value.workflow.name).toBe("ci2");
  });
});
