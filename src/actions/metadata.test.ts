import {
  isBasicExpression,
  isSequence,
  isString,
} from "@actions/workflow-parser/templates/tokens/type-guards";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import { loadActionMetadata, loadActionMetadataText } from "./metadata.js";
import type { ActionMetadata } from "./metadata.js";

const FILE = ".github/actions/x/action.yml";

function load(text: string): ActionMetadata {
  const result = loadActionMetadataText(FILE, text);
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join("\n"));
  return result.value;
}

/** Every error as `file:line:col: message`. */
function errorsOf(text: string | Uint8Array): string[] {
  const result =
    typeof text === "string"
      ? loadActionMetadataText(FILE, text)
      : loadActionMetadata({ path: FILE, bytes: text });
  if (result.ok) throw new Error("expected errors, the file loaded");
  return result.errors.map(formatDiagnostic);
}

/** A literal as its string, an expression as `${{ expr }}`. */
function shown(token: TemplateToken | undefined): string | undefined {
  if (!token) return undefined;
  if (isBasicExpression(token)) return `\${{ ${token.expression} }}`;
  if (isString(token)) return token.value;
  return token.toString();
}

describe("loadActionMetadata: JavaScript actions", () => {
  const text = `name: Greet
description: Says hello
author: Someone
inputs:
  who:
    description: Whom to greet
    required: true
    default: world
  token:
    description: A token
    default: \${{ github.token }}
  old:
    required: 'false'
    deprecationMessage: Use who instead
outputs:
  time:
    description: When it greeted
runs:
  using: node20
  main: dist/index.js
  pre: dist/setup.js
  pre-if: runner.os == 'Linux'
  post: dist/cleanup.js
`;

  it("reads name, description, author, inputs and outputs", () => {
    const action = load(text);
    expect(action.path).toBe(FILE);
    expect([action.name, action.description, action.author]).toEqual(["Greet", "Says hello", "Someone"]);
    expect(
      action.inputs.map((i) => [i.id, i.description, i.required, shown(i.default), i.deprecationMessage]),
    ).toEqual([
      ["who", "Whom to greet", true, "world", undefined],
      ["token", "A token", false, "${{ github.token }}", undefined],
      ["old", undefined, false, undefined, "Use who instead"],
    ]);
    expect(action.inputs[1]?.location).toEqual({ file: FILE, line: 9, column: 3 });
    expect(action.outputs.map((o) => [o.id, o.description, o.value])).toEqual([
      ["time", "When it greeted", undefined],
    ]);
  });

  it("reads runs, with GitHub's default `always()` for a missing pre-if or post-if", () => {
    const action = load(text);
    expect(action.runs).toEqual({
      using: "node20",
      main: "dist/index.js",
      pre: "dist/setup.js",
      preIf: "runner.os == 'Linux'",
      post: "dist/cleanup.js",
      postIf: "always()",
    });
    expect(action.runsLocation).toEqual({ file: FILE, line: 18, column: 1 });
  });

  it("accepts every node version, and `using` in any case as the runner does", () => {
    for (const using of ["node12", "node16", "node20", "node24"]) {
      expect(load(`runs:\n  using: ${using}\n  main: a.js\n`).runs.using).toBe(using);
    }
    expect(load("runs:\n  using: Node20\n  main: a.js\n").runs.using).toBe("node20");
  });

  it("needs neither name nor description, and ignores keys it does not know (as the runner does)", () => {
    const action = load("branding:\n  icon: box\nx-custom: 1\nruns:\n  using: node20\n  main: a.js\n");
    expect(action.name).toBeUndefined();
    expect(action.description).toBeUndefined();
    expect(action.inputs).toEqual([]);
  });

  it("needs `main`", () => {
    expect(errorsOf("name: x\nruns:\n  using: node20\n  post: b.js\n")).toEqual([
      `${FILE}:2:1: You are using a JavaScript Action but there is not an entry JavaScript file provided: add \`main:\`, the file \`using: node20\` runs (e.g. \`main: dist/index.js\`).`,
    ]);
    // Only `using`: the schema cannot tell which kind of `runs` is meant; the check by `using` can.
    expect(errorsOf("name: x\nruns:\n  using: node24\n")).toEqual([
      `${FILE}:2:1: You are using a JavaScript Action but there is not an entry JavaScript file provided: add \`main:\`, the file \`using: node24\` runs (e.g. \`main: dist/index.js\`).`,
    ]);
  });

  it("checks the syntax of pre-if and post-if", () => {
    expect(errorsOf("runs:\n  using: node20\n  main: a.js\n  post-if: secrets.x == 'y'\n")).toEqual([
      `${FILE}:4:12: \`post-if: secrets.x == 'y'\`: Unrecognized named-value: 'secrets'`,
    ]);
  });

  it("checks the contexts an input default may use", () => {
    expect(
      errorsOf("inputs:\n  t:\n    default: ${{ secrets.TOKEN }}\nruns:\n  using: node20\n  main: a.js\n"),
    ).toEqual([`${FILE}:3:14: Unrecognized named-value: 'secrets'`]);
  });
});

