import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type OutputLine } from "./line-splitter.js";

function split(chunks: readonly (string | Uint8Array)[], splitter = new LineSplitter()): OutputLine[] {
  const lines = chunks.flatMap((chunk) =>
    splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk),
  );
  return [...lines, ...splitter.end()];
}

function texts(chunks: readonly (string | Uint8Array)[], splitter?: LineSplitter): string[] {
  return split(chunks, splitter).map((line) => line.text);
}

describe("LineSplitter", () => {
  it("splits at \\n and \\r\\n and drops the terminator", () => {
    expect(split(["first\nsecond\r\nthird"])).toEqual([
      { text: "first", startsLine: true, endsLine: true },
      { text: "second", startsLine: true, endsLine: true },
      { text: "third", startsLine: true, endsLine: true },
    ]);
  });

  it("keeps empty lines and emits nothing after a final terminator", () => {
    expect(texts(["\n\na\n"])).toEqual(["", "", "a"]);
    expect(texts([""])).toEqual([]);
  });

  it("ends a line at a lone \\r, as the runner's StreamReader does (progress bars)", () => {
    expect(texts(["  0%\r 50%\r100%\n"])).toEqual(["  0%", " 50%", "100%"]);
    expect(texts(["a\r\r\nb"])).toEqual(["a", "", "b"]);
  });

  it("joins \\r and \\n that arrive in different chunks", () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from("one\r")).map((line) => line.text)).toEqual(["one"]);
    expect(splitter.push(Buffer.from("\ntwo\r")).map((line) => line.text)).toEqual(["two"]);
    expect(splitter.push(Buffer.from("three\n")).map((line) => line.text)).toEqual(["three"]);
    expect(splitter.end()).toEqual([]);
  });

  it("joins a line written in many chunks", () => {
    expect(texts(["par", "tial", " line", "\nnext"])).toEqual(["partial line", "next"]);
  });

  it("decodes multi-byte characters split at every byte", () => {
    const bytes = Buffer.from("héllo 🌍 — ok\nsecond ü\n");
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(texts([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toEqual([
        "héllo 🌍 — ok",
        "second ü",
      ]);
    }
    const oneByteAtATime = [...bytes].map((byte) => Uint8Array.of(byte));
    expect(texts(oneByteAtATime)).toEqual(["héllo 🌍 — ok", "second ü"]);
  });

  it("drops a UTF-8 byte order mark at the start only", () => {
    expect(
      texts([Uint8Array.of(0xef), Uint8Array.of(0xbb, 0xbf, 0x61, 0x0a, 0xef, 0xbb, 0xbf, 0x62)]),
    ).toEqual(["a", "\ufeffb"]);
  });

  it("replaces invalid UTF-8 with U+FFFD", () => {
    expect(texts([Uint8Array.of(0x61, 0xff, 0x62, 0x0a)])).toEqual(["a\ufffdb"]);
  });

  it("copies what it keeps, so the caller may reuse its buffer", () => {
    const splitter = new LineSplitter();
    const buffer = Buffer.from("abc");
    splitter.push(buffer);
    buffer.write("xyz");
    expect(texts(["\n"], splitter)).toEqual(["abc"]);
  });

  it("starts afresh after end()", () => {
    const splitter = new LineSplitter();
    expect(texts(["a\r"], splitter)).toEqual(["a"]);
    expect(texts(["\nb"], splitter)).toEqual(["", "b"]);
  });

  describe("line length limit", () => {
    it("defaults to 1 MiB", () => {
      expect(DEFAULT_MAX_LINE_BYTES).toBe(1024 * 1024);
    });

    it("keeps a line of exactly the limit whole", () => {
      expect(split(["abcd\n"], new LineSplitter({ maxLineBytes: 4 }))).toEqual([
        { text: "abcd", startsLine: true, endsLine: true },
      ]);
    });

    it("emits a longer line in marked pieces", () => {
      expect(split(["abcdefghij\nk"], new LineSplitter({ maxLineBytes: 4 }))).toEqual([
        { text: "abcd", startsLine: true, endsLine: false },
        { text: "efgh", startsLine: false, endsLine: false },
        { text: "ij", startsLine: false, endsLine: true },
        { text: "k", startsLine: true, endsLine: true },
      ]);
    });

    it("never cuts inside a character", () => {
      const pieces = split(["aaaa€b€\n"], new LineSplitter({ maxLineBytes: 5 }));
      expect(pieces.map((piece) => piece.text)).toEqual(["aaaa", "€b", "€"]);
      expect(pieces.map((piece) => Buffer.byteLength(piece.text))).toEqual([4, 4, 3]);
    });

    it("handles a 10 MB line in 64 KiB chunks with pieces of at most 1 MiB", () => {
      const chunk = Buffer.alloc(64 * 1024, "x");
      const splitter = new LineSplitter();
      const pieces: OutputLine[] = [];
      for (let written = 0; written < 10 * 1024 * 1024; written += chunk.length)
        pieces.push(...splitter.push(chunk));
      pieces.push(...splitter.push(Buffer.from("\nafter\n")), ...splitter.end());

      expect(pieces).toHaveLength(11);
      expect(pieces.slice(0, 10).every((piece) => piece.text.length === 1024 * 1024)).toBe(true);
      expect(pieces.slice(0, 10).map((piece) => [piece.startsLine, piece.endsLine])).toEqual([
        [true, false],
        ...Array.from({ length: 8 }, () => [false, false]),
        [false, true],
      ]);
      expect(pieces[10]).toEqual({ text: "after", startsLine: true, endsLine: true });
    });

    it("handles a 10 MB line given as one chunk", () => {
      const pieces = split([Buffer.alloc(10 * 1024 * 1024, "y")]);
      expect(pieces.map((piece) => piece.text.length)).toEqual(Array.from({ length: 10 }, () => 1024 * 1024));
      expect(pieces.at(-1)?.endsLine).toBe(true);
    });

    it("keeps memory bounded for endless output without line breaks", () => {
      const splitter = new LineSplitter({ maxLineBytes: 4096 });
      const chunk = Buffer.alloc(10_000, "z");
      let longest = 0;
      let total = 0;
      for (let i = 0; i < 2_000; i++) {
        for (const piece of splitter.push(chunk)) {
          longest = Math.max(longest, piece.text.length);
          total += piece.text.length;
        }
      }
      for (const piece of splitter.end()) total += piece.text.length;
      expect(longest).toBe(4096);
      expect(total).toBe(20_000_000);
    });
  });
});
