import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileArtifactStore } from "../../local/artifact-store.js";
import { FileCacheStore } from "../../local/cache-store.js";
import { downloadArtifactAction } from "./download-artifact.js";
import { contentDigest, listFiles } from "./file-tree.js";
import { recordingContext } from "./test-context.js";
import type { RecordingContext } from "./test-context.js";
import type { BuiltinAction } from "./types.js";
import { artifactNameProblem } from "./artifact-names.js";
import { commonAncestor, uploadArtifactAction, uploadRoot } from "./upload-artifact.js";

let base: string;
let workspace: string;
let artifacts: FileArtifactStore;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "conveyor-artifact-actions-"));
  workspace = join(base, "workspace");
  await mkdir(workspace);
  artifacts = new FileArtifactStore(join(base, "store"), "7");
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function files(tree: Record<string, string>, under = workspace): Promise<void> {
  for (const [path, content] of Object.entries(tree)) {
    await mkdir(dirname(join(under, path)), { recursive: true });
    await writeFile(join(under, path), content);
  }
}

async function run(
  action: BuiltinAction,
  inputs: Record<string, string>,
  extra: { env?: Record<string, string>; run?: Record<string, string> } = {},
): Promise<{ result: { ok: boolean; message?: string }; context: RecordingContext }> {
  const context = recordingContext({
    action,
    inputs,
    workspace,
    runnerTemp: join(base, "temp"),
    artifacts,
    caches: new FileCacheStore(join(base, "store")),
    ...(extra.env ? { env: extra.env } : {}),
    ...(extra.run ? { run: extra.run } : {}),
  });
  const result = await action.main(context);
  return { result, context };
}

const upload = (inputs: Record<string, string>) => run(uploadArtifactAction, inputs);
const download = (inputs: Record<string, string>, extra = {}) => run(downloadArtifactAction, inputs, extra);

async function uploaded(name: string): Promise<string[]> {
  return listFiles(artifacts.artifactDirectory(name));
}

describe("upload root (upload-artifact's rule)", () => {
  it("is the search path, its folder for a lone file, the least common ancestor of several", () => {
    expect(uploadRoot(["/w/dist"], ["/w/dist/a.js", "/w/dist/b/c.js"])).toBe("/w/dist");
    expect(uploadRoot(["/w/dist/a.js"], ["/w/dist/a.js"])).toBe("/w/dist");
    expect(uploadRoot(["/w/out/bin", "/w/out/test-results"], [])).toBe("/w/out");
    expect(commonAncestor(["/a/b", "/c/d"])).toBe("/");
  });
});

describe("artifact names", () => {
  it.each([
    "a/b",
    "a\\b",
    "a:b",
    "a<b",
    "a>b",
    "a|b",
    "a*b",
    "a?b",
    'a"b',
    "a\nb",
    "..",
    "x..y",
    "x\u0001",
    "x\u0000",
    "",
  ])("refuses %j", (name) => {
    expect(artifactNameProblem(name)).toBeDefined();
  });
  it("accepts ordinary names", () => {
    expect(artifactNameProblem("build-linux x64 (1)")).toBeUndefined();
  });
});

