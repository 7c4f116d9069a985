import { describe, expect, it } from "vitest";
import { findCgiHeadEnd, parseCgiHead } from "./cgi-head.js";
import { ReceiveCommandReader, isNullObjectId } from "./receive-commands.js";
import { isWellFormedRef, parsePackedRefs } from "./ref-updates.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const ZERO = "0".repeat(40);

function pkt(payload: string): Buffer {
  const bytes = Buffer.from(payload);
  return Buffer.concat([Buffer.from((bytes.length + 4).toString(16).padStart(4, "0")), bytes]);
}

const body = Buffer.concat([
  pkt(`shallow ${A}`),
  pkt(`${A} ${B} refs/heads/main\0report-status side-band-64k agent=git/2.39\n`),
  pkt(`${ZERO} ${B} refs/tags/v1`),
  pkt(`${A} ${ZERO} refs/heads/old\n`),
  Buffer.from("0000PACK\x00\x00\x00\x02 and the rest of a pack"),
]);

describe("ReceiveCommandReader", () => {
  it("reads every command up to the flush packet, capabilities and shallow lines left out", () => {
    const reader = new ReceiveCommandReader();
    expect(reader.push(body)).toBe(false);
    expect(reader.state).toBe("complete");
    expect(reader.commands).toEqual([
      { ref: "refs/heads/main", before: A, after: B },
      { ref: "refs/tags/v1", before: ZERO, after: B },
      { ref: "refs/heads/old", before: A, after: ZERO },
    ]);
  });

  it("reads the same one byte at a time, and wants nothing after the flush", () => {
    const reader = new ReceiveCommandReader();
    const wanted: boolean[] = [];
    for (const byte of body) wanted.push(reader.push(Buffer.from([byte])));
    expect(reader.commands).toHaveLength(3);
    expect(wanted.indexOf(false)).toBe(body.indexOf("0000PACK") + 3);
  });

  it("accepts SHA-256 object ids", () => {
    const reader = new ReceiveCommandReader();
    reader.push(
      Buffer.concat([pkt(`${"0".repeat(64)} ${"c".repeat(64)} refs/heads/main\0caps`), Buffer.from("0000")]),
    );
    expect(reader.commands).toEqual([
      { ref: "refs/heads/main", before: "0".repeat(64), after: "c".repeat(64) },
    ]);
  });

  it("stops at bytes that are not commands, keeping what it read", () => {
    for (const bad of ["zzzz", "0002", pkt("push-cert\0caps").toString("latin1")]) {
      const reader = new ReceiveCommandReader();
      reader.push(Buffer.concat([pkt(`${A} ${B} refs/heads/main\0caps`), Buffer.from(bad, "latin1")]));
      expect(reader.state).toBe("invalid");
      expect(reader.commands).toHaveLength(1);
    }
  });

  it("knows null object ids", () => {
    expect(isNullObjectId(ZERO)).toBe(true);
    expect(isNullObjectId("0".repeat(64))).toBe(true);
    expect(isNullObjectId(A)).toBe(false);
  });
});

describe("CGI head", () => {
  it("finds the blank line with either line end and reads the status and headers", () => {
    const output = Buffer.from(
      "Status: 403 Forbidden\r\nContent-Type: text/plain\r\nVary: a\r\nVary: b\r\n\r\nbody",
    );
    const end = findCgiHeadEnd(output);
    expect(end).toEqual({ headLength: output.indexOf("\r\n\r\n"), bodyStart: output.indexOf("body") });
    expect(parseCgiHead(output.toString("latin1", 0, end?.headLength))).toEqual({
      status: 403,
      headers: [
        ["Content-Type", "text/plain"],
        ["Vary", "a"],
        ["Vary", "b"],
      ],
    });
    expect(findCgiHeadEnd(Buffer.from("Content-Type: x\n\nbody"))).toEqual({ headLength: 15, bodyStart: 17 });
    expect(findCgiHeadEnd(Buffer.from("Content-Type: x\r\n"))).toBeUndefined();
  });

  it("defaults to 200 and refuses lines that are not headers", () => {
    expect(parseCgiHead("Content-Type: x")?.status).toBe(200);
    expect(parseCgiHead("fatal: not a header")?.status).toBe(200);
    expect(parseCgiHead("no colon here")).toBeUndefined();
    expect(parseCgiHead("Status: soon")).toBeUndefined();
  });
});

describe("ref names and packed-refs", () => {
  it("keeps to git's rules for ref names", () => {
    for (const ref of ["refs/heads/main", "refs/heads/feature/x-1", "refs/tags/v1.2.3"])
      expect(isWellFormedRef(ref)).toBe(true);
    for (const ref of [
      "HEAD",
      "refs/heads/../../config",
      "refs/heads/.hidden",
      "refs/heads/a..b",
      "refs/heads/x.lock",
      "refs/heads/a b",
      "refs/heads/a\\b",
      "refs/heads/x/",
      "refs/heads/a:b",
      "refs/heads/@{1}",
      "--upload-pack=x",
    ]) {
      expect(isWellFormedRef(ref)).toBe(false);
    }
  });

  it("reads packed-refs, skipping its header and peeled lines", () => {
    const text = `# pack-refs with: peeled fully-peeled sorted \n${A} refs/heads/main\n${B} refs/tags/v1\n^${A}\n`;
    expect([...parsePackedRefs(text)]).toEqual([
      ["refs/heads/main", A],
      ["refs/tags/v1", B],
    ]);
  });
});
