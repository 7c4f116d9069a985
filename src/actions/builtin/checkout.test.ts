import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileArtifactStore } from "../../local/artifact-store.js";
import { FileCacheStore } from "../../local/cache-store.js";
import { prepareWorkspace } from "../../local/workspace.js";
import { checkoutAction, isRunCommit, refCandidates } from "./checkout.js";
import { recordingContext } from "./test-context.js";
import type { RecordingContext } from "./test-context.js";
import type { BuiltinResult, BuiltinRunInfo } from "./types.js";

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8" }).trim();
}

let base: string;
let repo: string;
let workspace: string;
let mainSha: string;
let featureSha: string;
let tagSha: string;

async function checkout(
  inputs: Record<string, string>,
  run: Partial<BuiltinRunInfo> = {},
): Promise<{ result: BuiltinResult; context: RecordingContext }> {
  const context = recordingContext({
    action: checkoutAction,
    inputs,
    workspace,
    runnerTemp: join(base, "temp"),
    env: { ...GIT_ENV } as Record<string, string>,
    run: { repositoryRoot: repo, repository: "octo/widgets", ref: "refs/heads/main", sha: mainSha, ...run },
    artifacts: new FileArtifactStore(join(base, "store"), "1"),
    caches: new FileCacheStore(join(base, "store")),
  });
  return { result: await checkoutAction.main(context), context };
}

describe("which ref means the run's own commit", () => {
  const run = { ref: "refs/heads/main", sha: "abc123" };
  it.each([
    ["", true],
    ["main", true],
    ["refs/heads/main", true],
    ["ABC123", true],
    ["feature", false],
    ["v1", false],
  ])("%j is the run's commit: %s", (ref, expected) => {
    expect(isRunCommit(ref, run)).toBe(expected);
  });

  it("tries branches, then tags, then origin's branches for a short name", () => {
    expect(refCandidates("dev").map((c) => c.full)).toEqual([
      "refs/heads/dev",
      "refs/tags/dev",
      "refs/remotes/origin/dev",
    ]);
    expect(refCandidates("a".repeat(40))).toEqual([
      { kind: "commit", name: "a".repeat(40), full: "a".repeat(40) },
    ]);
    expect(refCandidates("refs/tags/v1")[0]?.kind).toBe("tag");
  });
});

