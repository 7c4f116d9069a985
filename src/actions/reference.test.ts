import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../diagnostic.js";
import { actionRefProblem, formatActionReference, parseActionReference } from "./reference.js";
import type { ActionReference } from "./reference.js";

function parsed(uses: string): ActionReference {
  const result = parseActionReference(uses);
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join("\n"));
  return result.value;
}

describe("parseActionReference: remote", () => {
  it("reads owner/repo@ref", () => {
    expect(parsed("actions/checkout@v4")).toEqual({
      kind: "remote",
      owner: "actions",
      repo: "checkout",
      path: "",
      ref: "v4",
    });
  });

  it("reads a folder inside the repository and a commit SHA", () => {
    const sha = "11bd71901bbe5b1630ceea73d27597364c9af683";
    expect(parsed(`owner/repo/sub/dir@${sha}`)).toEqual({
      kind: "remote",
      owner: "owner",
      repo: "repo",
      path: "sub/dir",
      ref: sha,
    });
  });

  it("keeps a branch with slashes as the ref", () => {
    expect(parsed("owner/repo@feature/x")).toMatchObject({ path: "", ref: "feature/x" });
  });

  it("drops empty segments and reads backslashes as GitHub does", () => {
    expect(parsed("owner//repo\\sub@v1")).toMatchObject({ owner: "owner", repo: "repo", path: "sub" });
  });

  it("says a reference without a ref names no version", () => {
    expect(actionRefProblem("owner/repo")).toBe(
      "`uses: owner/repo` names no version: write owner/repo@{ref} with a tag, branch or commit SHA (e.g. owner/repo@v4).",
    );
    expect(actionRefProblem("owner/repo/sub@")).toBe(
      "`uses: owner/repo/sub@` names no version: write owner/repo/sub@{ref} with a tag, branch or commit SHA (e.g. owner/repo/sub@v4).",
    );
  });

  it("refuses `@ref` alone and a lone owner", () => {
    const usage =
      "write {owner}/{repo}[/path]@{ref} (e.g. actions/checkout@v4), ./path/to/action, or docker://image.";
    expect(actionRefProblem("@v4")).toBe(`\`uses: @v4\` is not an action reference: ${usage}`);
    expect(actionRefProblem("checkout@v4")).toBe(
      `\`uses: checkout@v4\` is not an action reference: ${usage}`,
    );
  });

  it("refuses more than one @, as GitHub does", () => {
    expect(actionRefProblem("a/b@v1@v2")).toBe(
      "`uses: a/b@v1@v2` has more than one @: write {owner}/{repo}[/path]@{ref} (e.g. actions/checkout@v4), ./path/to/action, or docker://image.",
    );
  });

  it("refuses spaces and `..`, which would lead out of the action cache", () => {
    expect(actionRefProblem("actions/checkout @v4")).toMatch(
      /^`uses: actions\/checkout @v4` contains a space/,
    );
    expect(actionRefProblem("a/b/../../etc@v1")).toBe(
      "`uses: a/b/../../etc@v1`: the repository, path and ref may not contain `..`.",
    );
    expect(actionRefProblem("a/b@../../x")).toBe(
      "`uses: a/b@../../x`: the repository, path and ref may not contain `..`.",
    );
  });

  it("points a path without ./ at the local form", () => {
    const hint =
      "is not an action reference: a local action's path starts with ./ and is relative to the workspace (e.g. ./.github/actions/build).";
    expect(actionRefProblem("../shared/action")).toBe(`\`uses: ../shared/action\` ${hint}`);
    expect(actionRefProblem(".github/actions/x")).toBe(`\`uses: .github/actions/x\` ${hint}`);
  });
});

describe("parseActionReference: local", () => {
  it("reads ./path relative to the workspace", () => {
    expect(parsed("./.github/actions/x")).toEqual({ kind: "local", path: ".github/actions/x" });
  });

  it("normalises the path: the workspace root, a trailing slash, backslashes, inner ..", () => {
    expect(parsed("./")).toEqual({ kind: "local", path: "" });
    expect(parsed("./tools/act/")).toEqual({ kind: "local", path: "tools/act" });
    expect(parsed(".\\tools\\act")).toEqual({ kind: "local", path: "tools/act" });
    expect(parsed("./a/../b")).toEqual({ kind: "local", path: "b" });
  });

  it("refuses a path that leaves the workspace", () => {
    expect(actionRefProblem("./../elsewhere")).toBe(
      "`uses: ./../elsewhere` leaves the workspace: a local action must be a folder inside it (e.g. ./.github/actions/build).",
    );
  });
});

describe("parseActionReference: docker", () => {
  it("reads docker://image", () => {
    expect(parsed("docker://alpine:3")).toEqual({ kind: "docker", image: "alpine:3" });
    expect(parsed("docker://ghcr.io/o/i@sha256:abc")).toEqual({
      kind: "docker",
      image: "ghcr.io/o/i@sha256:abc",
    });
  });

  it("needs an image", () => {
    expect(actionRefProblem("docker://")).toBe(
      "`uses: docker://` needs an image, e.g. `docker://alpine:3.20`.",
    );
  });
});

describe("parseActionReference: errors", () => {
  it("puts the error at the location it is given", () => {
    const result = parseActionReference("owner/repo", { file: "ci.yml", line: 7, column: 9 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatDiagnostic)).toEqual([
      "ci.yml:7:9: `uses: owner/repo` names no version: write owner/repo@{ref} with a tag, branch or commit SHA (e.g. owner/repo@v4).",
    ]);
  });

  it("has no problem with the three valid forms", () => {
    expect(actionRefProblem("actions/checkout@v4")).toBeUndefined();
    expect(actionRefProblem("./x")).toBeUndefined();
    expect(actionRefProblem("docker://alpine")).toBeUndefined();
  });
});

describe("formatActionReference", () => {
  it("writes each form back as a user writes it", () => {
    for (const uses of [
      "actions/checkout@v4",
      "o/r/sub/dir@main",
      "./.github/actions/x",
      "./",
      "docker://alpine:3",
    ]) {
      expect(formatActionReference(parsed(uses))).toBe(uses);
    }
  });
});
