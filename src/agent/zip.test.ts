import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { unpooledBlocks } from "./block-download.js";
import type { Block } from "./block-download.js";
import { centralDirectory, extractZip, safeEntryPath, ZIP_TAIL_BYTES } from "./zip-reader.js";
import { zipArchive } from "./zip-writer.js";
import type { ZipSource } from "./zip-writer.js";

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "conveyor-zip-"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function sourcesOf(tree: Record<string, string | Buffer>, mode = 0o644): Promise<ZipSource[]> {
  const sources: ZipSource[] = [];
  for (const [path, content] of Object.entries(tree)) {
    const file = join(base, "src", path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content, { mode });
    const info = await stat(file);
    sources.push({ source: file, path, size: info.size, mode: info.mode, mtime: info.mtime });
  }
  return sources;
}

async function archive(sources: readonly ZipSource[], level: number, reuseBuffers = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // With reused buffers a chunk must be copied before the next is asked for.
  for await (const chunk of zipArchive(sources, level, { reuseBuffers })) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Reads an archive as the service store does: its tail, then the whole as a stream of small chunks. */
async function extract(zip: Buffer, into: string, options: { verifyCrc?: boolean } = {}) {
  const tail = zip.subarray(Math.max(0, zip.length - ZIP_TAIL_BYTES));
  const entries = await centralDirectory(zip.length, tail, async (start, end) =>
    zip.subarray(start, end + 1),
  );
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let at = 0; at < zip.length; at += 1000) yield zip.subarray(at, at + 1000);
  }
  return extractZip(unpooledBlocks(chunks()), entries, into, options);
}

/**
 * The archive as blocks of `size` bytes that count their releases. A released block is zeroed, as
 * reused memory would be overwritten: a write still reading it would put zeros in the file.
 */
function countedBlocks(zip: Buffer, size: number) {
  const state = { lent: 0, released: 0, twice: 0, stopped: false };
  async function* blocks(): AsyncGenerator<Block> {
    try {
      for (let at = 0; at < zip.length; at += size) {
        const bytes = Buffer.from(zip.subarray(at, at + size));
        state.lent += 1;
        let released = false;
        yield {
          bytes,
          release: () => {
            if (released) state.twice += 1;
            released = true;
            state.released += 1;
            bytes.fill(0);
          },
        };
      }
    } finally {
      state.stopped = true;
    }
  }
  return { blocks: blocks(), state };
}

async function extractBlocks(zip: Buffer, blocks: AsyncIterable<Block>, into: string) {
  const tail = zip.subarray(Math.max(0, zip.length - ZIP_TAIL_BYTES));
  const entries = await centralDirectory(zip.length, tail, async (start, end) =>
    zip.subarray(start, end + 1),
  );
  return extractZip(blocks, entries, into);
}

