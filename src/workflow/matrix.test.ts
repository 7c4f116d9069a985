import { describe, expect, it } from "vitest";
import type { Diagnostic, SourceLocation } from "../diagnostic.js";
import { isJsonValue, jsonEquals } from "../json.js";
import {
  MAX_MATRIX_CONFIGURATIONS,
  expandStrategy,
  matrixJobName,
  strategyContext,
  type JobStrategy,
  type MatrixCombination,
} from "./matrix.js";

const where: SourceLocation = { file: ".github/workflows/ci.yml", line: 12, column: 5 };

function expand(strategy: unknown): JobStrategy {
  const result = expandStrategy(strategy, where);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result.value;
}

function matrices(strategy: unknown): (MatrixCombination | null)[] {
  return expand(strategy).configurations.map((configuration) => configuration.matrix);
}

function names(jobName: string, strategy: unknown): string[] {
  return expand(strategy).configurations.map((configuration) => matrixJobName(jobName, configuration));
}

function errorsOf(strategy: unknown): Diagnostic[] {
  const result = expandStrategy(strategy, where);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return result.errors;
}

function messagesOf(strategy: unknown): string[] {
  return errorsOf(strategy).map((diagnostic) => diagnostic.message);
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe("the cross product", () => {
  it("follows the documented order: the first key varies slowest", () => {
    // "Running variations of jobs in a workflow", "Adding a matrix strategy to your workflow job".
    const strategy = { matrix: { version: [10, 12, 14], os: ["ubuntu-latest", "windows-latest"] } };
    expect(matrices(strategy)).toEqual([
      { version: 10, os: "ubuntu-latest" },
      { version: 10, os: "windows-latest" },
      { version: 12, os: "ubuntu-latest" },
      { version: 12, os: "windows-latest" },
      { version: 14, os: "ubuntu-latest" },
      { version: 14, os: "windows-latest" },
    ]);
    expect(Object.keys(matrices(strategy)[0] ?? {})).toEqual(["version", "os"]);
  });

  it("runs one job per value of a single vector", () => {
    expect(matrices({ matrix: { version: [10, 12, 14] } })).toEqual([
      { version: 10 },
      { version: 12 },
      { version: 14 },
    ]);
  });

  it("nests three vectors in key order", () => {
    expect(matrices({ matrix: { a: [1, 2], b: ["x", "y"], c: [true, false] } })).toEqual([
      { a: 1, b: "x", c: true },
      { a: 1, b: "x", c: false },
      { a: 1, b: "y", c: true },
      { a: 1, b: "y", c: false },
      { a: 2, b: "x", c: true },
      { a: 2, b: "x", c: false },
      { a: 2, b: "y", c: true },
      { a: 2, b: "y", c: false },
    ]);
  });

  it("takes any JSON as a value, objects and lists included", () => {
    const values = [{ os: "ubuntu", versions: [18, 20] }, null, "plain", [1, "two"]];
    expect(matrices({ matrix: { cfg: values } })).toEqual(values.map((cfg) => ({ cfg })));
  });

  it("keeps a key named __proto__ as a key", () => {
    const [matrix] = matrices(JSON.parse('{"matrix": {"__proto__": ["a"]}}'));
    expect(Object.hasOwn(matrix ?? {}, "__proto__")).toBe(true);
    expect(Object.entries(matrix ?? {})).toEqual([["__proto__", "a"]]);
  });

  it("is deterministic and leaves its input alone", () => {
    const strategy = deepFreeze({
      matrix: {
        os: ["a", "b"],
        node: [1, 2],
        include: [{ os: "a", x: 1 }, { os: "c" }],
        exclude: [{ node: 2 }],
      },
    });
    const first = expand(strategy);
    expect(expand(strategy)).toEqual(first);
    expect(first.configurations.map((c) => c.matrix)).toEqual([
      { os: "a", node: 1, x: 1 },
      { os: "b", node: 1 },
      { os: "c" },
    ]);
  });
});

describe("exclude", () => {
  it("removes the documented three of twelve, on partial matches", () => {
    // "Excluding matrix configurations": nine jobs.
    const strategy = {
      matrix: {
        os: ["macos-latest", "windows-latest"],
        version: [12, 14, 16],
        environment: ["staging", "production"],
        exclude: [
          { os: "macos-latest", version: 12, environment: "production" },
          { os: "windows-latest", version: 16 },
        ],
      },
    };
    expect(matrices(strategy)).toEqual([
      { os: "macos-latest", version: 12, environment: "staging" },
      { os: "macos-latest", version: 14, environment: "staging" },
      { os: "macos-latest", version: 14, environment: "production" },
      { os: "macos-latest", version: 16, environment: "staging" },
      { os: "macos-latest", version: 16, environment: "production" },
      { os: "windows-latest", version: 12, environment: "staging" },
      { os: "windows-latest", version: 12, environment: "production" },
      { os: "windows-latest", version: 14, environment: "staging" },
      { os: "windows-latest", version: 14, environment: "production" },
    ]);
  });

  it("matches an object value on the keys the entry names (GitHub compares leaf by leaf)", () => {
    const cfg = [
      { os: "ubuntu", arch: "x64" },
      { os: "ubuntu", arch: "arm64" },
      { os: "windows", arch: "x64" },
    ];
    expect(matrices({ matrix: { cfg, exclude: [{ cfg: { arch: "x64" } }] } })).toEqual([
      { cfg: { os: "ubuntu", arch: "arm64" } },
    ]);
  });

  it("matches a list value element by element from the start", () => {
    const flags = [["-O2", "-g"], ["-O0"]];
    expect(matrices({ matrix: { flags, exclude: [{ flags: ["-O2"] }] } })).toEqual([{ flags: ["-O0"] }]);
  });

  it("compares with GitHub's ==: strings ignore case, a string and a number compare as numbers", () => {
    const strategy = {
      matrix: {
        os: ["ubuntu-latest", "windows-latest"],
        node: [16, 18],
        exclude: [{ os: "Ubuntu-Latest" }, { node: "16" }],
      },
    };
    expect(matrices(strategy)).toEqual([{ os: "windows-latest", node: 18 }]);
  });

  it("finds the vector whatever the case of the key", () => {
    expect(matrices({ matrix: { os: ["linux", "windows"], exclude: [{ OS: "windows" }] } })).toEqual([
      { os: "linux" },
    ]);
  });

  it("leaves one job with a null matrix when every combination is excluded, as GitHub falls back", () => {
    const strategy = expand({ matrix: { os: ["linux"], exclude: [{ os: "linux" }] } });
    expect(strategy.configurations).toEqual([{ matrix: null, nameValues: [] }]);
    expect(matrixJobName("build", strategy.configurations[0] ?? { matrix: null, nameValues: [] })).toBe(
      "build",
    );
  });
});

describe("include", () => {
  it("gives the six documented combinations of the fruit example, in order", () => {
    // "Expanding or adding matrix configurations", jobs.<job_id>.strategy.matrix.include.
    const strategy = {
      matrix: {
        fruit: ["apple", "pear"],
        animal: ["cat", "dog"],
        include: [
          { color: "green" },
          { color: "pink", animal: "cat" },
          { fruit: "apple", shape: "circle" },
          { fruit: "banana" },
          { fruit: "banana", animal: "cat" },
        ],
      },
    };
    const result = matrices(strategy);
    expect(result).toEqual([
      { fruit: "apple", animal: "cat", color: "pink", shape: "circle" },
      { fruit: "apple", animal: "dog", color: "green", shape: "circle" },
      { fruit: "pear", animal: "cat", color: "pink" },
      { fruit: "pear", animal: "dog", color: "green" },
      { fruit: "banana" },
      { fruit: "banana", animal: "cat" },
    ]);
    expect(Object.keys(result[0] ?? {})).toEqual(["fruit", "animal", "color", "shape"]);
    expect(names("job", strategy)).toEqual([
      "job (apple, cat)",
      "job (apple, dog)",
      "job (pear, cat)",
      "job (pear, dog)",
      "job (banana)",
      "job (banana, cat)",
    ]);
  });

  it("adds npm to the one documented combination and keeps four jobs", () => {
    // "Example: Expanding configurations".
    const strategy = {
      matrix: {
        os: ["windows-latest", "ubuntu-latest"],
        node: [14, 16],
        include: [{ os: "windows-latest", node: 16, npm: 6 }],
      },
    };
    expect(matrices(strategy)).toEqual([
      { os: "windows-latest", node: 14 },
      { os: "windows-latest", node: 16, npm: 6 },
      { os: "ubuntu-latest", node: 14 },
      { os: "ubuntu-latest", node: 16 },
    ]);
    // Keys that include adds to a combination do not show in its name.
    expect(names("example_matrix", strategy)[1]).toBe("example_matrix (windows-latest, 16)");
  });

  it("adds the documented tenth job after the nine of the cross product", () => {
    // "Example: Adding configurations".
    const strategy = {
      matrix: {
        os: ["macos-latest", "windows-latest", "ubuntu-latest"],
        version: [12, 14, 16],
        include: [{ os: "windows-latest", version: 17 }],
      },
    };
    const result = matrices(strategy);
    expect(result).toHaveLength(10);
    expect(result.slice(0, 3)).toEqual([
      { os: "macos-latest", version: 12 },
      { os: "macos-latest", version: 14 },
      { os: "macos-latest", version: 16 },
    ]);
    expect(result[9]).toEqual({ os: "windows-latest", version: 17 });
  });

  it("runs every include entry as a job when there are no vectors", () => {
    // The documented `includes_only` example: two jobs.
    const strategy = {
      matrix: {
        include: [
          { site: "production", datacenter: "site-a" },
          { site: "staging", datacenter: "site-b" },
        ],
      },
    };
    expect(matrices(strategy)).toEqual([
      { site: "production", datacenter: "site-a" },
      { site: "staging", datacenter: "site-b" },
    ]);
    expect(names("includes_only", strategy)).toEqual([
      "includes_only (production, site-a)",
      "includes_only (staging, site-b)",
    ]);
  });

  it("starts the four jobs of the documented fail-fast example", () => {
    const strategy = {
      "fail-fast": true,
      matrix: { version: [6, 7, 8], experimental: [false], include: [{ version: 9, experimental: true }] },
    };
    expect(matrices(strategy)).toEqual([
      { version: 6, experimental: false },
      { version: 7, experimental: false },
      { version: 8, experimental: false },
      { version: 9, experimental: true },
    ]);
  });

  it("creates the seven jobs of the documented perl example", () => {
    const strategy = {
      matrix: {
        os: ["ubuntu-latest"],
        perl: ["5.16", "5.20", "5.26", "5.30", "latest"],
        include: [
          { os: "macos-latest", perl: "5.26" },
          { os: "macos-latest", perl: "latest" },
        ],
      },
    };
    expect(matrices(strategy)).toEqual([
      { os: "ubuntu-latest", perl: "5.16" },
      { os: "ubuntu-latest", perl: "5.20" },
      { os: "ubuntu-latest", perl: "5.26" },
      { os: "ubuntu-latest", perl: "5.30" },
      { os: "ubuntu-latest", perl: "latest" },
      { os: "macos-latest", perl: "5.26" },
      { os: "macos-latest", perl: "latest" },
    ]);
  });

  it("runs after exclude, so it can add an excluded combination back at the end", () => {
    const strategy = { matrix: { os: ["a", "b"], exclude: [{ os: "b" }], include: [{ os: "b", extra: 1 }] } };
    expect(matrices(strategy)).toEqual([{ os: "a" }, { os: "b", extra: 1 }]);
  });

  it("overwrites values that include added but never the original ones", () => {
    const strategy = {
      matrix: {
        os: ["linux", "windows"],
        include: [{ color: "green" }, { os: "linux", color: "blue" }, { os: "macos", color: "red" }],
      },
    };
    expect(matrices(strategy)).toEqual([
      { os: "linux", color: "blue" },
      { os: "windows", color: "green" },
      { os: "macos", color: "red" },
    ]);
  });

  it("puts the vector keys first in a combination it creates", () => {
    const strategy = { matrix: { os: ["linux"], include: [{ npm: 6, os: "macos" }] } };
    const result = matrices(strategy);
    expect(result).toEqual([{ os: "linux" }, { os: "macos", npm: 6 }]);
    expect(Object.keys(result[1] ?? {})).toEqual(["os", "npm"]);
    expect(names("build", strategy)).toEqual(["build (linux)", "build (macos, 6)"]);
  });

  it("finds vectors whatever the case of the key, and keeps the first spelling of an added key", () => {
    const strategy = {
      matrix: {
        os: ["linux", "windows"],
        include: [{ OS: "windows", npm: 6 }, { Color: "green" }, { color: "pink" }],
      },
    };
    const result = matrices(strategy);
    expect(result).toEqual([
      { os: "linux", Color: "pink" },
      { os: "windows", npm: 6, Color: "pink" },
    ]);
  });

  it("selects object values on the keys the entry names", () => {
    const strategy = {
      matrix: {
        cfg: [
          { os: "ubuntu", arch: "x64" },
          { os: "windows", arch: "x64" },
        ],
        include: [{ cfg: { os: "windows" }, shell: "pwsh" }],
      },
    };
    expect(matrices(strategy)).toEqual([
      { cfg: { os: "ubuntu", arch: "x64" } },
      { cfg: { os: "windows", arch: "x64" }, shell: "pwsh" },
    ]);
  });
});

describe("the limit of 256 configurations", () => {
  it("is the documented limit", () => {
    expect(MAX_MATRIX_CONFIGURATIONS).toBe(256);
  });

  it("accepts exactly 256", () => {
    expect(matrices({ matrix: { a: range(16), b: range(16) } })).toHaveLength(256);
  });

  it("refuses 257 and says how many", () => {
    expect(errorsOf({ matrix: { a: range(257) } })).toEqual([
      {
        severity: "error",
        message:
          "The strategy produced 257 configurations, which exceeds GitHub's maximum of 256: remove values, add exclude entries, or split the matrix across several jobs.",
        location: where,
      },
    ]);
  });

  it("counts the combinations include creates", () => {
    expect(messagesOf({ matrix: { a: range(16), b: range(16), include: [{ a: 99 }] } })[0]).toMatch(
      /^The strategy produced 257 configurations/,
    );
  });

  it("counts after exclude", () => {
    const exclude = range(44).map((a) => ({ a }));
    expect(matrices({ matrix: { a: range(300), exclude } })).toHaveLength(256);
  });

  it("refuses a product too large to enumerate without enumerating it", () => {
    const matrix = Object.fromEntries(range(10).map((i) => [`v${i}`, range(4)]));
    expect(messagesOf({ matrix })).toEqual([
      "The matrix's vectors multiply to 1048576 combinations, far more than GitHub's limit of 256 jobs per matrix: remove values, add exclude entries, or split the matrix across several jobs.",
    ]);
  });
});

describe("without a matrix", () => {
  it.each([undefined, null, {}])("runs one job with a null matrix for %j", (strategy) => {
    expect(expand(strategy)).toEqual({
      configurations: [{ matrix: null, nameValues: [] }],
      failFast: true,
      maxParallel: undefined,
    });
  });

  it("still reads fail-fast and max-parallel", () => {
    const strategy = expand({ "fail-fast": false, "max-parallel": 3 });
    expect(strategy.failFast).toBe(false);
    expect(strategy.maxParallel).toBe(3);
    expect(strategyContext(strategy, 0)).toEqual({
      "fail-fast": false,
      "job-index": 0,
      "job-total": 1,
      "max-parallel": 1,
    });
  });
});

describe("fail-fast and max-parallel", () => {
  it("defaults to fail-fast and no limit", () => {
    const strategy = expand({ matrix: { a: [1, 2] } });
    expect(strategy.failFast).toBe(true);
    expect(strategy.maxParallel).toBeUndefined();
  });

  it.each([
    [2, 2],
    [2.7, 2],
    [0, undefined],
    [-1, undefined],
  ])("reads max-parallel %j as GitHub does: %j", (value, limit) => {
    expect(expand({ "max-parallel": value, matrix: { a: [1] } }).maxParallel).toBe(limit);
  });
});

describe("strategyContext", () => {
  it("matches the documented example of the last of four jobs", () => {
    const strategy = expand({ matrix: { "test-group": [1, 2], node: [14, 16] } });
    expect(strategyContext(strategy, 3)).toEqual({
      "fail-fast": true,
      "job-index": 3,
      "job-total": 4,
      "max-parallel": 4,
    });
  });

  it("reports max-parallel and fail-fast when set", () => {
    const strategy = expand({ "fail-fast": false, "max-parallel": 2, matrix: { a: [1, 2, 3] } });
    expect(strategy.configurations.map((_, index) => strategyContext(strategy, index))).toEqual([
      { "fail-fast": false, "job-index": 0, "job-total": 3, "max-parallel": 2 },
      { "fail-fast": false, "job-index": 1, "job-total": 3, "max-parallel": 2 },
      { "fail-fast": false, "job-index": 2, "job-total": 3, "max-parallel": 2 },
    ]);
  });

  it("reports one job alone without a matrix", () => {
    expect(strategyContext(expand(undefined), 0)).toEqual({
      "fail-fast": true,
      "job-index": 0,
      "job-total": 1,
      "max-parallel": 1,
    });
  });

  it("keeps a matrix of one job apart from no matrix", () => {
    const strategy = expand({ "max-parallel": 5, matrix: { a: [1] } });
    expect(strategyContext(strategy, 0)["max-parallel"]).toBe(5);
  });
});

describe("matrixJobName", () => {
  it("appends the values in parentheses, separated by commas", () => {
    expect(names("build", { matrix: { os: ["ubuntu-latest"], node: [18] } })).toEqual([
      "build (ubuntu-latest, 18)",
    ]);
  });

  it("shows YAML's 3.10, a number, as 3.1, and the string '3.10' as written", () => {
    expect(names("test", { matrix: { python: [3.1, "3.10"] } })).toEqual(["test (3.1)", "test (3.10)"]);
  });

  it("writes booleans in lower case and leaves out null and empty strings", () => {
    expect(names("job", { matrix: { a: [null], b: [""], c: [true, false] } })).toEqual([
      "job (true)",
      "job (false)",
    ]);
    expect(names("job", { matrix: { a: [null, ""] } })).toEqual(["job", "job"]);
  });

  it("writes every scalar inside objects and lists, depth first", () => {
    const strategy = {
      matrix: { cfg: [{ os: "ubuntu", versions: [18, 20], empty: {} }], flag: [[true, null]] },
    };
    expect(names("job", strategy)).toEqual(["job (ubuntu, 18, 20, true)"]);
  });

  it("writes numbers as GitHub's .NET does (G15)", () => {
    const values = [
      1e15, 0.00001, 0.0001, 1234567890123456, 0.30000000000000004, -2.5, 100, 1e21, -0, 123.456,
    ];
    expect(expand({ matrix: { n: values } }).configurations.map((c) => c.nameValues)).toEqual([
      ["1E+15"],
      ["1E-05"],
      ["0.0001"],
      ["1.23456789012346E+15"],
      ["0.3"],
      ["-2.5"],
      ["100"],
      ["1E+21"],
      ["-0"],
      ["123.456"],
    ]);
  });

  it("uses a name evaluated from an expression as it is", () => {
    const [configuration] = expand({ matrix: { os: ["ubuntu-latest"], node: [18] } }).configurations;
    if (!configuration) throw new Error("no configuration");
    expect(matrixJobName("build", configuration, "Node 18 on ubuntu-latest")).toBe(
      "Node 18 on ubuntu-latest",
    );
    expect(matrixJobName("build", configuration, "")).toBe("build (ubuntu-latest, 18)");
  });

  it("cuts names longer than 100 characters to 97 and '...'", () => {
    const long = "x".repeat(120);
    const [name] = names("build", { matrix: { value: [long] } });
    expect(name).toBe(`build (${"x".repeat(90)}...`);
    expect(name).toHaveLength(100);
  });

  it("keeps a name of exactly 100 characters", () => {
    const value = "y".repeat(100 - "build ()".length);
    expect(names("build", { matrix: { value: [value] } })).toEqual([`build (${value})`]);
  });

  it("cuts a long name without a matrix too", () => {
    const [configuration] = expand(undefined).configurations;
    if (!configuration) throw new Error("no configuration");
    expect(matrixJobName("z".repeat(101), configuration)).toBe(`${"z".repeat(97)}...`);
  });
});

describe("errors", () => {
  const cases: [string, unknown, string[]][] = [
    [
      "a strategy that is not a mapping",
      "fast",
      ['strategy must be a mapping with matrix, fail-fast or max-parallel, but it is the string "fast".'],
    ],
    [
      "a strategy that is a list",
      [1],
      ["strategy must be a mapping with matrix, fail-fast or max-parallel, but it is a list."],
    ],
    [
      "an unknown strategy key",
      { matrix: { a: [1] }, fail_fast: false },
      ["strategy has an unexpected key 'fail_fast': use matrix, fail-fast or max-parallel."],
    ],
    [
      "fail-fast that is not a boolean",
      { "fail-fast": "false" },
      ['strategy.fail-fast must be true or false, but it is the string "false".'],
    ],
    [
      "max-parallel that is not a number",
      { "max-parallel": "2" },
      [
        'strategy.max-parallel must be a number (how many of the matrix jobs may run at once), but it is the string "2".',
      ],
    ],
    [
      "max-parallel that is not a JSON number",
      { "max-parallel": Number.NaN },
      [
        "strategy.max-parallel must be a number (how many of the matrix jobs may run at once), but it is the non-JSON number NaN.",
      ],
    ],
    [
      "a matrix that is a list",
      { matrix: [{ os: "linux" }] },
      [
        "strategy.matrix must be a mapping of vectors (lists of values), with optional include and exclude, but it is a list.",
      ],
    ],
    [
      "a matrix that is null",
      { matrix: null },
      [
        "strategy.matrix must be a mapping of vectors (lists of values), with optional include and exclude, but it is null.",
      ],
    ],
    [
      "a vector that is not a list",
      { matrix: { os: "ubuntu-latest" } },
      [
        `Matrix vector 'os' must be a list of values, but it is the string "ubuntu-latest". Write os: ["ubuntu-latest"] for a single value.`,
      ],
    ],
    [
      "a vector that is a mapping",
      { matrix: { os: { name: "linux" } } },
      [
        "Matrix vector 'os' must be a list of values, but it is a mapping. Write os: [...] for a single value.",
      ],
    ],
    [
      "an empty vector",
      { matrix: { shard: [] } },
      [
        "Matrix vector 'shard' does not contain any values: give it at least one, or skip the job with an if: condition when the list is empty.",
      ],
    ],
    [
      "an empty matrix",
      { matrix: {} },
      [
        "Matrix must define at least one vector: add a key with a list of values (os: [ubuntu-latest]) or an include list, or remove the matrix.",
      ],
    ],
    [
      "a matrix with an empty include list only",
      { matrix: { include: [] } },
      [
        "Matrix must define at least one vector: add a key with a list of values (os: [ubuntu-latest]) or an include list, or remove the matrix.",
      ],
    ],
    [
      "an include that is not a list",
      { matrix: { a: [1], include: { b: 1 } } },
      ["strategy.matrix.include must be a list of mappings, but it is a mapping."],
    ],
    [
      "an include entry that is not a mapping",
      { matrix: { include: ["x"] } },
      ['strategy.matrix.include[0] must be a mapping of matrix keys to values, but it is the string "x".'],
    ],
    [
      "an empty include entry",
      { matrix: { a: [1], include: [{ b: 1 }, {}] } },
      [
        "Matrix include mapping does not contain any values (strategy.matrix.include[1]): give it keys, or remove it.",
      ],
    ],
    [
      "an exclude that is not a list",
      { matrix: { a: [1], exclude: "a" } },
      ['strategy.matrix.exclude must be a list of mappings, but it is the string "a".'],
    ],
    [
      "an exclude entry that is not a mapping",
      { matrix: { a: [1], exclude: [[1]] } },
      ["strategy.matrix.exclude[0] must be a mapping of matrix keys to values, but it is a list."],
    ],
    [
      "an empty exclude entry",
      { matrix: { a: [1], exclude: [{}] } },
      [
        "Matrix exclude filter must not be empty (strategy.matrix.exclude[0]): name the values to remove, or remove it.",
      ],
    ],
    [
      "an exclude key that is not a vector",
      { matrix: { os: ["linux"], node: [18], exclude: [{ os: "linux", arch: "x64" }] } },
      [
        "Matrix exclude key 'arch' does not match any key within the matrix (strategy.matrix.exclude[0]): exclude can only name vectors ('os', 'node'), not keys added by include.",
      ],
    ],
    [
      // actions/runner#2111: exclude cannot remove entries of an include-only matrix.
      "an exclude key in a matrix of include entries only",
      { matrix: { include: [{ service: "a", build: false }], exclude: [{ build: false }] } },
      [
        "Matrix exclude key 'build' does not match any key within the matrix (strategy.matrix.exclude[0]): exclude can only name vectors (this matrix has none), not keys added by include.",
      ],
    ],
    [
      "vectors whose names differ only in case",
      { matrix: { os: ["a"], OS: ["b"] } },
      [
        "strategy.matrix has keys 'os' and 'OS' that differ only in case; GitHub ignores case in matrix keys, so rename one.",
      ],
    ],
    [
      "include keys that differ only in case",
      { matrix: { include: [{ npm: 6, NPM: 7 }] } },
      [
        "strategy.matrix.include[0] has keys 'npm' and 'NPM' that differ only in case; GitHub ignores case in matrix keys, so rename one.",
      ],
    ],
    [
      "an empty vector name",
      { matrix: { "": [1] } },
      ["strategy.matrix has an empty key: name each vector."],
    ],
    [
      "a value that is not JSON",
      { matrix: { a: [1, undefined] } },
      ["Matrix vector 'a' holds a value that is not JSON."],
    ],
    [
      "an include entry holding a value that is not JSON",
      { matrix: { include: [{ a: Number.POSITIVE_INFINITY }] } },
      ["strategy.matrix.include[0] holds a value that is not JSON."],
    ],
  ];

  it.each(cases)("reports %s at the strategy key", (_, strategy, messages) => {
    expect(errorsOf(strategy)).toEqual(
      messages.map((message) => ({ severity: "error", message, location: where })),
    );
  });

  it("reports every problem at once, in the order written", () => {
    expect(messagesOf({ "fail-fast": "no", "max-parallel": "x", matrix: { os: [] } })).toEqual([
      'strategy.fail-fast must be true or false, but it is the string "no".',
      'strategy.max-parallel must be a number (how many of the matrix jobs may run at once), but it is the string "x".',
      "Matrix vector 'os' does not contain any values: give it at least one, or skip the job with an if: condition when the list is empty.",
    ]);
  });

  it("reports an exclude with nothing to exclude from alongside the missing vectors", () => {
    expect(messagesOf({ matrix: { exclude: [{ a: 1 }] } })).toEqual([
      "Matrix must define at least one vector: add a key with a list of values (os: [ubuntu-latest]) or an include list, or remove the matrix.",
      "Matrix exclude key 'a' does not match any key within the matrix (strategy.matrix.exclude[0]): exclude can only name vectors (this matrix has none), not keys added by include.",
    ]);
  });

  it("does not count an include list with entries as missing vectors, even when an entry is wrong", () => {
    expect(messagesOf({ matrix: { include: [7] } })).toEqual([
      "strategy.matrix.include[0] must be a mapping of matrix keys to values, but it is the number 7.",
    ]);
  });

  it("treats only the exact keys include and exclude as lists of entries", () => {
    expect(matrices({ matrix: { Include: [1, 2] } })).toEqual([{ Include: 1 }, { Include: 2 }]);
  });
});

describe("json.ts", () => {
  it("compares JSON deeply, ignoring key order but not case or types", () => {
    expect(jsonEquals({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(jsonEquals("A", "a")).toBe(false);
    expect(jsonEquals([1, 2], [2, 1])).toBe(false);
    expect(jsonEquals({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEquals({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false);
    expect(jsonEquals(null, {})).toBe(false);
    expect(jsonEquals(1, "1")).toBe(false);
    expect(jsonEquals([], {})).toBe(false);
  });

  it("recognises JSON values all the way down", () => {
    expect(isJsonValue({ a: [1, "x", true, null, { b: 2.5 }] })).toBe(true);
    expect(isJsonValue(Object.assign(Object.create(null) as object, { a: 1 }))).toBe(true);
    expect(isJsonValue(Number.NaN)).toBe(false);
    expect(isJsonValue(undefined)).toBe(false);
    expect(isJsonValue({ a: undefined })).toBe(false);
    expect(isJsonValue([new Date(0)])).toBe(false);
  });
});
