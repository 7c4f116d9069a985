/**
 * Checks a workflow file's bytes before GitHub's parser sees them. The parser accepts bytes that
 * are not UTF-8 and expands YAML aliases without a limit (a "billion laughs" file hangs it), so
 * both are refused here, quickly and with a location.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Node as YamlNode } from "yaml";
import { error, failed, fileError, ok } from "../diagnostic.js";
import type { Result } from "../diagnostic.js";

/** Far more nodes than any real workflow has once its aliases are expanded, far fewer than a bomb. */
export const MAX_EXPANDED_NODES = 200_000;

/** Bounds the work one file can cause; real workflows are a few kilobytes. */
export const MAX_WORKFLOW_BYTES = 1024 * 1024;

/** What kind of YAML document is screened, for the words of its errors. */
export interface YamlDocumentKind {
  /** Plural noun: "workflow files". */
  readonly noun: string;
  /** What an empty file is missing. */
  readonly emptyHint: string;
}

export const WORKFLOW_DOCUMENT: YamlDocumentKind = {
  noun: "workflow files",
  emptyHint: "a workflow needs at least `on:` (its triggers) and `jobs:`.",
};

/** Returns the text of a workflow file, or why it cannot be read as one. */
export function screenWorkflowBytes(file: string, bytes: Uint8Array): Result<string> {
  return screenYamlBytes(file, bytes, WORKFLOW_DOCUMENT);
}

/** Returns the text of a YAML document of the given kind, or why it cannot be read. */
export function screenYamlBytes(file: string, bytes: Uint8Array, kind: YamlDocumentKind): Result<string> {
  if (bytes.length > MAX_WORKFLOW_BYTES) {
    return failed([
      fileError(
        file,
        `the file is ${bytes.length} bytes; ${kind.noun} may be at most ${MAX_WORKFLOW_BYTES} bytes (1 MiB). Split it or move scripts into files.`,
      ),
    ]);
  }
  const decoded = decodeUtf8(file, bytes);
  if (!decoded.ok) return decoded;
  const text = decoded.value;
  if (isBlank(text)) return failed([fileError(file, `the file is empty: ${kind.emptyHint}`)]);
  const bomb = findAliasBomb(file, text);
  return bomb ? failed([bomb]) : ok(text);
}

function decodeUtf8(file: string, bytes: Uint8Array): Result<string> {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return ok(text.startsWith("\uFEFF") ? text.slice(1) : text);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes);
    const before = new TextDecoder("utf-8").decode(bytes.subarray(0, offset));
    const lines = before.split("\n");
    const line = lines.length;
    const column = (lines[lines.length - 1] ?? "").length + 1;
    return failed([
      error(
        `the file is not valid UTF-8 (byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, "0")} at offset ${offset}): save it as UTF-8.`,
        { file, line, column },
      ),
    ]);
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return bytes.length;
}

function isBlank(text: string): boolean {
  return text.split("\n").every((line) => {
    const trimmed = line.trim();
    return trimmed === "" || trimmed.startsWith("#") || trimmed === "---" || trimmed === "...";
  });
}

/**
 * Counts the nodes the document would have with every alias expanded, memoising per anchored
 * node so the count itself stays linear in the file size.
 */
function findAliasBomb(file: string, text: string): ReturnType<typeof error> | undefined {
  // Without an anchor there is nothing to expand; skip the extra parse.
  if (!/(^|[\s[{,:-])&[^\s]/m.test(text)) return undefined;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const sizes = new Map<YamlNode, number>();
  const resolving = new Set<YamlNode>();
  let firstHeavyAlias: number | undefined;

  const sizeOf = (node: unknown): number => {
    if (node === null || node === undefined) return 1;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target || resolving.has(target)) return 1;
      const size = sizeOf(target);
      if (size > MAX_EXPANDED_NODES && firstHeavyAlias === undefined) firstHeavyAlias = node.range?.[0];
      return size;
    }
    if (isScalar(node)) return 1;
    if (isPair(node)) return sizeOf(node.key) + sizeOf(node.value);
    if (isMap(node) || isSeq(node)) {
      const known = sizes.get(node);
      if (known !== undefined) return known;
      resolving.add(node);
      let total = 1;
      for (const item of node.items) {
        total += sizeOf(item);
        if (total > MAX_EXPANDED_NODES * 2) break; // already far too big; stop counting
      }
      resolving.delete(node);
      sizes.set(node, total);
      return total;
    }
    return 1;
  };

  const total = sizeOf(doc.contents);
  if (total <= MAX_EXPANDED_NODES) return undefined;
  const position = lineCounter.linePos(firstHeavyAlias ?? 0);
  return error(
    `YAML aliases expand this file to more than ${MAX_EXPANDED_NODES} values (an "alias bomb"); write the repeated parts out or use fewer nested aliases.`,
    { file, line: position.line, column: position.col },
  );
}

/** YAML errors carry "at line L, column C:" and a source excerpt; the location says that already. */
export function cleanYamlMessage(raw: string): string {
  const firstLine = raw.split("\n")[0] ?? raw;
  return firstLine.replace(/ at line \d+, column \d+:?$/, "").trim();
}
