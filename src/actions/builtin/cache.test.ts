import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileArtifactStore } from "../../local/artifact-store.js";
import { entryLocation, FileCacheStore, restoreTarget } from "../../local/cache-store.js";
import { cacheAction, cacheRestoreAction, cacheSaveAction } from "./cache.js";
import { cacheVersion, isExactKeyMatch, keyProblem } from "./cache-client.js";
import { recordingContext } from "./test-context.js";
import type { RecordingContext } from "./test-context.js";
import type { BuiltinAction, BuiltinResult } from "./types.js";

let base: string;
let home: string;
let caches: FileCacheStore;
let clock = 0;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "conveyor-cache-actions-"));
  home = join(base, "home");
  await mkdir(home);
  // Each save gets a later time, so "newest" is well defined.
  caches = new FileCacheStore(join(base, "store"), () => new Date(Date.UTC(2025, 0, 1) + 1000 * clock++));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A fresh workspace, as each job gets. */
async function newWorkspace(files: Record<string, string> = {}): Promise<string> {
  const workspace = await mkdtemp(join(base, "ws-"));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(workspace, path)), { recursive: true });
    await writeFile(join(workspace, path), content);
  }
  return workspace;
}

interface Step {
  result: BuiltinResult;
  context: RecordingContext;
}

async function step(
  action: BuiltinAction,
  which: "main" | "post",
  workspace: string,
  inputs: Record<string, string>,
  state?: Record<string, string>,
): Promise<Step> {
  const context = recordingContext({
    action,
    inputs,
    workspace,
    runnerTemp: join(base, "temp"),
    env: { HOME: home },
    artifacts: new FileArtifactStore(join(base, "store"), "1"),
    caches,
    ...(state ? { state } : {}),
  });
  const body = which === "main" ? action.main : action.post;
  if (!body) throw new Error(`${action.name} has no ${which} step`);
  return { result: await body(context), context };
}

/** actions/cache's main step, then (as after a successful job) its post step. */
async function cacheJob(workspace: string, inputs: Record<string, string>, between?: () => Promise<void>) {
  const main = await step(cacheAction, "main", workspace, inputs);
  await between?.();
  const post = await step(cacheAction, "post", workspace, inputs, main.context.state);
  return { main, post };
}

async function saveOnly(files: Record<string, string>, inputs: Record<string, string>): Promise<Step> {
  return step(cacheSaveAction, "main", await newWorkspace(files), inputs);
}

describe("cache version and keys", () => {
  it("hashes the path lines, the entry format and the salt like the toolkit's getCacheVersion", () => {
    const expected = createHash("sha256").update("node_modules|~/.npm|conveyor-files|1.0").digest("hex");
    expect(cacheVersion(["node_modules", "~/.npm"], false, "linux")).toBe(expected);
    expect(cacheVersion(["node_modules", "~/.npm"], true, "linux")).toBe(expected);
    const windows = createHash("sha256").update("node_modules|conveyor-files|windows-only|1.0").digest("hex");
    expect(cacheVersion(["node_modules"], false, "win32")).toBe(windows);
    expect(cacheVersion(["node_modules"], true, "win32")).not.toBe(windows);
  });

  it("validates keys as the toolkit does and matches exact keys without case", () => {
    expect(keyProblem(["a,b"])).toMatch(/cannot contain commas/);
    expect(keyProblem(["x".repeat(513)])).toMatch(/larger than 512/);
    expect(keyProblem(Array.from({ length: 11 }, (_, i) => `k${i}`))).toMatch(/maximum of 10/);
    expect(keyProblem(["fine"])).toBeUndefined();
    expect(isExactKeyMatch("Linux-Deps", "linux-deps")).toBe(true);
    expect(isExactKeyMatch("deps", "deps-2")).toBe(false);
    expect(isExactKeyMatch("deps", undefined)).toBe(false);
  });

  it("places saved paths relative to the workspace, the home folder, or /", () => {
    const where = { workspace: "/w", home: "/h" };
    expect(entryLocation("/w/node_modules", where)).toBe("workspace/node_modules");
    expect(entryLocation("/w", where)).toBe("workspace");
    expect(entryLocation("/h/.npm", where)).toBe("home/.npm");
    expect(entryLocation("/opt/tool", where)).toBe("root/opt/tool");
    expect(entryLocation("/wx/a", where)).toBe("root/wx/a");
    expect(restoreTarget("home/.npm", { workspace: "/w2", home: "/h2" })).toBe("/h2/.npm");
  });
});

