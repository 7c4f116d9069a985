import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileBlobStore } from "./blobs.js";

let root: string;
let blobs: FileBlobStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "conveyor-blobs-"));
  blobs = new FileBlobStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function text(stream: AsyncIterable<Buffer> | undefined): Promise<string | undefined> {
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

describe("FileBlobStore.compose", () => {
  it("makes a blob of parts in order by moving them, readable whole and by ranges", async () => {
    await blobs.put("up/blocks/b", Buffer.from("world"));
    await blobs.put("up/blocks/a", Buffer.from("hello "));
    await blobs.put("up/blocks/c", Buffer.from("!"));
    await blobs.compose("up/blob", ["up/blocks/a", "up/blocks/b", "up/blocks/c"]);
    expect(await blobs.size("up/blob")).toBe(12);
    expect((await blobs.get("up/blob"))?.toString("utf8")).toBe("hello world!");
    expect(await text(await blobs.read("up/blob"))).toBe("hello world!");
    // Ranges across part boundaries, inside one part, and at the ends.
    expect(await text(await blobs.read("up/blob", { start: 4, end: 7 }))).toBe("o wo");
    expect(await text(await blobs.read("up/blob", { start: 6, end: 10 }))).toBe("world");
    expect(await text(await blobs.read("up/blob", { start: 11, end: 11 }))).toBe("!");
    // The parts were moved, not copied.
    expect(await blobs.size("up/blocks/a")).toBeUndefined();
    await blobs.delete("up/blob");
    expect(await blobs.size("up/blob")).toBeUndefined();
    expect(await blobs.read("up/blob")).toBeUndefined();
  });

  it("fails and leaves nothing behind when a part is missing", async () => {
    await blobs.put("p/a", Buffer.from("a"));
    await expect(blobs.compose("p/blob", ["p/a", "p/missing"])).rejects.toThrow();
    expect(await blobs.size("p/blob")).toBeUndefined();
  });
});

describe("FileBlobStore.scan", () => {
  it("hands a plain or composed blob's bytes over in order, through one reused buffer", async () => {
    const first = randomBytes(5 * 1024 * 1024 + 3);
    const second = randomBytes(4 * 1024 * 1024);
    await blobs.put("s/blocks/0", first);
    await blobs.put("s/blocks/1", second);
    await blobs.put("s/plain", first);
    await blobs.compose("s/blob", ["s/blocks/0", "s/blocks/1"]);
    for (const [key, expected] of [
      ["s/plain", first],
      ["s/blob", Buffer.concat([first, second])],
    ] as const) {
      const hash = createHash("sha256");
      const memory = new Set<ArrayBufferLike>();
      expect(await blobs.scan(key, (bytes) => (hash.update(bytes), memory.add(bytes.buffer)))).toBe(true);
      expect(hash.digest("hex")).toBe(createHash("sha256").update(expected).digest("hex"));
      expect(memory.size).toBe(1);
    }
  });

  it("answers false for a blob that is not there", async () => {
    expect(await blobs.scan("s/none", () => undefined)).toBe(false);
  });
});
