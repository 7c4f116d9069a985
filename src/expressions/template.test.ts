import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import {
  BasicExpressionToken,
  MappingToken,
  NullToken,
  NumberToken,
  SequenceToken,
  StringToken,
} from "@actions/workflow-parser/templates/tokens/index";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import { isMapping, isString } from "@actions/workflow-parser/templates/tokens/type-guards";
import { describe, expect, test } from "vitest";
import type { Diagnostic, Result } from "../diagnostic.js";
import type { ExpressionContexts } from "./contexts.js";
import { statusFunctions } from "./status-functions.js";
import { evaluateString, evaluateStringMap, evaluateTemplate, expressionString } from "./template.js";
import type { TemplateOptions } from "./template.js";

const FILE = ".github/workflows/ci.yml";

const workflow = `on: push
env:
  PLAIN: hello
  NUMBER: 1.50
  FLAG: true
  SHA: \${{ github.sha }}
  MIXED: "sha=\${{ github.sha }} ref=\${{ github.ref }}"
  EMPTY: \${{ github.nothing }}
jobs:
  build:
    runs-on: \${{ fromJSON('["ubuntu-latest", "self-hosted"]') }}
    timeout-minutes: \${{ 3 }}
    continue-on-error: \${{ true }}
    strategy:
      matrix:
        os: [linux, mac]
        size: [1, 2.5]
    environment:
      name: \${{ format('deploy-{0}', matrix.os) }}
      url: https://example.com/\${{ github.sha }}
    container:
      image: node:\${{ matrix.node }}
      env:
        \${{ format('KEY_{0}', matrix.os) }}: value
    outputs:
      bad: \${{ fromJSON('{oops') }}
      also-bad: \${{ format('{0}{1}', 1) }}
    steps:
      - run: echo \${{ github.event }}
      - run: \${{ github.event }}
`;

function parsed(): MappingToken {
  const result = parseWorkflow({ name: FILE, content: workflow }, new NoOperationTraceWriter());
  expect(result.context.errors.getErrors()).toEqual([]);
  if (!result.value || !isMapping(result.value)) throw new Error("no workflow");
  return result.value;
}

function at(token: TemplateToken, ...path: (string | number)[]): TemplateToken {
  let current = token;
  for (const step of path) {
    if (typeof step === "number") {
      if (!(current instanceof SequenceToken)) throw new Error(`not a sequence at ${step}`);
      current = current.get(step);
    } else {
      if (!isMapping(current)) throw new Error(`not a mapping at ${step}`);
      const found = [...current].find((pair) => isString(pair.key) && pair.key.value === step);
      if (!found) throw new Error(`no ${step}`);
      current = found.value;
    }
  }
  return current;
}

const root = parsed();
const job = at(root, "jobs", "build");
const contexts: ExpressionContexts = {
  github: { sha: "abc123", ref: "refs/heads/main", event: { action: "opened" } },
  matrix: { os: "linux", node: 20 },
};
const options: TemplateOptions = { fileName: (id) => (id === 1 ? FILE : "?") };

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(result.errors.map((d) => d.message).join("\n"));
  return result.value;
}

function errorsOf<T>(result: Result<T>): Diagnostic[] {
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return result.errors;
}

