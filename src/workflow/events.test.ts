import { describe, expect, it } from "vitest";
import { GITHUB_EVENTS, likelyEvent } from "./events.js";

describe("likelyEvent", () => {
  it.each([
    ["pull_requestt", "pull_request"],
    ["psuh", "push"],
    ["Push", "push"],
    ["workflow-dispatch", "workflow_dispatch"],
    ["workflow_dispach", "workflow_dispatch"],
    ["schedul", "schedule"],
    ["releases", "release"],
  ])("takes '%s' for '%s'", (typo, event) => {
    expect(likelyEvent(typo)).toBe(event);
  });

  it.each(["deploy", "build", "nightly", "x", "pr"])("suggests nothing for '%s'", (name) => {
    expect(likelyEvent(name)).toBeUndefined();
  });

  it("knows the events GitHub documents, each once", () => {
    expect(new Set(GITHUB_EVENTS).size).toBe(GITHUB_EVENTS.length);
    for (const event of ["push", "pull_request", "workflow_dispatch", "workflow_call", "merge_group"]) {
      expect(GITHUB_EVENTS).toContain(event);
    }
  });
});
