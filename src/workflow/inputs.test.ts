import { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } from "@actions/workflow-parser";
import type { EventsConfig } from "@actions/workflow-parser/model/workflow-template";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { SourceLocation } from "../diagnostic.js";
import {
  type InputDefinitions,
  type InputTrigger,
  eventInputs,
  resolveInputs,
  validateInputDefinitions,
  withRawInputTypes,
} from "./inputs.js";

/** The example of "Events that trigger workflows" > workflow_dispatch, plus a number. */
const dispatchInputs: InputDefinitions = {
  logLevel: {
    description: "Log level",
    required: true,
    default: "warning",
    type: "choice",
    options: ["info", "warning", "debug"],
  },
  tags: { description: "Test scenario tags", required: false, type: "boolean" },
  environment: { description: "Environment to run tests against", type: "environment", required: true },
  retries: { type: "number", default: 1 },
  note: { type: "string" },
};

function resolved(trigger: InputTrigger, definitions: InputDefinitions, provided: Record<string, unknown>) {
  const result = resolveInputs(trigger, definitions, provided);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("; "));
  return result.value;
}

function errorsOf(
  trigger: InputTrigger,
  definitions: InputDefinitions,
  provided: Record<string, unknown>,
): string[] {
  const result = resolveInputs(trigger, definitions, provided);
  return result.ok ? [] : result.errors.map((e) => e.message);
}

describe("resolveInputs for workflow_dispatch", () => {
  it("converts command-line strings to their types and fills the rest", () => {
    expect(
      resolved("workflow_dispatch", dispatchInputs, {
        logLevel: "debug",
        tags: "true",
        environment: "staging",
        retries: "3",
      }),
    ).toEqual({ logLevel: "debug", tags: true, environment: "staging", retries: 3, note: "" });
  });

  it("accepts JSON values from an API", () => {
    expect(
      resolved("workflow_dispatch", dispatchInputs, {
        tags: false,
        environment: "prod",
        retries: 2.5,
        note: "hi",
      }),
    ).toEqual({ logLevel: "warning", tags: false, environment: "prod", retries: 2.5, note: "hi" });
  });

  it("uses the default of a required input that is left out", () => {
    expect(resolved("workflow_dispatch", dispatchInputs, { environment: "staging" }).logLevel).toBe(
      "warning",
    );
  });

  it("gives false, 0 and '' to optional inputs without default", () => {
    const values = resolved(
      "workflow_dispatch",
      {
        flag: { type: "boolean" },
        count: { type: "number" },
        text: { type: "string" },
        pick: { type: "choice", options: ["a"] },
        untyped: {},
      },
      {},
    );
    expect(values).toEqual({ flag: false, count: 0, text: "", pick: "", untyped: "" });
  });

  it("treats null as left out", () => {
    expect(resolved("workflow_dispatch", dispatchInputs, { environment: "x", retries: null }).retries).toBe(
      1,
    );
  });

  it("reports an unknown input with the known names", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", level: "info" })).toEqual([
      "unexpected input 'level': the workflow defines 'logLevel', 'tags', 'environment', 'retries', 'note'",
    ]);
  });

  it("suggests the right case for a name that differs only in case", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", loglevel: "info" })).toEqual([
      "unexpected input 'loglevel': did you mean 'logLevel'? Input names are case-sensitive",
    ]);
  });

  it("reports inputs given to a workflow without inputs", () => {
    expect(errorsOf("workflow_dispatch", {}, { x: "1" })).toEqual([
      "unexpected input 'x': the workflow defines no inputs",
    ]);
    expect(errorsOf("workflow_dispatch", {}, {})).toEqual([]);
  });

  it("reports a missing required input", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, {})).toEqual([
      "required input 'environment' was not provided",
    ]);
  });

  it("reports a boolean that is not true or false", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", tags: "yes" })).toEqual([
      "input 'tags' must be true or false, got 'yes'",
    ]);
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", tags: "True" })).toEqual([
      "input 'tags' must be true or false, got 'True'",
    ]);
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", tags: 1 })).toEqual([
      "input 'tags' must be true or false, got 1",
    ]);
  });

  it("reports a number that is not a number", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", retries: "three" })).toEqual([
      "input 'retries' must be a number, got 'three'",
    ]);
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", retries: "" })).toEqual([
      "input 'retries' must be a number, got ''",
    ]);
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", retries: "0x10" })).toHaveLength(
      1,
    );
    expect(
      resolved("workflow_dispatch", dispatchInputs, { environment: "x", retries: " -1.5e2 " }).retries,
    ).toBe(-150);
  });

  it("reports a choice outside its options, listing them", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", logLevel: "trace" })).toEqual([
      "input 'logLevel' must be one of 'info', 'warning', 'debug'; got 'trace'",
    ]);
  });

  it("reports a value that is an object or a list", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: "x", note: { a: 1 } })).toEqual([
      "input 'note' must be a string, got an object",
    ]);
    expect(errorsOf("workflow_dispatch", dispatchInputs, { environment: ["x"] })).toEqual([
      "input 'environment' must be an environment name, got a list",
    ]);
  });

  it("checks environment names when they are known", () => {
    const result = resolveInputs(
      "workflow_dispatch",
      dispatchInputs,
      { environment: "qa" },
      { environments: ["staging", "production"] },
    );
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      "input 'environment' must name an environment ('staging', 'production'); got 'qa'",
    ]);
  });

  it("reports every problem at once", () => {
    expect(errorsOf("workflow_dispatch", dispatchInputs, { tags: "maybe", bogus: "1" })).toEqual([
      "unexpected input 'bogus': the workflow defines 'logLevel', 'tags', 'environment', 'retries', 'note'",
      "input 'tags' must be true or false, got 'maybe'",
      "required input 'environment' was not provided",
    ]);
  });

  it("reports a default that does not fit its type", () => {
    expect(
      errorsOf("workflow_dispatch", { level: { type: "choice", options: ["a"], default: "z" } }, {}),
    ).toEqual(["the default of input 'level' must be one of 'a'; got 'z'"]);
  });

  it("keeps an input named __proto__ as an ordinary input", () => {
    const definitions = JSON.parse('{"__proto__": {"type": "string", "default": "x"}}') as InputDefinitions;
    const values = resolved("workflow_dispatch", definitions, {});
    expect(Object.hasOwn(values, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
  });

  it("limits the inputs JSON to 65,535 characters", () => {
    const big = { note: "a".repeat(65_535 - 11) };
    expect(JSON.stringify(big).length).toBe(65_535);
    expect(errorsOf("workflow_dispatch", dispatchInputs, { ...big, environment: "" })).toEqual([
      "inputs are too large: 65552 characters of JSON, the limit is 65,535",
    ]);
    expect(errorsOf("workflow_dispatch", { note: { type: "string" } }, big)).toEqual([]);
  });
});