describe("actions/cache", () => {
  it("misses, saves in the post step, then hits exactly in a later job and restores the files", async () => {
    const inputs = { key: "deps-1", path: "node_modules\n~/.tool" };
    const first = await newWorkspace();
    const job1 = await cacheJob(first, inputs, async () => {
      await mkdir(join(first, "node_modules", "left-pad"), { recursive: true });
      await writeFile(join(first, "node_modules", "left-pad", "index.js"), "pad");
      await mkdir(join(home, ".tool"), { recursive: true });
      await writeFile(join(home, ".tool", "config"), "tool");
    });
    expect(job1.main.result.ok).toBe(true);
    expect(job1.main.context.outputs).toEqual({});
    expect(job1.main.context.logs).toContain("Cache not found for input keys: deps-1");
    expect(job1.post.context.logs).toContain("Cache saved with key: deps-1");

    await rm(join(home, ".tool"), { recursive: true });
    const second = await newWorkspace();
    const job2 = await cacheJob(second, inputs);
    expect(job2.main.context.outputs).toEqual({ "cache-hit": "true" });
    expect(await readFile(join(second, "node_modules", "left-pad", "index.js"), "utf8")).toBe("pad");
    expect(await readFile(join(home, ".tool", "config"), "utf8")).toBe("tool");
    expect(job2.post.context.logs).toContain(
      "Cache hit occurred on the primary key deps-1, not saving cache.",
    );
  });

  it("restores the newest partial match of a restore key, reports no hit, and saves the new key", async () => {
    await saveOnly({ "cache/v": "a" }, { key: "deps-a", path: "cache" });
    await saveOnly({ "cache/v": "b" }, { key: "deps-b", path: "cache" });
    const workspace = await newWorkspace();
    const job = await cacheJob(workspace, { key: "deps-c", path: "cache", "restore-keys": "deps-" });
    expect(job.main.context.outputs).toEqual({ "cache-hit": "false" });
    expect(job.main.context.logs).toContain("Cache restored from key: deps-b");
    expect(await readFile(join(workspace, "cache", "v"), "utf8")).toBe("b");
    expect(job.post.context.logs).toContain("Cache saved with key: deps-c");
  });

  it("tries restore keys in order, before newer matches of later ones", async () => {
    await saveOnly({ "cache/v": "a" }, { key: "deps-a", path: "cache" });
    await saveOnly({ "cache/v": "b" }, { key: "deps-b", path: "cache" });
    const workspace = await newWorkspace();
    const { context } = await step(cacheRestoreAction, "main", workspace, {
      key: "deps-c",
      path: "cache",
      "restore-keys": "other-\ndeps-a\ndeps-",
    });
    expect(context.outputs).toEqual({
      "cache-primary-key": "deps-c",
      "cache-matched-key": "deps-a",
      "cache-hit": "false",
    });
    expect(await readFile(join(workspace, "cache", "v"), "utf8")).toBe("a");
  });

  it("matches the primary key as a prefix before the restore keys", async () => {
    await saveOnly({ "cache/v": "long" }, { key: "deps-linux-123", path: "cache" });
    await saveOnly({ "cache/v": "other" }, { key: "fallback", path: "cache" });
    const { context } = await step(cacheRestoreAction, "main", await newWorkspace(), {
      key: "deps-linux",
      path: "cache",
      "restore-keys": "fallback",
    });
    expect(context.outputs["cache-matched-key"]).toBe("deps-linux-123");
  });

  it("does not find entries saved with other paths (another version)", async () => {
    await saveOnly({ "cache/v": "a", "other/v": "o" }, { key: "k", path: "cache" });
    const { context } = await step(cacheRestoreAction, "main", await newWorkspace(), {
      key: "k",
      path: "other",
    });
    expect(context.outputs).toEqual({ "cache-primary-key": "k" });
  });

  it("fails on a miss with fail-on-cache-miss", async () => {
    const { result } = await step(cacheAction, "main", await newWorkspace(), {
      key: "k",
      path: "x",
      "fail-on-cache-miss": "true",
    });
    expect(result).toEqual({
      ok: false,
      message: "Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: k",
    });
  });

  it("only looks with lookup-only: the hit is reported, no file is written", async () => {
    await saveOnly({ "cache/v": "a" }, { key: "k", path: "cache" });
    const workspace = await newWorkspace();
    const { context } = await step(cacheAction, "main", workspace, {
      key: "k",
      path: "cache",
      "lookup-only": "true",
    });
    expect(context.outputs).toEqual({ "cache-hit": "true" });
    expect(existsSync(join(workspace, "cache"))).toBe(false);
    expect(context.logs).toContain("Cache found and can be restored from key: k");
  });

  it("keeps keys immutable: saving a key again changes nothing and says why", async () => {
    await saveOnly({ "cache/v": "first" }, { key: "k", path: "cache" });
    const again = await saveOnly({ "cache/v": "second" }, { key: "k", path: "cache" });
    expect(again.result.ok).toBe(true);
    expect(again.context.logs.join("\n")).toMatch(/Unable to reserve cache with key k.*immutable/);
    expect(again.context.warnings).toEqual(["Cache save failed."]);
    const workspace = await newWorkspace();
    await step(cacheRestoreAction, "main", workspace, { key: "k", path: "cache" });
    expect(await readFile(join(workspace, "cache", "v"), "utf8")).toBe("first");
  });

  it("warns, without failing, when the paths match nothing at save time", async () => {
    const { result, context } = await saveOnly({}, { key: "k", path: "nothing-here" });
    expect(result.ok).toBe(true);
    expect(context.warnings[0]).toMatch(/Path Validation Error/);
  });

  it("fails for invalid keys and missing inputs", async () => {
    const workspace = await newWorkspace();
    expect((await step(cacheAction, "main", workspace, { key: "a,b", path: "x" })).result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/commas/) as unknown,
    });
    expect((await step(cacheAction, "main", workspace, { path: "x" })).result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/key/) as unknown,
    });
    expect((await step(cacheAction, "main", workspace, { key: "k" })).result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/path/) as unknown,
    });
  });

  it("saves what globs match, keeping the matched paths' places", async () => {
    await saveOnly(
      { "build/a.o": "a", "build/b.o": "b", "build/c.txt": "c" },
      { key: "g", path: "build/*.o" },
    );
    const workspace = await newWorkspace();
    await step(cacheRestoreAction, "main", workspace, { key: "g", path: "build/*.o" });
    expect(await readFile(join(workspace, "build", "a.o"), "utf8")).toBe("a");
    expect(existsSync(join(workspace, "build", "c.txt"))).toBe(false);
  });

  it("warns that save-always is deprecated, and runs its post step only after success", async () => {
    const { context } = await step(cacheAction, "main", await newWorkspace(), {
      key: "k",
      path: "x",
      "save-always": "true",
    });
    expect(context.warnings[0]).toMatch(/save-always.*deprecated/);
    expect(cacheAction.postIf).toBe("success()");
  });
});