describe("loadActionMetadata: composite actions", () => {
  const text = `name: Build
inputs:
  target:
    default: all
outputs:
  artifact:
    description: Where the build went
    value: \${{ steps.build.outputs.path }}
runs:
  using: composite
  steps:
    - name: Build \${{ inputs.target }}
      id: build
      run: make \${{ inputs.target }}
      shell: bash
      working-directory: src
      env:
        CC: gcc
      continue-on-error: true
    - uses: actions/checkout@v4
      with:
        path: sub
    - uses: ./.github/actions/y
      if: inputs.target == 'all'
    - run: echo done
      shell: sh
`;

  it("reads outputs with their value expressions", () => {
    const action = load(text);
    expect(action.outputs.map((o) => [o.id, o.description, shown(o.value)])).toEqual([
      ["artifact", "Where the build went", "${{ steps.build.outputs.path }}"],
    ]);
  });

  it("reads steps in the workflow's step shape, with GitHub's generated ids and implicit success()", () => {
    const action = load(text);
    if (action.runs.using !== "composite") throw new Error(`expected composite, got ${action.runs.using}`);
    const steps = action.runs.steps;
    expect(steps.map((s) => [s.id, s.hasExplicitId, s.if.expression, s.uses])).toEqual([
      ["build", true, "success()", undefined],
      ["__actions_checkout", false, "success()", "actions/checkout@v4"],
      ["__self", false, "success() && (inputs.target == 'all')", "./.github/actions/y"],
      ["__run", false, "success()", undefined],
    ]);
    const [build, checkout] = steps;
    expect(shown(build?.name)).toBe("${{ format('Build {0}', inputs.target) }}");
    expect(shown(build?.run)).toBe("${{ format('make {0}', inputs.target) }}");
    expect([shown(build?.shell), shown(build?.workingDirectory), shown(build?.continueOnError)]).toEqual([
      "bash",
      "src",
      "true",
    ]);
    expect([...(build?.env ?? [])].map((p) => [shown(p.key), shown(p.value)])).toEqual([["CC", "gcc"]]);
    expect([...(checkout?.with ?? [])].map((p) => [shown(p.key), shown(p.value)])).toEqual([["path", "sub"]]);
    expect(build?.location).toEqual({ file: FILE, line: 12, column: 7 });
    expect(steps[3]?.shell && shown(steps[3].shell)).toBe("sh");
  });

  it("needs `shell` on a run step, with GitHub's message", () => {
    expect(errorsOf("runs:\n  using: composite\n  steps:\n    - run: echo hi\n      id: a\n")).toEqual([
      `${FILE}:4:7: Required property is missing: shell. A \`run\` step in a composite action has no default shell: add e.g. \`shell: bash\`.`,
    ]);
  });

  it("needs `steps`", () => {
    expect(errorsOf("name: x\nruns:\n  using: composite\n")).toEqual([
      `${FILE}:2:1: You are using a composite action but there are no steps provided: add \`steps:\` under \`runs:\`.`,
    ]);
    expect(errorsOf("runs:\n  using: composite\n  steps: make\n")).toEqual([
      `${FILE}:3:10: \`steps:\` of a composite action must be a list of steps.`,
    ]);
  });

  it("explains a step with both run and uses, or neither", () => {
    const both =
      "runs:\n  using: composite\n  steps:\n    - run: echo\n      uses: actions/checkout@v4\n      shell: bash\n";
    expect(errorsOf(both)).toEqual([
      `${FILE}:5:7: this step has both \`run\` and \`uses\`: a step either runs a script or uses an action. Split it into two steps.`,
    ]);
    const neither = "runs:\n  using: composite\n  steps:\n    - id: a\n      working-directory: src\n";
    expect(errorsOf(neither)).toEqual([
      `${FILE}:4:7: this step has neither \`run\` (a script to run) nor \`uses\` (an action to use): give it one of them.`,
    ]);
  });

  it("refuses keys a composite step may not have", () => {
    const text =
      "runs:\n  using: composite\n  steps:\n    - run: echo\n      shell: bash\n      timeout-minutes: 3\n";
    expect(errorsOf(text)).toEqual([`${FILE}:6:7: Unexpected value 'timeout-minutes'`]);
  });

  it("checks step ids and `uses` references", () => {
    const text = `runs:
  using: composite
  steps:
    - uses: actions/checkout
    - run: echo
      shell: bash
      id: a
    - run: echo
      shell: bash
      id: a
`;
    expect(errorsOf(text)).toEqual([
      `${FILE}:4:13: \`uses: actions/checkout\` names no version: write actions/checkout@{ref} with a tag, branch or commit SHA (e.g. actions/checkout@v4).`,
      `${FILE}:10:11: step id 'a' is already used by another step of this action: step ids must be unique within it.`,
    ]);
  });
});

