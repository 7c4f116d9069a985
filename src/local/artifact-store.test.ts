import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileArtifactStore } from "./artifact-store.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "conveyor-artifacts-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const options = { overwrite: false, retentionDays: 7, digest: "abc", size: 5 };

async function stagedWith(store: FileArtifactStore, files: Record<string, string>): Promise<string> {
  const staged = await store.stage();
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(staged, path, ".."), { recursive: true });
    await writeFile(join(staged, path), content);
  }
  return staged;
}

describe("FileArtifactStore", () => {
  it("publishes a staged folder as <root>/runs/<runId>/artifacts/<name> with a record", async () => {
    const now = new Date("2025-01-01T00:00:00Z");
    const store = new FileArtifactStore(root, "42", () => now);
    const record = await store.publish("dist", await stagedWith(store, { "a/b.txt": "hello" }), options);
    expect(record).toMatchObject({ name: "dist", id: 1, digest: "abc", size: 5 });
    expect(record?.createdAt).toBe("2025-01-01T00:00:00.000Z");
    expect(record?.expiresAt).toBe("2025-01-08T00:00:00.000Z");
    const directory = join(root, "runs", "42", "artifacts", "dist");
    expect(store.artifactDirectory("dist")).toBe(directory);
    expect(fileURLToPath(record?.url ?? "")).toBe(directory);
    expect(await readFile(join(directory, "a", "b.txt"), "utf8")).toBe("hello");
    expect(await store.list()).toEqual(["dist"]);
    expect(await store.describe("dist")).toEqual(record);
    expect(await readdir(join(root, "runs", "42", "staging"))).toEqual([]);
  });

  it("refuses a second publish of a name unless overwrite, which gives a new id", async () => {
    const store = new FileArtifactStore(root, "1");
    await store.publish("x", await stagedWith(store, { "f.txt": "one" }), options);
    const refusedStage = await stagedWith(store, { "f.txt": "two" });
    expect(await store.publish("x", refusedStage, options)).toBeUndefined();
    expect(await readFile(join(store.artifactDirectory("x"), "f.txt"), "utf8")).toBe("one");
    const replaced = await store.publish("x", await stagedWith(store, { "g.txt": "three" }), {
      ...options,
      overwrite: true,
    });
    expect(replaced?.id).toBe(2);
    expect(await readdir(store.artifactDirectory("x"))).toEqual(["g.txt"]);
    expect(await store.list()).toEqual(["x"]);
  });

  it("keeps runs apart and gives concurrent uploads distinct ids", async () => {
    const a = new FileArtifactStore(root, "1");
    const b = new FileArtifactStore(root, "2");
    await b.publish("only-b", await stagedWith(b, { f: "b" }), options);
    const records = await Promise.all(
      ["p", "q", "r", "s"].map(async (name) => a.publish(name, await stagedWith(a, { f: name }), options)),
    );
    expect(new Set(records.map((r) => r?.id))).toEqual(new Set([1, 2, 3, 4]));
    expect(await a.list()).toEqual(["p", "q", "r", "s"]);
    expect(await b.list()).toEqual(["only-b"]);
    expect(await a.describe("only-b")).toBeUndefined();
  });

  it("guards the folder layout against names that are paths", () => {
    const store = new FileArtifactStore(root, "1");
    expect(() => store.artifactDirectory("../escape")).toThrow(/Invalid artifact name/);
    expect(() => store.artifactDirectory("..")).toThrow(/Invalid artifact name/);
    expect(() => new FileArtifactStore(root, "../x")).toThrow(/Invalid run id/);
  });
});