describe("evaluateTemplate", () => {
  test("a whole-value expression keeps its type", () => {
    expect(valueOf(evaluateTemplate(at(job, "runs-on"), contexts, options))).toEqual([
      "ubuntu-latest",
      "self-hosted",
    ]);
    expect(valueOf(evaluateTemplate(at(job, "timeout-minutes"), contexts, options))).toBe(3);
    expect(valueOf(evaluateTemplate(at(job, "continue-on-error"), contexts, options))).toBe(true);
  });

  test("mappings, sequences and literals", () => {
    expect(valueOf(evaluateTemplate(at(job, "strategy"), contexts, options))).toEqual({
      matrix: { os: ["linux", "mac"], size: [1, 2.5] },
    });
    expect(valueOf(evaluateTemplate(at(job, "environment"), contexts, options))).toEqual({
      name: "deploy-linux",
      url: "https://example.com/abc123",
    });
  });

  test("strings with several expressions become one string", () => {
    expect(valueOf(evaluateTemplate(at(root, "env"), contexts, options))).toEqual({
      PLAIN: "hello",
      NUMBER: "1.5",
      FLAG: "true",
      SHA: "abc123",
      MIXED: "sha=abc123 ref=refs/heads/main",
      EMPTY: null,
    });
  });

  test("mapping keys can be expressions; numbers print as GitHub prints them", () => {
    expect(valueOf(evaluateTemplate(at(job, "container"), contexts, options))).toEqual({
      image: "node:20",
      env: { KEY_linux: "value" },
    });
  });

  test("every error is reported at its token's file:line:col", () => {
    const errors = errorsOf(evaluateTemplate(at(job, "outputs"), contexts, options));
    expect(errors.map((d) => d.location)).toEqual([
      { file: FILE, line: 26, column: 12 },
      { file: FILE, line: 27, column: 17 },
    ]);
    expect(errors[0]?.message).toMatch(/^Error evaluating 'fromJSON\('\{oops'\)': Error parsing JSON/);
    expect(errors[1]?.message).toMatch(/references more arguments than were supplied/);
  });

  test("status functions reach expressions through the options", () => {
    const token = new BasicExpressionToken(
      1,
      undefined,
      "success() && 'go'",
      undefined,
      undefined,
      undefined,
    );
    const withStatus = { ...options, functions: statusFunctions({ kind: "step", jobStatus: "success" }) };
    expect(valueOf(evaluateTemplate(token, contexts, withStatus))).toBe("go");
    expect(errorsOf(evaluateTemplate(token, contexts, options))[0]?.location).toEqual({
      file: FILE,
      line: 1,
      column: 1,
    });
  });

  test("built tokens: null, numbers, and keys that evaluate to the same name", () => {
    const range = (line: number, column: number) => ({
      start: { line, column },
      end: { line, column: column + 1 },
    });
    const mapping = new MappingToken(1, range(1, 1), undefined);
    mapping.add(new StringToken(1, range(1, 1), "Name", undefined), new NullToken(1, range(1, 7), undefined));
    mapping.add(
      new StringToken(1, range(2, 1), "count", undefined),
      new NumberToken(1, range(2, 8), 2, undefined),
    );
    expect(valueOf(evaluateTemplate(mapping, contexts, options))).toEqual({ Name: null, count: 2 });
    mapping.add(
      new BasicExpressionToken(1, range(3, 1), "'name'", undefined, undefined, undefined),
      new StringToken(1, range(3, 12), "again", undefined),
    );
    const [duplicate] = errorsOf(evaluateTemplate(mapping, contexts, options));
    expect(duplicate).toEqual({
      severity: "error",
      message: "'name' is already defined",
      location: { file: FILE, line: 3, column: 1 },
    });
  });

  test("a `__proto__` key stays a key", () => {
    const mapping = new MappingToken(1, undefined, undefined);
    mapping.add(
      new StringToken(1, undefined, "__proto__", undefined),
      new StringToken(1, undefined, "x", undefined),
    );
    const value = valueOf(evaluateTemplate(mapping, contexts, options));
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value as object)).toEqual(["__proto__"]);
  });
});

describe("evaluateString", () => {
  test("expressions in a string field", () => {
    expect(valueOf(evaluateString(at(job, "steps", 0, "run"), contexts, options))).toBe("echo Object");
    expect(valueOf(evaluateString(at(root, "env", "EMPTY"), contexts, options))).toBe("");
    expect(valueOf(evaluateString(at(root, "env", "MIXED"), contexts, options))).toBe(
      "sha=abc123 ref=refs/heads/main",
    );
    expect(valueOf(evaluateString(at(job, "timeout-minutes"), contexts, options))).toBe("3");
    expect(valueOf(evaluateString(at(job, "continue-on-error"), contexts, options))).toBe("true");
  });

  test("an object is not a string", () => {
    const [d] = errorsOf(evaluateString(at(job, "steps", 1, "run"), contexts, options));
    expect(d?.message).toBe("Expected a string, but '${{ github.event }}' evaluated to an object.");
    expect(d?.location).toEqual({ file: FILE, line: 30, column: 14 });
    expect(errorsOf(evaluateString(at(job, "runs-on"), contexts, options))[0]?.message).toMatch(
      /evaluated to an array/,
    );
    expect(errorsOf(evaluateString(at(job, "strategy"), contexts, options))[0]?.message).toBe(
      "Expected a string, found a mapping.",
    );
  });

  test("GitHub's string conversion", () => {
    expect([null, true, false, 1.5, 0, -2, 1e21, 0.1 + 0.2, "x"].map(expressionString)).toEqual([
      "",
      "true",
      "false",
      "1.5",
      "0",
      "-2",
      "1e+21",
      "0.3",
      "x",
    ]);
    expect(expressionString({})).toBe(undefined);
    expect(expressionString([])).toBe(undefined);
  });
});

describe("evaluateStringMap", () => {
  test("env as strings", () => {
    expect(valueOf(evaluateStringMap(at(root, "env"), contexts, options))).toEqual({
      PLAIN: "hello",
      NUMBER: "1.5",
      FLAG: "true",
      SHA: "abc123",
      MIXED: "sha=abc123 ref=refs/heads/main",
      EMPTY: "",
    });
  });

  test("a whole-value expression that yields an object", () => {
    const token = new BasicExpressionToken(
      1,
      undefined,
      'fromJSON(\'{"A": 1, "B": null}\')',
      undefined,
      undefined,
      undefined,
    );
    expect(valueOf(evaluateStringMap(token, contexts, options))).toEqual({ A: "1", B: "" });
    const notMap = new BasicExpressionToken(1, undefined, "'text'", undefined, undefined, undefined);
    expect(errorsOf(evaluateStringMap(notMap, contexts, options))[0]?.message).toBe(
      "Expected a mapping, found a string.",
    );
  });
});
