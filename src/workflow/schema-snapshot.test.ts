import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { getWorkflowSchema } from "@actions/workflow-parser/workflows/workflow-schema";
import {
  TemplateContext,
  TemplateValidationErrors,
} from "@actions/workflow-parser/templates/template-context";
import type { TemplateSchema } from "@actions/workflow-parser/templates/schema/template-schema";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { WORKFLOW_SCHEMA_SNAPSHOT } from "./schema-snapshot-data.js";
import { restoreSchema, snapshotSchema, workflowSchemaFromSnapshot } from "./schema-snapshot.js";

const DATA_FILE = fileURLToPath(new URL("./schema-snapshot-data.ts", import.meta.url));

/** Every object of a schema with its class, so that two schemas compare class by class. */
function withClasses(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withClasses);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return {
    class: value.constructor.name.replace(/^_/, ""),
    ...Object.fromEntries(entries.map(([k, v]) => [k, withClasses(v)])),
  };
}

describe("the workflow schema snapshot", () => {
  it("equals the schema the installed parser builds, class by class", async () => {
    const built = getWorkflowSchema();
    const snapshot = snapshotSchema(built);
    if (snapshot !== WORKFLOW_SCHEMA_SNAPSHOT && process.env.CONVEYOR_UPDATE_SCHEMA_SNAPSHOT === "1") {
      const header = readFileSync(DATA_FILE, "utf8").split("\n")[0];
      const source = `${header}\nexport const WORKFLOW_SCHEMA_SNAPSHOT = ${JSON.stringify(snapshot)};\n`;
      const options = (await prettier.resolveConfig(DATA_FILE)) ?? {};
      writeFileSync(DATA_FILE, await prettier.format(source, { ...options, filepath: DATA_FILE }));
      return;
    }
    // On a mismatch after upgrading @actions/workflow-parser, regenerate the snapshot with
    // CONVEYOR_UPDATE_SCHEMA_SNAPSHOT=1 npx vitest run src/workflow/schema-snapshot.test.ts
    expect(snapshot).toBe(WORKFLOW_SCHEMA_SNAPSHOT);
    expect(withClasses(restoreSchema(WORKFLOW_SCHEMA_SNAPSHOT))).toEqual(withClasses(built));
  });

  it("gives the parser the same verdicts and tokens as its own schema", () => {
    const parse = (schema: TemplateSchema, content: string) => {
      const context = new TemplateContext(
        new TemplateValidationErrors(),
        schema,
        new NoOperationTraceWriter(),
      );
      const result = parseWorkflow({ name: "w.yml", content }, context);
      return {
        errors: context.errors.getErrors().map((e) => e.message),
        value: JSON.stringify(result.value),
      };
    };
    const invalid =
      "on:\n  pull_request:\n    types: [opened, bogus]\njobs:\n  a:\n    runs-on: x\n    if: ${{ foo( }}\n    steps: []\n";
    const workflows = [
      invalid,
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.sha }}\n",
      "name: x\non: [push]\npermissions: { contents: weird }\njobs:\n  b:\n    uses: ./.github/workflows/c.yml\n    with: { a: 1 }\n",
    ];
    for (const content of workflows) {
      expect(parse(workflowSchemaFromSnapshot(), content)).toEqual(parse(getWorkflowSchema(), content));
    }
    expect(parse(workflowSchemaFromSnapshot(), invalid).errors.length).toBeGreaterThan(0);
  });
});