describe("zip archives", () => {
  it.each([0, 6])(
    "round-trips files at compression level %i, keeping modes, with the archive's digest",
    async (level) => {
      const big = randomBytes(300_000);
      const sources = await sourcesOf({ "a.txt": "alpha\n", "dir/deep/big.bin": big, "empty.txt": "" });
      sources[0] = { ...(sources[0] as ZipSource), mode: 0o100755 };
      const zip = await archive(sources, level);
      const into = join(base, "out");
      const extracted = await extract(zip, into);
      expect(extracted).toEqual({
        files: 3,
        bytes: big.length + 6,
        sha256: createHash("sha256").update(zip).digest("hex"),
      });
      expect(await readFile(join(into, "a.txt"), "utf8")).toBe("alpha\n");
      expect((await readFile(join(into, "dir/deep/big.bin"))).equals(big)).toBe(true);
      expect(await readFile(join(into, "empty.txt"), "utf8")).toBe("");
      expect((await stat(join(into, "a.txt"))).mode & 0o777).toBe(0o755);
    },
  );

  it.each([0, 6])(
    "writes files larger than a block from lent blocks at level %i, returning each block once, after its writes",
    async (level) => {
      const random = randomBytes(3 * 1024 * 1024 + 17);
      const text = Buffer.from("line of a log that compresses well\n".repeat(80_000));
      const sources = await sourcesOf({ "r.bin": random, "small.txt": "s", "t.txt": text });
      const zip = await archive(sources, level);
      const { blocks, state } = countedBlocks(zip, 100_003);
      const into = join(base, "out");
      const extracted = await extractBlocks(zip, blocks, into);
      expect(extracted.sha256).toBe(createHash("sha256").update(zip).digest("hex"));
      expect((await readFile(join(into, "r.bin"))).equals(random)).toBe(true);
      expect((await readFile(join(into, "t.txt"))).equals(text)).toBe(true);
      expect(await readFile(join(into, "small.txt"), "utf8")).toBe("s");
      expect(state).toEqual({
        lent: Math.ceil(zip.length / 100_003),
        released: state.lent,
        twice: 0,
        stopped: true,
      });
    },
  );

  it("returns every block and stops the download when an archive is refused midway", async () => {
    const [big, file] = await sourcesOf({ "big.bin": randomBytes(2 * 1024 * 1024), "f.txt": "x" });
    const zip = Buffer.from(
      await archive([big as ZipSource, { ...(file as ZipSource), path: "../escaped.txt" }], 0),
    );
    const { blocks, state } = countedBlocks(zip, 65_536);
    await expect(extractBlocks(zip, blocks, join(base, "refused"))).rejects.toThrow(
      /leads out of the folder/,
    );
    expect(state.stopped).toBe(true);
    expect(state.released).toBe(state.lent);
    expect(state.lent).toBeLessThan(Math.ceil(zip.length / 65_536) + 1);

    // A damaged large entry: its CRC-32 no longer matches once all its bytes are written.
    const damaged = await archive([big as ZipSource], 0);
    damaged[1024 * 1024] = (damaged[1024 * 1024] ?? 0) ^ 0xff;
    const second = countedBlocks(damaged, 65_536);
    await expect(extractBlocks(damaged, second.blocks, join(base, "damaged"))).rejects.toThrow(/CRC-32/);
    expect(second.state.released).toBe(second.state.lent);
  });

  it("makes the same archive with reused read buffers", async () => {
    const sources = await sourcesOf({ "big.bin": randomBytes(3 * 1024 * 1024 + 5), "s.txt": "s" });
    expect((await archive(sources, 0, true)).equals(await archive(sources, 0))).toBe(true);
  });

  it("is read by Info-ZIP's unzip, the reference reader", async (context) => {
    if (spawnSync("unzip", ["-v"]).status !== 0) context.skip();
    const zip = await archive(await sourcesOf({ "x/y.txt": "why", "z.bin": randomBytes(70_000) }), 6);
    await writeFile(join(base, "a.zip"), zip);
    const test = spawnSync("unzip", ["-t", join(base, "a.zip")], { encoding: "utf8" });
    expect(test.stdout).toContain("No errors detected");
  });

  it("refuses paths that leave the folder, and links", async () => {
    expect(() => safeEntryPath("../evil")).toThrow(/'\.\.'/);
    expect(() => safeEntryPath("a/../../evil")).toThrow(/'\.\.'/);
    expect(() => safeEntryPath("/etc/passwd")).toThrow(/outside/);
    expect(() => safeEntryPath("a\\..\\b")).toThrow(/outside/);
    expect(() => safeEntryPath("C:/x")).toThrow(/outside/);
    expect(safeEntryPath("./a//b/./c")).toEqual(["a", "b", "c"]);

    const [source] = await sourcesOf({ "f.txt": "x" });
    const slip = await archive([{ ...(source as ZipSource), path: "../escaped.txt" }], 0);
    await expect(extract(slip, join(base, "slip"))).rejects.toThrow(/leads out of the folder/);
    expect(existsSync(join(base, "escaped.txt"))).toBe(false);

    // An entry marked as a symbolic link (Unix mode 0120777 in the central directory).
    const link = Buffer.from(await archive([{ ...(source as ZipSource), path: "link" }], 0));
    const central = link.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    link.writeUInt32LE((0o120777 << 16) >>> 0, central + 38);
    await expect(extract(link, join(base, "link"))).rejects.toThrow(/symbolic link/);
  });

  it("refuses to write through a link already in the folder that points outside it", async () => {
    const into = join(base, "target");
    const outside = join(base, "outside");
    await mkdir(into, { recursive: true });
    await mkdir(outside);
    await symlink(outside, join(into, "sneaky"));
    const zip = await archive(
      (await sourcesOf({ "f.txt": "x" })).map((s) => ({ ...s, path: "sneaky/f.txt" })),
      0,
    );
    await expect(extract(zip, into)).rejects.toThrow(/outside the folder/);
    expect(existsSync(join(outside, "f.txt"))).toBe(false);
    // A link at a file's own name is replaced, never written through.
    await symlink(join(outside, "victim"), join(into, "f.txt"));
    await extract(await archive(await sourcesOf({ "f.txt": "safe" }), 0), into);
    expect(existsSync(join(outside, "victim"))).toBe(false);
    expect(await readFile(join(into, "f.txt"), "utf8")).toBe("safe");
  });

  it("notices a damaged entry (its CRC-32 does not match)", async () => {
    const zip = await archive(await sourcesOf({ "f.txt": "hello world" }), 0);
    const damaged = Buffer.from(zip);
    damaged[damaged.indexOf("hello") + 1] = "a".charCodeAt(0);
    await expect(extract(damaged, join(base, "d"))).rejects.toThrow(/CRC-32/);
    // Left to a check of the whole archive's digest, which then differs.
    const unchecked = await extract(damaged, join(base, "e"), { verifyCrc: false });
    expect(unchecked.sha256).not.toBe(createHash("sha256").update(zip).digest("hex"));
  });

  it("writes Zip64 records for more than 65,535 entries", async () => {
    const [one] = await sourcesOf({ f: "" });
    const many = Array.from({ length: 65_540 }, (_, i) => ({ ...(one as ZipSource), path: `d/${i}` }));
    const zip = await archive(many, 0);
    const tail = zip.subarray(Math.max(0, zip.length - ZIP_TAIL_BYTES));
    const entries = await centralDirectory(zip.length, tail, async (start, end) =>
      zip.subarray(start, end + 1),
    );
    expect(entries).toHaveLength(65_540);
    expect(entries.at(-1)?.path).toBe("d/65539");
  }, 60_000);
});
