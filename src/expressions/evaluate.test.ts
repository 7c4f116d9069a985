import { describe, expect, test } from "vitest";
import type { Diagnostic, Result } from "../diagnostic.js";
import type { JsonValue } from "../json.js";
import type { ExpressionContexts } from "./contexts.js";
import {
  evaluateCondition,
  evaluateExpression,
  isTruthy,
  stripExpressionMarkers,
  withImplicitSuccess,
} from "./evaluate.js";
import type { EvaluateOptions } from "./evaluate.js";
import { statusFunctions } from "./status-functions.js";

const contexts: ExpressionContexts = {
  github: {
    event_name: "push",
    ref: "refs/heads/main",
    sha: "abc123",
    event: {
      issue: { labels: [{ name: "bug" }, { name: "help wanted" }] },
    },
  },
  env: { FOO: "upper", foo: "lower", NUM: "42" },
  vars: {
    fruits: [
      { name: "apple", quantity: 1 },
      { name: "orange", quantity: 2 },
      { name: "pear", quantity: 1 },
    ],
    vegetables: {
      scallions: { colors: ["green", "white", "red"], ediblePortions: ["roots", "stalks"] },
      beets: { colors: ["purple", "red"], ediblePortions: ["roots", "stems", "leaves"] },
      artichokes: { colors: ["green"], ediblePortions: ["hearts", "stems", "leaves"] },
    },
  },
  steps: { build: { outputs: { version: "1.2.3" }, outcome: "success", conclusion: "success" } },
};

function value(expression: string, options: EvaluateOptions = {}): JsonValue {
  const result = evaluateExpression(expression, contexts, options);
  if (!result.ok) throw new Error(result.errors.map((d) => d.message).join("\n"));
  return result.value;
}

function errorsOf<T>(result: Result<T>): Diagnostic[] {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.errors;
}

describe("literals (GitHub docs: Literals)", () => {
  test.each<[string, JsonValue]>([
    ["null", null],
    ["false", false],
    ["711", 711],
    ["-9.2", -9.2],
    ["0xff", 255],
    ["-2.99e-2", -0.0299],
    ["'Mona the Octocat'", "Mona the Octocat"],
    ["'It''s open source!'", "It's open source!"],
  ])("%s", (expression, expected) => {
    expect(value(expression)).toEqual(expected);
  });

  test("every doubled quote in a string is one quote (the library only unescapes the first)", () => {
    expect(value("'It''s ''quoted'''")).toBe("It's 'quoted'");
  });
});

describe("operators and coercion (GitHub docs: Operators)", () => {
  test.each<[string, JsonValue]>([
    ["null == 0", true],
    ["'' == 0", true],
    ["'' == null", true],
    ["false == 0", true],
    ["true == 1", true],
    ["'1' == 1", true],
    ["' 1 ' == 1", true],
    ["'abc' == 'ABC'", true],
    ["'abc' != 'ABC'", false],
    ["'abc' == 0", false],
    ["NaN == NaN", false],
    ["NaN != NaN", true],
    ["fromJSON('[]') == fromJSON('[]')", false],
    ["github.event == github.event", true],
    ["1 < 2", true],
    ["'b' > 'A'", true],
    ["2 >= '2'", true],
    ["'a' < 1", false],
    ["!0", true],
    ["!'false'", false],
    ["(1 == 1) && 'yes'", "yes"],
    ["0 || 'fallback'", "fallback"],
    ["'' && 'never'", ""],
  ])("%s", (expression, expected) => {
    expect(value(expression)).toEqual(expected);
  });

  test("the && || idiom picks a value like a ternary", () => {
    const idiom = "github.ref == 'refs/heads/main' && 'value_for_main_branch' || 'value_for_other_branches'";
    expect(value(idiom)).toBe("value_for_main_branch");
    const other = evaluateExpression(idiom, { github: { ref: "refs/heads/dev" } });
    expect(other).toEqual({ ok: true, value: "value_for_other_branches" });
  });
});