describe("loadActionMetadata: Docker actions", () => {
  it("reads image, entrypoints, args and env", () => {
    const action = load(`name: Lint
runs:
  using: docker
  image: Dockerfile
  pre-entrypoint: /setup.sh
  entrypoint: /lint.sh
  post-entrypoint: /cleanup.sh
  post-if: failure()
  args:
    - --who
    - \${{ inputs.who }}
  env:
    LEVEL: \${{ inputs.level }}
`);
    if (action.runs.using !== "docker") throw new Error(`expected docker, got ${action.runs.using}`);
    const { args, env, ...rest } = action.runs;
    expect(rest).toEqual({
      using: "docker",
      image: "Dockerfile",
      entrypoint: "/lint.sh",
      preEntrypoint: "/setup.sh",
      postEntrypoint: "/cleanup.sh",
      preIf: "always()",
      postIf: "failure()",
    });
    expect(args && isSequence(args) ? [...args].map(shown) : undefined).toEqual([
      "--who",
      "${{ inputs.who }}",
    ]);
    expect([...(env ?? [])].map((p) => [shown(p.key), shown(p.value)])).toEqual([
      ["LEVEL", "${{ inputs.level }}"],
    ]);
  });

  it("needs an image", () => {
    expect(errorsOf("runs:\n  using: docker\n")).toEqual([
      `${FILE}:1:1: You are using a Container Action but an image is not provided: add \`image:\` (\`Dockerfile\` or \`docker://image\`).`,
    ]);
  });
});

