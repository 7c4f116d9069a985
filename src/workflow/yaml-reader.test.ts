import { readFileSync } from "node:fs";
import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { getWorkflowSchema } from "@actions/workflow-parser/workflows/workflow-schema";
import {
  TemplateContext,
  TemplateValidationErrors,
} from "@actions/workflow-parser/templates/template-context";
import { describe, expect, it } from "vitest";
import { parseWorkflowText } from "./yaml-reader.js";
import { repositoryYamlFiles } from "./yaml-files.test-support.js";

/** What a parse gives: every error with its location, and the token tree. */
function outcome(parse: (context: TemplateContext) => { value: unknown }): unknown {
  const context = new TemplateContext(
    new TemplateValidationErrors(),
    getWorkflowSchema(),
    new NoOperationTraceWriter(),
  );
  const { value } = parse(context);
  return {
    errors: context.errors
      .getErrors()
      .map((e) => `${e.prefix ?? ""}|${e.message}|${JSON.stringify(e.range)}`),
    value: JSON.stringify(value),
  };
}

function expectSameAsParser(content: string, name = "w.yml"): void {
  const theirs = outcome((context) => parseWorkflow({ name, content }, context));
  const ours = outcome((context) => parseWorkflowText(name, content, context));
  expect(ours).toEqual(theirs);
}

describe("parseWorkflowText", () => {
  it("gives the parser's errors and tokens for every workflow in the repository", () => {
    const files = repositoryYamlFiles();
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) expectSameAsParser(readFileSync(file, "utf8"), file);
  });

  it.each([
    [
      "anchors and aliases",
      "on: push\nx-env: &env { A: 1 }\njobs:\n  a:\n    runs-on: x\n    env: *env\n    steps:\n      - run: echo\n",
    ],
    ["a circular alias", "on: push\njobs: &j\n  a: *j\n"],
    [
      "block scalars with headers",
      "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |-\n          echo ${{ github.sha }}\n      - run: >+\n          folded\n",
    ],
    ["duplicate keys", "on: push\non: pull_request\njobs:\n  a:\n    runs-on: x\n    steps: [{ run: a }]\n"],
    ["a YAML syntax error", "on: push\njobs:\n  a: [\n"],
    ["an empty key", "on: push\njobs:\n  : x\n"],
    ["a complex key", "on: push\n? [a, b]\n: c\njobs: {}\n"],
    [
      "scalars of every type",
      "on: push\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 1.5\n    continue-on-error: true\n    env: { N: null, T: ~, B: yes, O: 0o17 }\n    steps: [{ run: a }]\n",
    ],
    ["an empty document", ""],
    ["a bare scalar", "just text"],
    [
      "an expression error",
      "on: push\njobs:\n  a:\n    if: ${{ foo( }}\n    runs-on: x\n    steps: [{ run: a }]\n",
    ],
  ])("matches the parser on %s", (_name, content) => {
    expectSameAsParser(content);
  });
});
