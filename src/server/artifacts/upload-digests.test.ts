import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileBlobStore } from "../../store/blobs.js";
import { counterOf, UploadDigests } from "./upload-digests.js";

let root: string;
let blobs: FileBlobStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "conveyor-digests-"));
  blobs = new FileBlobStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const b64 = (text: string) => Buffer.from(text).toString("base64");
/** The Azure SDK's ids: a UUID (which may end in digits) and the block's number, padded to 48 characters. */
const sdkId = (uuid: string, index: number) => b64(uuid + String(index).padStart(48 - uuid.length, "0"));

async function upload(digests: UploadDigests, blob: string, ids: string[], parts: Buffer[], order: number[]) {
  await Promise.all(
    order.map(async (i) => {
      const key = `${blob}.blocks/${i}`;
      await blobs.put(key, parts[i] ?? Buffer.alloc(0));
      digests.blockStored(blob, ids[i] ?? "", key);
    }),
  );
}

describe("UploadDigests", () => {
  it("reads counters at the end of block ids, past digits a prefix ends with", () => {
    expect(counterOf(b64("block-00000007"))).toMatchObject({ width: 8, number: 7n });
    const id = counterOf(sdkId("3f0c1e9a-7b2d-4c1e-9f00-123456789012", 3));
    expect(id?.number).toBe(123456789012000000000003n);
    expect(counterOf(b64("no-counter"))).toBeUndefined();
  });

  it.each([
    ["the built-in actions' ids", (i: number) => b64(`block-${String(i).padStart(8, "0")}`)],
    ["the Azure SDK's ids", (i: number) => sdkId("3f0c1e9a-7b2d-4c1e-9f00-12345678901a", i)],
    [
      "the Azure SDK's ids, the UUID ending in digits",
      (i: number) => sdkId("3f0c1e9a-7b2d-4c1e-9f00-123456789012", i),
    ],
  ])("follows the SHA-256 of blocks arriving out of order, with %s", async (_name, idOf) => {
    const digests = new UploadDigests(blobs);
    const parts = [randomBytes(1000), randomBytes(3000), randomBytes(10), randomBytes(2000)];
    const ids = parts.map((_, i) => idOf(i));
    await upload(digests, "up/a", ids, parts, [2, 0, 3, 1]);
    await digests.committing("up/a", ids);
    const expected = `sha256:${createHash("sha256").update(Buffer.concat(parts)).digest("hex")}`;
    expect(digests.take("up/a")).toBe(expected);
    expect(digests.take("up/a")).toBeUndefined();
  });

  it("gives no digest when the list is not the blocks in counter order", async () => {
    const digests = new UploadDigests(blobs);
    const parts = [randomBytes(10), randomBytes(20), randomBytes(30)];
    const ids = parts.map((_, i) => b64(`b-${i}`));
    await upload(digests, "up/b", ids, parts, [0, 1, 2]);
    await digests.committing("up/b", [ids[1] ?? "", ids[0] ?? "", ids[2] ?? ""]);
    expect(digests.take("up/b")).toBeUndefined();
    // Ids without a counter are not followed at all.
    await upload(digests, "up/c", [b64("x"), b64("y")], parts, [0, 1]);
    await digests.committing("up/c", [b64("x"), b64("y")]);
    expect(digests.take("up/c")).toBeUndefined();
  });
});
