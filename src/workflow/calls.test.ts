import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import { analyseRepository } from "./analyse.js";

function repository(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "conveyor-calls-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const BUILD = `on:
  workflow_call:
    inputs:
      target:
        type: string
        required: true
      verbose:
        type: boolean
    secrets:
      token:
        required: true
    outputs:
      artifact:
        value: \${{ jobs.compile.outputs.name }}
jobs:
  compile:
    runs-on: ubuntu-latest
    outputs:
      name: \${{ steps.c.outputs.name }}
    steps:
      - id: c
        run: echo name=app >> "$GITHUB_OUTPUT"
  test:
    needs: compile
    strategy:
      matrix:
        shard: [1, 2]
    runs-on: ubuntu-latest
    steps: [{run: echo test}]
`;

async function errorsIn(files: Record<string, string>, only = ".github/workflows/main.yml") {
  const analysis = await analyseRepository(repository(files), [only]);
  return analysis.errors.map(formatDiagnostic);
}

describe("reusable workflows", () => {
  it("plans a local reusable workflow's jobs under the calling job", async () => {
    const analysis = await analyseRepository(
      repository({
        ".github/workflows/build.yml": BUILD,
        ".github/workflows/main.yml": `on: push
jobs:
  build:
    uses: ./.github/workflows/build.yml
    with:
      target: prod
    secrets: inherit
  deploy:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo \${{ needs.build.outputs.artifact }}
`,
      }),
      [".github/workflows/main.yml"],
    );
    expect(analysis.errors.map(formatDiagnostic)).toEqual([]);
    const [plan] = analysis.plans;
    const build = plan?.jobs.find((j) => j.definition.id === "build");
    expect(build?.call?.workflow.path).toBe(".github/workflows/build.yml");
    expect(
      build?.call?.jobs.map((j) => [j.definition.id, j.expansion?.instances.map((i) => i.name)]),
    ).toEqual([
      ["compile", ["compile"]],
      ["test", ["test (1)", "test (2)"]],
    ]);
  });

  it("refuses an input the called workflow does not define, at the input", async () => {
    const errors = await errorsIn({
      ".github/workflows/build.yml": BUILD,
      ".github/workflows/main.yml": `on: push
jobs:
  build:
    uses: ./.github/workflows/build.yml
    with:
      target: prod
      colour: blue
    secrets: inherit
`,
    });
    expect(errors).toEqual([
      ".github/workflows/main.yml:7:7: input 'colour' is not defined by ./.github/workflows/build.yml (its inputs: target, verbose).",
    ]);
  });

  it("refuses a call missing a required input or secret", async () => {
    const errors = await errorsIn({
      ".github/workflows/build.yml": BUILD,
      ".github/workflows/main.yml": `on: push
jobs:
  build:
    uses: ./.github/workflows/build.yml
`,
    });
    expect(errors).toEqual([
      ".github/workflows/main.yml:4:11: input 'target' is required by ./.github/workflows/build.yml: pass it under `with:`.",
      ".github/workflows/main.yml:4:11: secret 'token' is required by ./.github/workflows/build.yml: pass it under `secrets:`, or use `secrets: inherit`.",
    ]);
  });

  it("refuses calling a workflow without workflow_call", async () => {
    const errors = await errorsIn({
      ".github/workflows/other.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n",
      ".github/workflows/main.yml": "on: push\njobs:\n  call:\n    uses: ./.github/workflows/other.yml\n",
    });
    expect(errors).toEqual([
      ".github/workflows/main.yml:4:11: ./.github/workflows/other.yml cannot be called: it has no `workflow_call` trigger. Add `on: workflow_call` to .github/workflows/other.yml.",
    ]);
  });

  it("says clearly when the called file is missing or remote", async () => {
    const errors = await errorsIn({
      ".github/workflows/main.yml": `on: push
jobs:
  a:
    uses: ./.github/workflows/nope.yml
  b:
    uses: octo/tools/.github/workflows/build.yml@v1
`,
    });
    expect(errors).toEqual([
      ".github/workflows/main.yml:4:11: the reusable workflow ./.github/workflows/nope.yml does not exist in this repository.",
      ".github/workflows/main.yml:6:11: octo/tools/.github/workflows/build.yml@v1 is a remote reusable workflow, and Conveyor does not download workflows: copy the file into ./.github/workflows/ and call it as ./.github/workflows/<file>.",
    ]);
  });

  it("refuses a loop of calls, naming it", async () => {
    const errors = await errorsIn({
      ".github/workflows/main.yml":
        "on: [push, workflow_call]\njobs:\n  again:\n    uses: ./.github/workflows/main.yml\n",
    });
    expect(errors).toEqual([
      ".github/workflows/main.yml:4:11: this call makes a loop of reusable workflows: .github/workflows/main.yml -> .github/workflows/main.yml. A workflow cannot call itself, directly or through others.",
    ]);
  });

  it("reports errors inside the called file at their own location", async () => {
    const errors = await errorsIn({
      ".github/workflows/build.yml":
        "on: workflow_call\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout\n",
      ".github/workflows/main.yml": "on: push\njobs:\n  call:\n    uses: ./.github/workflows/build.yml\n",
    });
    expect(errors).toEqual([
      ".github/workflows/build.yml:6:9: `uses: actions/checkout` names no version: write actions/checkout@{ref} with a tag, branch or commit SHA (e.g. actions/checkout@v4).",
    ]);
  });
});