describe("actions/upload-artifact", () => {
  it("uploads a directory's files relative to it, with id, url and digest outputs", async () => {
    await files({ "dist/a.js": "a", "dist/sub/b.js": "b", "other.txt": "no" });
    const { result, context } = await upload({ name: "web", path: "dist/" });
    expect(result.ok).toBe(true);
    expect(await uploaded("web")).toEqual(["a.js", "sub/b.js"]);
    expect(context.outputs["artifact-id"]).toBe("1");
    expect(context.outputs["artifact-url"]).toMatch(/^file:\/\/.*\/runs\/7\/artifacts\/web$/);
    expect(context.outputs["artifact-digest"]).toBe(
      (await contentDigest(artifacts.artifactDirectory("web"))).digest,
    );
    expect(context.outputs["artifact-digest"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("uploads a lone file at the root, under the default name 'artifact'", async () => {
    await files({ "reports/deep/summary.txt": "s" });
    const { result } = await upload({ path: "reports/deep/summary.txt" });
    expect(result.ok).toBe(true);
    expect(await uploaded("artifact")).toEqual(["summary.txt"]);
  });

  it("keeps the hierarchy after the first wildcard and applies exclusions", async () => {
    await files({
      "path/to/x/a.js": "1",
      "path/to/y/b.js": "2",
      "path/to/y/c.tmp": "3",
      "path/to/y/d.txt": "4",
    });
    const { result } = await upload({ name: "w", path: "path/to/**/*.*\n!path/**/*.tmp\n!**/*.txt" });
    expect(result.ok).toBe(true);
    expect(await uploaded("w")).toEqual(["x/a.js", "y/b.js"]);
  });

  it("roots several paths at their least common ancestor", async () => {
    await files({ "out/bin/app": "1", "out/test-results/r.xml": "2", "out/ignored": "3" });
    const { result, context } = await upload({ name: "m", path: "out/bin/\nout/test-results" });
    expect(result.ok).toBe(true);
    expect(await uploaded("m")).toEqual(["bin/app", "test-results/r.xml"]);
    expect(context.logs.some((line) => line.includes(join(workspace, "out")))).toBe(true);
  });

  it("leaves hidden files out unless include-hidden-files", async () => {
    await files({ "dist/a.js": "1", "dist/.env": "secret", "dist/.cache/x": "2" });
    await upload({ name: "plain", path: "dist" });
    expect(await uploaded("plain")).toEqual(["a.js"]);
    await upload({ name: "hidden", path: "dist", "include-hidden-files": "true" });
    expect(await uploaded("hidden")).toEqual([".cache/x", ".env", "a.js"]);
  });

  it("handles no files as if-no-files-found says: warn, error or ignore", async () => {
    const warned = await upload({ path: "missing/" });
    expect(warned.result.ok).toBe(true);
    expect(warned.context.warnings[0]).toMatch(/No files were found with the provided path: missing\//);
    expect(warned.context.outputs).toEqual({});
    const failed = await upload({ path: "missing/", "if-no-files-found": "error" });
    expect(failed.result).toEqual({
      ok: false,
      message: expect.stringMatching(/No files were found/) as unknown,
    });
    const ignored = await upload({ path: "missing/", "if-no-files-found": "ignore" });
    expect(ignored.result.ok).toBe(true);
    expect(ignored.context.warnings).toEqual([]);
    const wrong = await upload({ path: "missing/", "if-no-files-found": "explode" });
    expect(wrong.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Unrecognized if-no-files-found/) as unknown,
    });
    expect(await artifacts.list()).toEqual([]);
  });

  it("refuses a second upload of a name, and replaces it with overwrite: true", async () => {
    await files({ "a.txt": "one" });
    expect((await upload({ name: "x", path: "a.txt" })).result.ok).toBe(true);
    await files({ "a.txt": "two" });
    const again = await upload({ name: "x", path: "a.txt" });
    expect(again.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/already uploaded in this run.*overwrite: true/) as unknown,
    });
    expect(await readFile(join(artifacts.artifactDirectory("x"), "a.txt"), "utf8")).toBe("one");
    const replaced = await upload({ name: "x", path: "a.txt", overwrite: "true" });
    expect(replaced.result.ok).toBe(true);
    expect(replaced.context.outputs["artifact-id"]).toBe("2");
    expect(await readFile(join(artifacts.artifactDirectory("x"), "a.txt"), "utf8")).toBe("two");
  });

  it("refuses bad names, bad numbers and non-boolean flags", async () => {
    await files({ "a.txt": "a" });
    expect((await upload({ name: "a/b", path: "a.txt" })).result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/forward slash/) as unknown,
    });
    expect((await upload({ path: "a.txt", "compression-level": "10" })).result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/0-9/) as unknown,
    });
    expect((await upload({ path: "a.txt", "retention-days": "soon" })).result.ok).toBe(false);
    expect((await upload({ path: "a.txt", overwrite: "yes" })).result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/not a boolean/) as unknown,
    });
  });

  it("caps retention at the maximum and records it", async () => {
    await files({ "a.txt": "a" });
    const { context } = await upload({ name: "r", path: "a.txt", "retention-days": "400" });
    expect(context.warnings[0]).toMatch(/Using 90 instead/);
    const record = await artifacts.describe("r");
    const days = (Date.parse(record?.expiresAt ?? "") - Date.parse(record?.createdAt ?? "")) / 86_400_000;
    expect(days).toBe(90);
  });

  it("refuses file names some file systems cannot hold", async () => {
    await files({ "dist/a:b.txt": "x" });
    expect((await upload({ path: "dist" })).result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/colon/) as unknown,
    });
  });

  it("gives different content a different digest", async () => {
    await files({ "a.txt": "one" });
    const first = await upload({ name: "d1", path: "a.txt" });
    await files({ "a.txt": "two" });
    const second = await upload({ name: "d2", path: "a.txt" });
    expect(first.context.outputs["artifact-digest"]).not.toBe(second.context.outputs["artifact-digest"]);
  });
});