describe("loadActionMetadata: malformed files", () => {
  it("needs runs", () => {
    expect(errorsOf("name: x\ndescription: y\n")).toEqual([
      `${FILE}:1:1: Top level 'runs:' section is required: add \`runs:\` with \`using:\` and what it runs.`,
    ]);
  });

  it("names the valid values of `using`", () => {
    expect(errorsOf("runs:\n  using: python3\n  main: a.py\n")).toEqual([
      `${FILE}:2:10: 'using: python3' is not supported, use 'composite', 'docker', 'node12', 'node16', 'node20' or 'node24' instead.`,
    ]);
    expect(errorsOf("runs:\n  main: a.js\n")).toEqual([
      `${FILE}:1:1: Missing 'using' value. 'using' requires 'composite', 'docker', 'node12', 'node16', 'node20' or 'node24'.`,
    ]);
  });

  it("needs runs to be a mapping and the file to be one", () => {
    expect(errorsOf("runs: node20\n")).toEqual([
      `${FILE}:1:7: \`runs:\` must be a mapping with \`using:\` (one of 'composite', 'docker', 'node12', 'node16', 'node20' or 'node24') and what it runs.`,
    ]);
    expect(errorsOf("- runs\n")).toEqual([
      `${FILE}:1:1: not action metadata: expected a mapping with at least \`runs:\` (and usually \`name:\`, \`description:\` and \`inputs:\`).`,
    ]);
  });

  it("reports malformed YAML at its place", () => {
    expect(errorsOf("name: x\nruns: [\n")).toEqual([
      `${FILE}:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
  });

  it("reports every problem at once, in order", () => {
    const text =
      "inputs:\n  t:\n    default: ${{ secrets.X }}\nruns:\n  using: composite\n  steps:\n    - run: a\n";
    expect(errorsOf(text)).toEqual([
      `${FILE}:3:14: Unrecognized named-value: 'secrets'`,
      `${FILE}:7:7: Required property is missing: shell. A \`run\` step in a composite action has no default shell: add e.g. \`shell: bash\`.`,
    ]);
  });

  it("refuses an empty file, bytes that are not UTF-8, and a huge file", () => {
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    expect(errorsOf(bytes(""))).toEqual([
      `${FILE}: the file is empty: action metadata needs at least \`runs:\` (with \`using:\` and what it runs).`,
    ]);
    expect(errorsOf(bytes("# only a comment\n---\n"))).toEqual([
      `${FILE}: the file is empty: action metadata needs at least \`runs:\` (with \`using:\` and what it runs).`,
    ]);
    const latin1 = Uint8Array.from([...bytes("name: caf"), 0xe9, ...bytes("\nruns: {}\n")]);
    expect(errorsOf(latin1)).toEqual([
      `${FILE}:1:10: the file is not valid UTF-8 (byte 0xe9 at offset 9): save it as UTF-8.`,
    ]);
    const huge = bytes(`runs:\n  using: node20\n  main: a.js\n#${"x".repeat(1024 * 1024)}\n`);
    expect(errorsOf(huge)).toEqual([
      `${FILE}: the file is ${huge.length} bytes; action metadata files may be at most 1048576 bytes (1 MiB). Split it or move scripts into files.`,
    ]);
  });

  it("refuses a YAML alias bomb instead of hanging", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const errors = errorsOf(
      new TextEncoder().encode(`${levels.join("\n")}\nruns:\n  using: node20\n  main: a.js\n`),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/YAML aliases expand this file to more than 200000 values/);
  });

  it("reads a file that starts with a byte order mark", () => {
    const withBom = new TextEncoder().encode("\uFEFFruns:\n  using: node20\n  main: a.js\n");
    const result = loadActionMetadata({ path: FILE, bytes: withBom });
    expect(result.ok && result.value.runs).toEqual({
      using: "node20",
      main: "a.js",
      pre: undefined,
      post: undefined,
      preIf: "always()",
      postIf: "always()",
    });
  });
});

describe("loadActionMetadata: damaged files", () => {
  it("never throws and always names the file, however the text is cut or spliced", () => {
    const seeds = [
      "name: B\noutputs:\n  o:\n    value: ${{ steps.a.outputs.x }}\nruns:\n  using: composite\n  steps:\n    - id: a\n      run: echo ${{ inputs.t }}\n      shell: bash\n    - uses: actions/checkout@v4\n      with:\n        path: x\n",
      "runs:\n  using: docker\n  image: Dockerfile\n  args:\n    - ${{ inputs.a }}\n  env:\n    X: y\n",
      "inputs:\n  t:\n    default: ${{ github.token }}\nruns:\n  using: node20\n  main: a.js\n  pre-if: runner.os == 'Linux'\n",
    ];
    const pieces = [
      ":",
      " ",
      "\n",
      "- ",
      "{",
      "]",
      "${{",
      "}}",
      "&a",
      "*a",
      "'",
      "#",
      "run",
      "uses",
      "steps",
      "@",
    ];
    let state = 42;
    // A fixed linear congruential sequence: the same damaged files on every run.
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    for (let i = 0; i < 500; i++) {
      let text = seeds[next(seeds.length)] ?? "";
      for (let edits = 1 + next(4); edits > 0; edits--) {
        const at = next(text.length + 1);
        text =
          next(2) === 0
            ? text.slice(0, at) + (pieces[next(pieces.length)] ?? "") + text.slice(at)
            : text.slice(0, at) + text.slice(at + 1 + next(5));
      }
      const result = loadActionMetadataText(FILE, text);
      if (result.ok) continue;
      expect(result.errors.length, JSON.stringify(text)).toBeGreaterThan(0);
      for (const e of result.errors) {
        expect(e.location?.file, JSON.stringify(text)).toBe(FILE);
        expect(e.message, JSON.stringify(text)).not.toMatch(/^cannot read this action's metadata/);
      }
    }
  });
});