describe("resolveInputs for workflow_call", () => {
  const callInputs: InputDefinitions = {
    username: { type: "string", default: "john-doe", required: false },
    count: { type: "number" },
    dry: { type: "boolean" },
  };

  it("uses the documented defaults: false, 0 and ''", () => {
    expect(resolved("workflow_call", callInputs, {})).toEqual({ username: "john-doe", count: 0, dry: false });
  });

  it("keeps typed values passed with `with:`", () => {
    expect(resolved("workflow_call", callInputs, { username: "mona", count: 4, dry: true })).toEqual({
      username: "mona",
      count: 4,
      dry: true,
    });
  });

  it("writes numbers and booleans passed to a string input as text", () => {
    expect(resolved("workflow_call", callInputs, { username: 42 }).username).toBe("42");
  });

  it("refuses an input the called workflow does not define", () => {
    expect(errorsOf("workflow_call", callInputs, { user: "x" })).toEqual([
      "unexpected input 'user': the workflow defines 'username', 'count', 'dry'",
    ]);
  });

  it("does not limit the size of workflow_call inputs", () => {
    expect(errorsOf("workflow_call", callInputs, { username: "a".repeat(70_000) })).toEqual([]);
  });
});

describe("eventInputs", () => {
  it("gives every value as a string, as github.event.inputs does", () => {
    expect(eventInputs({ logLevel: "debug", tags: false, retries: 3, note: "" })).toEqual({
      logLevel: "debug",
      tags: "false",
      retries: "3",
      note: "",
    });
  });
});