describe("actions/download-artifact", () => {
  beforeEach(async () => {
    await files({ "a/one.txt": "1", "b/two.txt": "2", "c/same.txt": "from c", "d/same.txt": "from d" });
    for (const [name, path] of [
      ["alpha", "a"],
      ["beta", "b"],
      ["gamma-c", "c"],
      ["gamma-d", "d"],
    ]) {
      await upload({ name: name ?? "", path: `${path ?? ""}/` });
    }
  });

  it("downloads one artifact by name straight into path", async () => {
    const { result, context } = await download({ name: "alpha", path: "got" });
    expect(result.ok).toBe(true);
    expect(await readdir(join(workspace, "got"))).toEqual(["one.txt"]);
    expect(context.outputs["download-path"]).toBe(join(workspace, "got"));
  });

  it("downloads into the workspace by default and expands ~", async () => {
    const home = join(base, "home");
    await download({ name: "beta" });
    expect(await readFile(join(workspace, "two.txt"), "utf8")).toBe("2");
    const { context } = await download({ name: "beta", path: "~/x" }, { env: { HOME: home } });
    expect(await readFile(join(home, "x", "two.txt"), "utf8")).toBe("2");
    expect(context.outputs["download-path"]).toBe(join(home, "x"));
  });

  it("downloads every artifact into its own folder", async () => {
    const { result } = await download({ path: "all" });
    expect(result.ok).toBe(true);
    expect(await readdir(join(workspace, "all"))).toEqual(["alpha", "beta", "gamma-c", "gamma-d"]);
    expect(await readFile(join(workspace, "all", "gamma-d", "same.txt"), "utf8")).toBe("from d");
  });

  it("filters by pattern and merges with merge-multiple", async () => {
    await download({ path: "g", pattern: "gamma-*" });
    expect(await readdir(join(workspace, "g"))).toEqual(["gamma-c", "gamma-d"]);
    await download({ path: "m", pattern: "gamma-*", "merge-multiple": "true" });
    expect(await readdir(join(workspace, "m"))).toEqual(["same.txt"]);
    expect(await readFile(join(workspace, "m", "same.txt"), "utf8")).toBe("from d");
  });

  it("selects by artifact-ids, and refuses ids together with a name", async () => {
    const beta = await artifacts.describe("beta");
    await download({ path: "ids", "artifact-ids": String(beta?.id) });
    expect(await readdir(join(workspace, "ids"))).toEqual(["beta"]);
    const both = await download({ name: "alpha", "artifact-ids": "1" });
    expect(both.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/cannot be used together/) as unknown,
    });
    const missing = await download({ "artifact-ids": "99" });
    expect(missing.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no artifact with id 99/) as unknown,
    });
  });

  it("says which artifacts exist when a name is missing", async () => {
    const { result } = await download({ name: "nope" });
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Artifact not found for name: nope.*alpha, beta/) as unknown,
    });
  });

  it("refuses another run's or repository's artifacts offline, but ignores run-id without a token", async () => {
    const other = await download({ name: "alpha", "github-token": "t", "run-id": "999" });
    expect(other.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/run 999 are not available offline/) as unknown,
    });
    const repo = await download({ name: "alpha", "github-token": "t", repository: "someone/else" });
    expect(repo.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/repository 'someone\/else'/) as unknown,
    });
    const same = await download({
      name: "alpha",
      "github-token": "t",
      "run-id": "1",
      repository: "Octo/Widgets",
    });
    expect(same.result.ok).toBe(true);
    expect((await download({ name: "alpha", "run-id": "999" })).result.ok).toBe(true);
  });

  it("warns when an artifact's files changed in the store after upload", async () => {
    await writeFile(join(artifacts.artifactDirectory("alpha"), "one.txt"), "tampered");
    const { result, context } = await download({ name: "alpha", path: "t" });
    expect(result.ok).toBe(true);
    expect(context.warnings[0]).toMatch(/does not match the digest/);
  });
});
