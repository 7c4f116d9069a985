import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ArtifactFile } from "../actions/builtin/types.js";
import { FileArtifactStore } from "./artifact-store.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "conveyor-artifacts-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const options = { overwrite: false, retentionDays: 7, compressionLevel: 6 };

/** Files written under a fresh source folder, as an upload's list. */
async function filesWith(tree: Record<string, string>): Promise<ArtifactFile[]> {
  const source = await mkdtemp(join(root, "source-"));
  const files: ArtifactFile[] = [];
  for (const [path, content] of Object.entries(tree)) {
    await mkdir(dirname(join(source, path)), { recursive: true });
    await writeFile(join(source, path), content);
    files.push({ source: join(source, path), path });
  }
  return files;
}

describe("FileArtifactStore", () => {
  it("publishes files as <root>/runs/<runId>/artifacts/<name> with a record", async () => {
    const now = new Date("2025-01-01T00:00:00Z");
    const store = new FileArtifactStore(root, "42", () => now);
    const record = await store.publish("dist", await filesWith({ "a/b.txt": "hello" }), options);
    expect(record).toMatchObject({ name: "dist", id: 1, size: 5 });
    expect(record?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(record?.createdAt).toBe("2025-01-01T00:00:00.000Z");
    expect(record?.expiresAt).toBe("2025-01-08T00:00:00.000Z");
    const directory = join(root, "runs", "42", "artifacts", "dist");
    expect(store.artifactDirectory("dist")).toBe(directory);
    expect(fileURLToPath(record?.url ?? "")).toBe(directory);
    expect(await readFile(join(directory, "a", "b.txt"), "utf8")).toBe("hello");
    expect(await store.list()).toEqual([record]);
    expect(await store.describe("dist")).toEqual(record);
    expect(await readdir(join(root, "runs", "42", "staging"))).toEqual([]);
  });

  it("refuses a second publish of a name unless overwrite, which gives a new id", async () => {
    const store = new FileArtifactStore(root, "1");
    await store.publish("x", await filesWith({ "f.txt": "one" }), options);
    expect(await store.publish("x", await filesWith({ "f.txt": "two" }), options)).toBeUndefined();
    expect(await readFile(join(store.artifactDirectory("x"), "f.txt"), "utf8")).toBe("one");
    const replaced = await store.publish("x", await filesWith({ "g.txt": "three" }), {
      ...options,
      overwrite: true,
    });
    expect(replaced?.id).toBe(2);
    expect(await readdir(store.artifactDirectory("x"))).toEqual(["g.txt"]);
    expect((await store.list()).map((r) => r.name)).toEqual(["x"]);
    expect(await readdir(join(root, "runs", "1", "staging"))).toEqual([]);
  });

  it("keeps runs apart, lists by name and gives concurrent uploads distinct ids", async () => {
    const a = new FileArtifactStore(root, "1");
    const b = new FileArtifactStore(root, "2");
    await b.publish("only-b", await filesWith({ f: "b" }), options);
    const records = await Promise.all(
      ["q", "p-1", "p", "s"].map(async (name) => a.publish(name, await filesWith({ f: name }), options)),
    );
    expect(new Set(records.map((r) => r?.id))).toEqual(new Set([1, 2, 3, 4]));
    expect((await a.list()).map((r) => r.name)).toEqual(["p", "p-1", "q", "s"]);
    expect((await b.list()).map((r) => r.name)).toEqual(["only-b"]);
    expect(await a.describe("only-b")).toBeUndefined();
  });

  it("fetches an artifact's files into a folder and checks them against the digest", async () => {
    const store = new FileArtifactStore(root, "1");
    const record = await store.publish("x", await filesWith({ "a.txt": "1", "d/b.txt": "2" }), options);
    if (!record) throw new Error("not published");
    const into = join(root, "into");
    expect(await store.fetch(record, into)).toEqual({ files: 2, digestMatches: true });
    expect(await readFile(join(into, "d", "b.txt"), "utf8")).toBe("2");
    await writeFile(join(store.artifactDirectory("x"), "a.txt"), "tampered");
    expect((await store.fetch(record, join(root, "again"))).digestMatches).toBe(false);
  });

  it("guards the folder layout against names that are paths", () => {
    const store = new FileArtifactStore(root, "1");
    expect(() => store.artifactDirectory("../escape")).toThrow(/Invalid artifact name/);
    expect(() => store.artifactDirectory("..")).toThrow(/Invalid artifact name/);
    expect(() => new FileArtifactStore(root, "../x")).toThrow(/Invalid run id/);
  });
});
