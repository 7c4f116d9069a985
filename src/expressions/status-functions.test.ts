import { describe, expect, test } from "vitest";
import { evaluateCondition } from "./evaluate.js";
import type { JobResult, StatusState } from "./status-functions.js";
import { statusFunctions, statusValues } from "./status-functions.js";

function holds(condition: string, state: StatusState): boolean {
  const result = evaluateCondition(
    condition,
    { github: { event_name: "push" } },
    { functions: statusFunctions(state) },
  );
  if (!result.ok) throw new Error(result.errors.map((d) => d.message).join("\n"));
  return result.value;
}

const step = (jobStatus: "success" | "failure" | "cancelled"): StatusState => ({ kind: "step", jobStatus });
const job = (ancestorResults: JobResult[], runCancelled = false): StatusState => ({
  kind: "job",
  ancestorResults,
  runCancelled,
});

describe("in a step `if`", () => {
  test.each([
    ["success", { success: true, failure: false, cancelled: false }],
    ["failure", { success: false, failure: true, cancelled: false }],
    ["cancelled", { success: false, failure: false, cancelled: true }],
  ] as const)("job status %s", (status, expected) => {
    expect(statusValues(step(status))).toEqual(expected);
    expect(holds("success()", step(status))).toBe(expected.success);
    expect(holds("failure()", step(status))).toBe(expected.failure);
    expect(holds("cancelled()", step(status))).toBe(expected.cancelled);
    expect(holds("always()", step(status))).toBe(true);
  });

  test("the default condition runs a step only while no earlier step failed", () => {
    expect(holds("", step("success"))).toBe(true);
    expect(holds("github.event_name == 'push'", step("failure"))).toBe(false);
    expect(holds("github.event_name == 'push'", step("cancelled"))).toBe(false);
  });

  test("common idioms", () => {
    expect(holds("failure() || cancelled()", step("cancelled"))).toBe(true);
    expect(holds("!cancelled()", step("failure"))).toBe(true);
    expect(holds("!cancelled()", step("cancelled"))).toBe(false);
    expect(holds("success() || failure()", step("cancelled"))).toBe(false);
  });

  test("inside a composite action, success() and failure() read the action's own status", () => {
    const inComposite: StatusState = { kind: "step", jobStatus: "failure", actionStatus: "success" };
    expect(statusValues(inComposite)).toEqual({ success: true, failure: false, cancelled: false });
    const failedInside: StatusState = { kind: "step", jobStatus: "success", actionStatus: "failure" };
    expect(statusValues(failedInside)).toEqual({ success: false, failure: true, cancelled: false });
    const cancelledJob: StatusState = { kind: "step", jobStatus: "cancelled", actionStatus: "success" };
    expect(statusValues(cancelledJob)).toEqual({ success: false, failure: false, cancelled: true });
  });
});

describe("in a job `if`", () => {
  test("a job without needs succeeds by default", () => {
    expect(statusValues(job([]))).toEqual({ success: true, failure: false, cancelled: false });
  });

  test("all ancestors succeeded", () => {
    expect(holds("", job(["success", "success"]))).toBe(true);
    expect(holds("failure()", job(["success", "success"]))).toBe(false);
  });

  test("a skipped ancestor makes success() false but is no failure (actions/runner#2205)", () => {
    expect(statusValues(job(["success", "skipped"]))).toEqual({
      success: false,
      failure: false,
      cancelled: false,
    });
    expect(holds("github.event_name == 'push'", job(["success", "skipped"]))).toBe(false);
    expect(holds("always() && github.event_name == 'push'", job(["skipped"]))).toBe(true);
  });

  test("any failed ancestor makes failure() true", () => {
    expect(statusValues(job(["success", "failure", "skipped"]))).toEqual({
      success: false,
      failure: true,
      cancelled: false,
    });
    expect(holds("failure()", job(["failure"]))).toBe(true);
  });

  test("a cancelled run: only cancelled() and always() hold", () => {
    expect(statusValues(job(["failure"], true))).toEqual({ success: false, failure: false, cancelled: true });
    expect(holds("", job(["success"], true))).toBe(false);
    expect(holds("cancelled()", job(["success"], true))).toBe(true);
    expect(holds("always()", job(["success"], true))).toBe(true);
  });
});
