import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { conveyor, repositoryWith, seedRepository } from "./helpers.js";

describe("conveyor validate", () => {
  it("accepts every seed workflow", () => {
    const result = conveyor(["validate"], seedRepository());
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("✓ 4 workflows valid (7 jobs planned)\n");
    expect(result.status).toBe(0);
  });

  it("reports every error at once as file:line:col and exits 1", () => {
    const root = repositoryWith({
      ".github/workflows/a.yml":
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout\n",
      ".github/workflows/b.yml": "jobs:\n  b:\n    runs-on: x\n    steps: [{run: echo}]\n",
      ".github/workflows/ok.yml": "on: push\njobs:\n  c:\n    runs-on: x\n    steps: [{run: echo}]\n",
    });
    const result = conveyor(["validate"], root);
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n")).toEqual([
      ".github/workflows/a.yml:6:9: `uses: actions/checkout` names no version: write actions/checkout@{ref} with a tag, branch or commit SHA (e.g. actions/checkout@v4).",
      ".github/workflows/b.yml:1:1: Required property is missing: on",
      "✗ 2 errors",
      "",
    ]);
  });

  it("checks the files given as arguments only", () => {
    const root = repositoryWith({
      ".github/workflows/bad.yml": "jobs: {}\n",
      "other/good.yml": "on: push\njobs:\n  c:\n    runs-on: x\n    steps: [{run: echo}]\n",
    });
    const result = conveyor(["validate", "other/good.yml"], root);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("✓ 1 workflow valid (1 job planned)\n");
  });

  it("refuses a matrix over 256 jobs at the strategy", () => {
    const values = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(", ")}]`;
    const root = repositoryWith({
      ".github/workflows/m.yml": `on: push\njobs:\n  t:\n    runs-on: x\n    strategy:\n      matrix:\n        a: ${values(16)}\n        b: ${values(17)}\n    steps: [{run: echo}]\n`,
    });
    const result = conveyor(["validate"], root);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^\.github\/workflows\/m\.yml:5:5: .*272.*256/);
  });

  it("prints JSON for machines", () => {
    const root = repositoryWith({
      ".github/workflows/b.yml": "jobs:\n  b:\n    runs-on: x\n    steps: [{run: echo}]\n",
    });
    const result = conveyor(["validate", "--json"], root);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      valid: false,
      files: [{ path: ".github/workflows/b.yml", valid: false }],
      jobs: 0,
      errors: [
        {
          severity: "error",
          file: ".github/workflows/b.yml",
          line: 1,
          column: 1,
          message: "Required property is missing: on",
        },
      ],
      warnings: [],
    });
  });

  it("says clearly when there are no workflows", () => {
    const result = conveyor(["validate"], repositoryWith({ "README.md": "hi" }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(".github/workflows: no workflow files found");
  });

  it("never shows a stack trace for a bad option", () => {
    const result = conveyor(["validate", "--frobnicate"], seedRepository());
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("unknown option '--frobnicate'");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("conveyor list", () => {
  it("describes the seed workflows like act -l", () => {
    const result = conveyor(["list"], seedRepository());
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Stage\s+Job ID\s+Job name\s+Needs\s+Workflow name\s+Workflow file\s+Events$/);
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      [
        "0",
        "build-and-test",
        "build-and-test",
        "-",
        "CI Pipeline",
        ".github/workflows/ci.yml",
        "push,pull_request",
      ],
      ["0", "deploy", "deploy", "-", "Deploy to Production", ".github/workflows/deploy.yml", "workflow_run"],
      ["0", "docker", "docker", "-", "Build and Push Docker", ".github/workflows/docker.yml", "push"],
      [
        "0",
        "test",
        "test (3 matrix jobs)",
        "-",
        "Python CI/CD",
        ".github/workflows/python-ci.yml",
        "push,pull_request",
      ],
      [
        "1",
        "deploy",
        "deploy",
        "test",
        "Python CI/CD",
        ".github/workflows/python-ci.yml",
        "push,pull_request",
      ],
    ]);
  });

  it("shows what an event starts", () => {
    const result = conveyor(["list", "--event", "workflow_run", "--json"], seedRepository());
    const jobs = JSON.parse(result.stdout).jobs;
    expect(jobs.map((j: { file: string; job: string }) => `${j.file}#${j.job}`)).toEqual([
      ".github/workflows/deploy.yml#deploy",
    ]);
  });
});

describe("conveyor graph", () => {
  it("shows the Python matrix as three jobs and deploy needing test", () => {
    const result = conveyor(["graph", "--json", "-W", ".github/workflows/python-ci.yml"], seedRepository());
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).workflows).toEqual([
      {
        path: ".github/workflows/python-ci.yml",
        name: "Python CI/CD",
        events: ["push", "pull_request"],
        jobs: [
          { id: "test", needs: [], level: 0, jobs: ["test (3.10)", "test (3.11)", "test (3.12)"] },
          { id: "deploy", needs: ["test"], level: 1, jobs: ["deploy"] },
        ],
      },
    ]);
  });

  it("draws the graph in the terminal", () => {
    const result = conveyor(["graph", ".github/workflows/python-ci.yml"], seedRepository());
    expect(result.stdout).toBe(
      [
        "Python CI/CD  .github/workflows/python-ci.yml  on: push, pull_request",
        "  ┌─ test ──────┐",
        "  │ test (3.10) │",
        "  │ test (3.11) │",
        "  │ test (3.12) │",
        "  └─────────────┘",
        "  │",
        "  ▼",
        "  ┌─ deploy ────┐",
        "  │ needs: test │",
        "  └─────────────┘",
        "",
      ].join("\n"),
    );
  });
});

describe("conveyor list with an event payload", () => {
  it("applies branch filters as GitHub does", () => {
    const root = seedRepository();
    const write = (name: string, payload: object) => {
      const path = `${root}/${name}`;
      writeFileSync(path, JSON.stringify(payload));
      return path;
    };
    const toDevelop = write("develop.json", { ref: "refs/heads/develop", before: "a", after: "b" });
    const tag = write("tag.json", { ref: "refs/tags/v1.2.0", before: "a", after: "b" });
    const workflowsFor = (file: string) => [
      ...new Set(
        JSON.parse(conveyor(["list", "--event", "push", "-e", file, "--json"], root).stdout).jobs.map(
          (j: { file: string }) => j.file,
        ),
      ),
    ];
    // develop: only ci.yml lists it; docker.yml and python-ci.yml push only on main.
    expect(workflowsFor(toDevelop)).toEqual([".github/workflows/ci.yml"]);
    // a v* tag: docker.yml only (ci.yml and python-ci.yml filter branches only, so tags do not run).
    expect(workflowsFor(tag)).toEqual([".github/workflows/docker.yml"]);
  });

  it("says clearly when the event file is not JSON", () => {
    const root = seedRepository();
    writeFileSync(`${root}/bad.json`, "{ not json");
    const result = conveyor(["list", "--event", "push", "-e", "bad.json"], root);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^bad\.json: the event file is not valid JSON/);
  });
});