describe("functions (GitHub docs: Functions)", () => {
  test.each<[string, JsonValue]>([
    ["contains('Hello world', 'llo')", true],
    ["contains('Hello world', 'LLO')", true],
    ["contains(github.event.issue.labels.*.name, 'bug')", true],
    ["contains(github.event.issue.labels.*.name, 'BUG')", true],
    ["contains(github.event.issue.labels.*.name, 'feature')", false],
    ['contains(fromJSON(\'["push", "pull_request"]\'), github.event_name)', true],
    ["startsWith('Hello world', 'He')", true],
    ["startsWith('Hello world', 'he')", true],
    ["endsWith('Hello world', 'ld')", true],
    ["format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", "Hello Mona the Octocat"],
    ["format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')", "{Hello Mona the Octocat!}"],
    ["format('{0} {0}', 1.50)", "1.5 1.5"],
    ["format('{0}|{1}|{2}', null, true, github.event)", "|true|Object"],
    ["join(github.event.issue.labels.*.name, ', ')", "bug, help wanted"],
    ["join(github.event.issue.labels.*.name)", "bug,help wanted"],
    ["join('single')", "single"],
    ["toJSON(steps.build.outputs)", '{\n  "version": "1.2.3"\n}'],
    ["toJSON(1)", "1"],
    ["fromJSON('{\"a\": [1, true, null]}')", { a: [1, true, null] }],
    ["fromJSON('42')", 42],
    ["fromJSON(env.NUM) == 42", true],
    ['fromJSON(\'{"constructor": 1, "toString": 2}\').constructor', 1],
    ["fromJSON('{\"Key\": 1}').KEY", 1],
  ])("%s", (expression, expected) => {
    expect(value(expression)).toEqual(expected);
  });
});

describe("contexts", () => {
  test("object filters (GitHub docs: Object filters)", () => {
    expect(value("vars.fruits.*.name")).toEqual(["apple", "orange", "pear"]);
    expect(value("vars.vegetables.*.ediblePortions")).toEqual([
      ["roots", "stalks"],
      ["roots", "stems", "leaves"],
      ["hearts", "stems", "leaves"],
    ]);
    expect(value("vars.vegetables.*.ediblePortions.*")).toEqual([
      "roots",
      "stalks",
      "roots",
      "stems",
      "leaves",
      "hearts",
      "stems",
      "leaves",
    ]);
  });

  test("context names and keys ignore case", () => {
    expect(value("GITHUB.Event_Name")).toBe("push");
    expect(value("github['EVENT_NAME']")).toBe("push");
    expect(value("Steps.BUILD.outputs.VERSION")).toBe("1.2.3");
  });

  test("env keys are case-sensitive, as on GitHub's Linux and macOS runners", () => {
    expect(value("env.FOO")).toBe("upper");
    expect(value("env.foo")).toBe("lower");
    expect(value("env.Foo")).toBe(null);
  });

  test("missing properties and absent contexts are null", () => {
    expect(value("github.nope.deeper")).toBe(null);
    expect(value("matrix.os")).toBe(null);
    expect(value("needs")).toBe(null);
    expect(value("vars.fruits[1].name")).toBe("orange");
    expect(value("vars.fruits[7]")).toBe(null);
  });
});