describe("validateInputDefinitions", () => {
  const where = (path: readonly (string | number)[]): SourceLocation => ({
    file: "w.yml",
    line: path.length,
    column: 1,
  });

  function problems(
    trigger: InputTrigger,
    definitions: InputDefinitions,
  ): Array<[string, number | undefined]> {
    return validateInputDefinitions(trigger, definitions, where).map((d) => [d.message, d.location?.line]);
  }

  it("accepts GitHub's documented example", () => {
    expect(problems("workflow_dispatch", dispatchInputs)).toEqual([]);
  });

  it("reports a choice default that is not among the options, at the default", () => {
    expect(
      problems("workflow_dispatch", {
        level: { type: "choice", options: ["info", "debug"], default: "warn" },
      }),
    ).toEqual([
      ["the default of choice input 'level' must be one of its options ('info', 'debug'), got 'warn'", 2],
    ]);
  });

  it("reports a boolean default that is not a boolean", () => {
    expect(problems("workflow_dispatch", { flag: { type: "boolean", default: "true" } })).toEqual([
      ["the default of boolean input 'flag' must be true or false (unquoted), got 'true'", 2],
    ]);
    expect(problems("workflow_call", { flag: { type: "boolean", default: false } })).toEqual([]);
  });

  it("reports a number default that is not a number", () => {
    expect(problems("workflow_dispatch", { n: { type: "number", default: "many" } })).toEqual([
      ["the default of number input 'n' must be a number, got 'many'", 2],
    ]);
    expect(problems("workflow_dispatch", { n: { type: "number", default: 3 } })).toEqual([]);
  });

  it("leaves expression defaults of workflow_call alone", () => {
    expect(
      problems("workflow_call", { flag: { type: "boolean", default: "${{ github.event_name == 'push' }}" } }),
    ).toEqual([]);
  });

  it("reports a type the trigger does not allow", () => {
    expect(problems("workflow_call", { pick: { type: "choice", options: ["a"] } })).toEqual([
      ["input 'pick' has type 'choice'; workflow_call inputs may be string, number, boolean", 2],
    ]);
    expect(problems("workflow_dispatch", { f: { type: "float" } })).toEqual([
      [
        "input 'f' has type 'float'; workflow_dispatch inputs may be string, boolean, number, choice, environment",
        2,
      ],
    ]);
  });

  it("allows 25 workflow_dispatch inputs and reports 26 at the inputs mapping", () => {
    const many = (count: number): InputDefinitions =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`in${i}`, { type: "string" }]));
    expect(problems("workflow_dispatch", many(25))).toEqual([]);
    expect(problems("workflow_dispatch", many(26))).toEqual([
      ["you may only define up to 25 `inputs` for a `workflow_dispatch` event; found 26", 0],
    ]);
    expect(problems("workflow_call", many(26))).toEqual([]);
  });
});

describe("withRawInputTypes", () => {
  const content = [
    "on:",
    "  workflow_dispatch:",
    "    inputs:",
    "      n: { type: number, default: 3, description: count }",
    "      s: { type: string, default: x }",
    "jobs:",
    "  a: { runs-on: x, steps: [{ run: echo }] }",
  ].join("\n");

  async function parsedEvents(): Promise<EventsConfig> {
    const parsed = parseWorkflow({ name: "w.yml", content }, new NoOperationTraceWriter());
    if (!parsed.value) throw new Error("the test workflow did not parse");
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    return template.events;
  }

  it("takes back type number and its default that the parser dropped", async () => {
    const parsedInputs: InputDefinitions | undefined = (await parsedEvents()).workflow_dispatch?.inputs;
    // The parser's InputType has no number: the type and the default are gone.
    expect(parsedInputs?.n).toEqual({ description: "count" });
    const raw: unknown = parseYaml(content).on.workflow_dispatch.inputs;
    const repaired = withRawInputTypes(parsedInputs, raw);
    expect(repaired).toEqual({
      n: { type: "number", default: 3, description: "count" },
      s: { type: "string", default: "x" },
    });
    expect(resolved("workflow_dispatch", repaired, {})).toEqual({ n: 3, s: "x" });
  });

  it("keeps definitions unchanged when the raw mapping does not help", () => {
    expect(withRawInputTypes({ n: {} }, undefined)).toEqual({ n: {} });
    expect(withRawInputTypes({ n: {} }, { n: "number" })).toEqual({ n: {} });
    expect(withRawInputTypes(undefined, {})).toEqual({});
  });
});