describe("actions/checkout", () => {
  /**
   * A repository with: a tagged first commit (v1), a second commit on main, a branch `feature` with
   * its own file, and in the working tree an uncommitted change, an untracked file and an ignored one.
   */
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "conveyor-checkout-"));
    repo = join(base, "repo");
    await mkdir(repo);
    git(repo, "init", "--quiet", "-b", "main");
    await writeFile(join(repo, "a.txt"), "a1\n");
    await writeFile(join(repo, ".gitignore"), "*.log\n");
    git(repo, "add", ".");
    git(repo, "commit", "--quiet", "-m", "first");
    git(repo, "tag", "v1");
    tagSha = git(repo, "rev-parse", "HEAD");
    await writeFile(join(repo, "a.txt"), "a2\n");
    git(repo, "commit", "--quiet", "-am", "second");
    mainSha = git(repo, "rev-parse", "HEAD");
    git(repo, "checkout", "--quiet", "-b", "feature");
    await writeFile(join(repo, "feature.txt"), "f\n");
    git(repo, "add", ".");
    git(repo, "commit", "--quiet", "-m", "feature");
    featureSha = git(repo, "rev-parse", "HEAD");
    git(repo, "checkout", "--quiet", "main");
    await writeFile(join(repo, "a.txt"), "uncommitted\n");
    await writeFile(join(repo, "untracked.txt"), "u\n");
    await writeFile(join(repo, "debug.log"), "ignored\n");
    workspace = join(base, "workspace");
    await prepareWorkspace(repo, workspace, true);
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("does nothing when the workspace holds the working tree, and says uncommitted changes are included", async () => {
    const { result, context } = await checkout({});
    expect(result.ok).toBe(true);
    expect(context.logs[0]).toMatch(/already holds octo\/widgets.*uncommitted changes.*act/);
    expect(context.outputs).toEqual({ ref: "refs/heads/main", commit: mainSha });
    expect(await readFile(join(workspace, "a.txt"), "utf8")).toBe("uncommitted\n");
    expect(existsSync(join(workspace, "untracked.txt"))).toBe(true);
  });

  it("treats ref: the run's own branch like no ref", async () => {
    const { context } = await checkout({ ref: "main" });
    expect(context.logs[0]).toMatch(/Nothing to check out/);
    expect(context.outputs.ref).toBe("main");
  });

  it("copies the working tree into path with a git repository that sees the same changes", async () => {
    const { result, context } = await checkout({ path: "copy" });
    expect(result.ok).toBe(true);
    const copy = join(workspace, "copy");
    expect(await readFile(join(copy, "a.txt"), "utf8")).toBe("uncommitted\n");
    expect(existsSync(join(copy, "untracked.txt"))).toBe(true);
    expect(existsSync(join(copy, "debug.log"))).toBe(false);
    expect(git(copy, "rev-parse", "HEAD")).toBe(mainSha);
    expect(execFileSync("git", ["status", "--porcelain"], { cwd: copy, encoding: "utf8" })).toBe(
      " M a.txt\n?? untracked.txt\n",
    );
    expect(context.outputs.commit).toBe(mainSha);
  });

  it("copies the working tree into the workspace when it does not hold the repository yet", async () => {
    await rm(workspace, { recursive: true });
    await mkdir(workspace);
    const { result } = await checkout({}, { workspaceHoldsRepository: false });
    expect(result.ok).toBe(true);
    expect(await readFile(join(workspace, "a.txt"), "utf8")).toBe("uncommitted\n");
    expect(git(workspace, "rev-parse", "HEAD")).toBe(mainSha);
  });

  it("checks a branch out from the committed history, on a local branch", async () => {
    const { result, context } = await checkout({ ref: "feature", path: "f" });
    expect(result.ok).toBe(true);
    const target = join(workspace, "f");
    expect(await readFile(join(target, "a.txt"), "utf8")).toBe("a2\n");
    expect(existsSync(join(target, "feature.txt"))).toBe(true);
    expect(existsSync(join(target, "untracked.txt"))).toBe(false);
    expect(git(target, "rev-parse", "--abbrev-ref", "HEAD")).toBe("feature");
    expect(git(target, "status", "--porcelain")).toBe("");
    expect(Number(git(target, "rev-list", "--count", "HEAD"))).toBe(3);
    expect(context.outputs).toEqual({ ref: "feature", commit: featureSha });
    expect(context.logs.join("\n")).toMatch(/uncommitted changes are not included/);
  });

  it("checks a tag or a commit out detached; a commit's ref output is empty", async () => {
    const tag = await checkout({ ref: "v1", path: "t" });
    expect(tag.context.outputs).toEqual({ ref: "v1", commit: tagSha });
    expect(git(join(workspace, "t"), "rev-parse", "--abbrev-ref", "HEAD")).toBe("HEAD");
    expect(await readFile(join(workspace, "t", "a.txt"), "utf8")).toBe("a1\n");
    const commit = await checkout({ ref: featureSha, path: "c" });
    expect(commit.context.outputs).toEqual({ ref: "", commit: featureSha });
  });

  it("replaces the workspace's copy when a ref is checked out without path", async () => {
    const { result } = await checkout({ ref: "v1" });
    expect(result.ok).toBe(true);
    expect(await readFile(join(workspace, "a.txt"), "utf8")).toBe("a1\n");
    expect(existsSync(join(workspace, "untracked.txt"))).toBe(false);
    expect(git(workspace, "rev-parse", "HEAD")).toBe(tagSha);
  });

  it("keeps untracked files in the target with clean: false", async () => {
    await mkdir(join(workspace, "k"));
    await writeFile(join(workspace, "k", "mine.txt"), "keep");
    await checkout({ ref: "feature", path: "k", clean: "false" });
    expect(await readFile(join(workspace, "k", "mine.txt"), "utf8")).toBe("keep");
    expect(existsSync(join(workspace, "k", "feature.txt"))).toBe(true);
    expect(git(join(workspace, "k"), "rev-parse", "HEAD")).toBe(featureSha);
    await checkout({ ref: "feature", path: "k" });
    expect(existsSync(join(workspace, "k", "mine.txt"))).toBe(false);
  });

  it("applies sparse-checkout to a ref checkout", async () => {
    await writeFile(join(repo, "x"), "");
    git(repo, "checkout", "--quiet", "feature");
    await mkdir(join(repo, "docs"));
    await mkdir(join(repo, "src"));
    await writeFile(join(repo, "docs", "d.md"), "d");
    await writeFile(join(repo, "src", "s.ts"), "s");
    git(repo, "add", "docs", "src");
    git(repo, "commit", "--quiet", "-m", "dirs");
    git(repo, "checkout", "--quiet", "main");
    const { result } = await checkout({ ref: "feature", path: "sparse", "sparse-checkout": "docs" });
    expect(result.ok).toBe(true);
    expect((await readdir(join(workspace, "sparse"))).sort()).toEqual([
      ".git",
      ".gitignore",
      "a.txt",
      "docs",
      "feature.txt",
    ]);
  });

  it("refuses other repositories, unknown refs and paths outside the workspace with what to do", async () => {
    const other = await checkout({ repository: "someone/else" });
    expect(other.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /'someone\/else' is not available offline.*remove `repository:`/,
      ) as unknown,
    });
    const same = await checkout({ repository: "Octo/Widgets" });
    expect(same.result.ok).toBe(true);
    const unknown = await checkout({ ref: "nope", path: "n" });
    expect(unknown.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /'nope' is not a branch, tag or commit.*git fetch origin nope/,
      ) as unknown,
    });
    const outside = await checkout({ path: "../elsewhere" });
    expect(outside.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/is not under/) as unknown,
    });
  });

  it("finds a branch the repository only has as origin's", async () => {
    const upstream = join(base, "upstream");
    git(base, "clone", "--quiet", repo, upstream);
    git(upstream, "checkout", "--quiet", "-b", "remote-only");
    await writeFile(join(upstream, "r.txt"), "r");
    git(upstream, "add", "r.txt");
    git(upstream, "commit", "--quiet", "-m", "remote");
    git(repo, "remote", "add", "origin", upstream);
    git(repo, "fetch", "--quiet", "origin");
    const { result, context } = await checkout({ ref: "remote-only", path: "r" });
    expect(result.ok).toBe(true);
    expect(existsSync(join(workspace, "r", "r.txt"))).toBe(true);
    expect(context.outputs.commit).toBe(git(upstream, "rev-parse", "HEAD"));
  });

  describe("submodules", () => {
    beforeEach(async () => {
      const library = join(base, "library");
      await mkdir(library);
      git(library, "init", "--quiet", "-b", "main");
      await writeFile(join(library, "lib.txt"), "lib\n");
      git(library, "add", ".");
      git(library, "commit", "--quiet", "-m", "lib");
      git(repo, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", library, "vendor/lib");
      git(repo, "commit", "--quiet", "-m", "submodule");
      mainSha = git(repo, "rev-parse", "HEAD");
    });

    it("copies initialized submodules with the working tree", async () => {
      const { result } = await checkout({ path: "w", submodules: "true" });
      expect(result.ok).toBe(true);
      expect(await readFile(join(workspace, "w", "vendor", "lib", "lib.txt"), "utf8")).toBe("lib\n");
      const without = await checkout({ path: "plain" });
      expect(without.result.ok).toBe(true);
      expect(existsSync(join(workspace, "plain", "vendor", "lib", "lib.txt"))).toBe(false);
    });

    it("checks submodules out from the repository's own copies for a ref", async () => {
      const { result } = await checkout(
        { ref: "main", path: "r", submodules: "recursive" },
        { ref: "refs/heads/other" },
      );
      expect(result.ok).toBe(true);
      expect(await readFile(join(workspace, "r", "vendor", "lib", "lib.txt"), "utf8")).toBe("lib\n");
    });

    it("warns about submodules the repository has not initialized", async () => {
      await rm(join(repo, "vendor", "lib"), { recursive: true });
      await rm(join(repo, ".git", "modules"), { recursive: true });
      const { result, context } = await checkout({ path: "u", submodules: "true" });
      expect(result.ok).toBe(true);
      expect(context.warnings[0]).toMatch(
        /Submodule 'vendor\/lib' is not initialized.*git submodule update --init/,
      );
    });
  });
});
