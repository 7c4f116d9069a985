import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeCacheKey, FileCacheStore } from "./cache-store.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "conveyor-caches-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A clock that moves one second per reading, so entries have distinct creation times. */
function ticking(): () => Date {
  let seconds = 0;
  return () => new Date(Date.UTC(2025, 0, 1, 0, 0, seconds++));
}

async function save(store: FileCacheStore, key: string, version: string, content: string): Promise<boolean> {
  const directory = await store.reserve(key, version);
  if (directory === undefined) return false;
  await writeFile(join(directory, "file.txt"), content);
  await store.commit(key, version);
  return true;
}

describe("FileCacheStore", () => {
  it("stores an entry at <root>/caches/<version>/<encoded key>/ and finds it by exact key and version", async () => {
    const store = new FileCacheStore(root, ticking());
    expect(await save(store, "npm-abc", "v1", "hello")).toBe(true);
    const found = await store.find("npm-abc", "v1");
    expect(found).toBe(join(root, "caches", "v1", "npm-abc", "content"));
    expect(await readFile(join(found ?? "", "file.txt"), "utf8")).toBe("hello");
    const record = JSON.parse(
      await readFile(join(root, "caches", "v1", "npm-abc", "entry.json"), "utf8"),
    ) as unknown;
    expect(record).toEqual({ key: "npm-abc", version: "v1", createdAt: "2025-01-01T00:00:00.000Z" });
    expect(await store.find("npm-abc", "v2")).toBeUndefined();
    expect(await store.find("npm-ab", "v1")).toBeUndefined();
  });

  it("keeps keys immutable: a second reservation of a written key is refused", async () => {
    const store = new FileCacheStore(root);
    await save(store, "k", "v", "first");
    expect(await store.reserve("k", "v")).toBeUndefined();
    expect(await readFile(join((await store.find("k", "v")) ?? "", "file.txt"), "utf8")).toBe("first");
  });

  it("lets the first of two concurrent writers of a key win", async () => {
    const one = new FileCacheStore(root);
    const two = new FileCacheStore(root);
    const a = await one.reserve("k", "v");
    const b = await two.reserve("k", "v");
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    await writeFile(join(a ?? "", "file.txt"), "a");
    await writeFile(join(b ?? "", "file.txt"), "b");
    await two.commit("k", "v");
    await one.commit("k", "v");
    expect(await readFile(join((await one.find("k", "v")) ?? "", "file.txt"), "utf8")).toBe("b");
    expect(await readdir(join(root, "caches", "v", ".staging"))).toEqual([]);
  });

  it("finds the newest entry whose key starts with a prefix, within the version", async () => {
    const store = new FileCacheStore(root, ticking());
    await save(store, "deps-linux-1", "v", "old");
    await save(store, "deps-linux-2", "v", "new");
    await save(store, "deps-linux-3", "other-version", "elsewhere");
    await save(store, "tools-1", "v", "tools");
    expect(await store.findByPrefix("deps-", "v")).toEqual({
      key: "deps-linux-2",
      directory: join(root, "caches", "v", "deps-linux-2", "content"),
    });
    expect((await store.findByPrefix("deps-linux-1", "v"))?.key).toBe("deps-linux-1");
    expect(await store.findByPrefix("nothing", "v")).toBeUndefined();
    expect((await store.findByPrefix("", "v"))?.key).toBe("tools-1");
  });

  it("orders partial matches by creation time, not by the order lines reached the index", async () => {
    const late = new FileCacheStore(root, () => new Date("2025-01-02T00:00:00Z"));
    const early = new FileCacheStore(root, () => new Date("2025-01-01T00:00:00Z"));
    await save(late, "deps-new", "v", "new");
    await save(early, "deps-old", "v", "old");
    expect((await late.findByPrefix("deps-", "v"))?.key).toBe("deps-new");
  });

  it("drops an abandoned reservation, so the key can be saved again", async () => {
    const store = new FileCacheStore(root);
    expect(await store.reserve("k", "v")).toBeDefined();
    expect(await store.reserve("k", "v")).toBeUndefined();
    await store.abandon("k", "v");
    expect(await readdir(join(root, "caches", "v", ".staging"))).toEqual([]);
    expect(await save(store, "k", "v", "again")).toBe(true);
  });

  it("encodes any key as one folder name, readable where possible", async () => {
    expect(encodeCacheKey("node-cache-Linux-x64-npm-1f2e")).toBe("node-cache-Linux-x64-npm-1f2e");
    expect(encodeCacheKey("a/b c")).toBe("a%2Fb%20c");
    expect(encodeCacheKey("../x")).toBe("%2E.%2Fx");
    const long = encodeCacheKey(`x${"é".repeat(300)}`);
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long).toMatch(/~[0-9a-f]{40}$/);
    expect(encodeCacheKey(`x${"é".repeat(300)}`)).not.toBe(encodeCacheKey(`x${"é".repeat(299)}`));
    const store = new FileCacheStore(root, ticking());
    const key = `weird/${"ü".repeat(200)}:key`;
    await save(store, key, "v", "content");
    expect(await store.find(key, "v")).toBeDefined();
    expect((await store.findByPrefix("weird/", "v"))?.key).toBe(key);
  });

  it("refuses versions that are not one folder name", async () => {
    const store = new FileCacheStore(root);
    await expect(store.find("k", "../x")).rejects.toThrow(/Invalid cache version/);
  });
});