describe("errors are diagnostics at the given location", () => {
  const location = { file: ".github/workflows/ci.yml", line: 7, column: 12 };

  test("syntax error", () => {
    const [d] = errorsOf(evaluateExpression("github.sha ==", contexts, { location }));
    expect(d?.location).toEqual(location);
    expect(d?.message).toMatch(/^Invalid expression: Unexpected end of expression/);
    expect(d?.message).toContain("github.sha ==");
  });

  test("unknown function and unknown context", () => {
    expect(errorsOf(evaluateExpression("frobnicate(1)", contexts))[0]?.message).toMatch(
      /Unrecognized function: 'frobnicate'\. Located at position 1 within expression: frobnicate\(1\)/,
    );
    expect(errorsOf(evaluateExpression("github.sha == nope.x", contexts))[0]?.message).toMatch(
      /Unrecognized named-value: 'nope'\. Located at position 15/,
    );
  });

  test("status functions are unknown unless the host supplies them", () => {
    expect(errorsOf(evaluateExpression("success()", contexts))[0]?.message).toMatch(
      /Unrecognized function: 'success'/,
    );
  });

  test("wrong number of arguments", () => {
    expect(errorsOf(evaluateExpression("contains('a')", contexts))[0]?.message).toMatch(/Too few parameters/);
  });

  test("evaluation errors", () => {
    const [bad] = errorsOf(evaluateExpression("fromJSON('{not json')", contexts, { location }));
    expect(bad?.location).toEqual(location);
    expect(bad?.message).toMatch(/^Error evaluating 'fromJSON\('\{not json'\)': Error parsing JSON/);
    expect(errorsOf(evaluateExpression("format('{0} {1}', 'a')", contexts))[0]?.message).toMatch(
      /references more arguments than were supplied/,
    );
    expect(errorsOf(evaluateExpression("fromJSON('')", contexts))[0]?.message).toMatch(/empty input/);
  });

  test("an empty expression and a lexer error", () => {
    expect(errorsOf(evaluateExpression("  ", contexts))[0]?.message).toMatch(/An expression was expected/);
    expect(errorsOf(evaluateExpression("'unterminated", contexts))[0]?.message).toMatch(/Unexpected symbol/);
  });
});

describe("conditions", () => {
  const stepOk = { functions: statusFunctions({ kind: "step", jobStatus: "success" }) };
  const stepFailed = { functions: statusFunctions({ kind: "step", jobStatus: "failure" }) };
  const condition = (text: string, options: EvaluateOptions): boolean => {
    const result = evaluateCondition(text, contexts, options);
    if (!result.ok) throw new Error(result.errors.map((d) => d.message).join("\n"));
    return result.value;
  };

  test("truthiness", () => {
    expect([null, false, 0, Number.NaN, ""].map(isTruthy)).toEqual([false, false, false, false, false]);
    expect([true, 1, -1, "false", "0", [], {}].map(isTruthy)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(condition("'false'", stepOk)).toBe(true);
    expect(condition("0", stepOk)).toBe(false);
    expect(condition("github.event", stepOk)).toBe(true);
  });

  test("a condition without a status function only holds while the job succeeds", () => {
    expect(condition("github.event_name == 'push'", stepOk)).toBe(true);
    expect(condition("github.event_name == 'push'", stepFailed)).toBe(false);
    expect(condition("${{ github.event_name == 'push' }}", stepFailed)).toBe(false);
    expect(condition("", stepOk)).toBe(true);
    expect(condition("", stepFailed)).toBe(false);
  });

  test("with a status function the condition is taken as written", () => {
    expect(condition("failure() && github.event_name == 'push'", stepFailed)).toBe(true);
    expect(condition("always()", stepFailed)).toBe(true);
    expect(condition("${{ !cancelled() }}", stepFailed)).toBe(true);
  });

  test("withImplicitSuccess", () => {
    expect(withImplicitSuccess("github.ref == 'x'")).toBe("success() && (github.ref == 'x')");
    expect(withImplicitSuccess("${{ github.ref == 'x' }}")).toBe("success() && (github.ref == 'x')");
    expect(withImplicitSuccess("  ${{github.ref}}  ")).toBe("success() && (github.ref)");
    expect(withImplicitSuccess("")).toBe("success()");
    expect(withImplicitSuccess("${{ }}")).toBe("success()");
    expect(withImplicitSuccess("always()")).toBe("always()");
    expect(withImplicitSuccess("failure() || x")).toBe("failure() || x");
    expect(withImplicitSuccess("!cancelled()")).toBe("!cancelled()");
    expect(withImplicitSuccess("contains(x, Success())")).toBe("contains(x, Success())");
    expect(withImplicitSuccess("x == 'success()'")).toBe("success() && (x == 'success()')");
    expect(withImplicitSuccess("steps.success.outputs.always")).toBe(
      "success() && (steps.success.outputs.always)",
    );
  });

  test("stripExpressionMarkers leaves string templates alone", () => {
    expect(stripExpressionMarkers("${{ a }}")).toBe("a");
    expect(stripExpressionMarkers("${{ a }} && ${{ b }}")).toBe("${{ a }} && ${{ b }}");
    expect(stripExpressionMarkers(" a == b ")).toBe("a == b");
  });
});
