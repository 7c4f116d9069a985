import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isAlias, isMap, isScalar, isSeq, parseDocument } from "yaml";
import { PlainEventKind, readPlainYaml, resolvePlain } from "./plain-yaml.js";
import type { PlainEvent } from "./plain-yaml.js";
import { repositoryYamlFiles } from "./yaml-files.test-support.js";

/** What the `yaml` package reads: the same events, or "error" for a document with YAML errors. */
function yamlEvents(text: string): unknown[] | "error" {
  const doc = parseDocument(text, { keepSourceTokens: true, uniqueKeys: false });
  if (doc.errors.length > 0) return "error";
  const events: unknown[] = [];
  const walk = (node: unknown): void => {
    if (isMap(node) || isSeq(node)) {
      const [start, end] = node.range ?? [];
      const map = isMap(node);
      events.push({ kind: map ? "map" : "seq", start, end });
      for (const item of node.items) {
        if (map) {
          const pair = item as { key: { range: number[]; value: unknown }; value: unknown };
          events.push({
            kind: "key",
            start: pair.key.range[0],
            end: pair.key.range[1],
            value: pair.key.value,
          });
          walk(pair.value);
        } else {
          walk(item);
        }
      }
      events.push({ kind: map ? "map-end" : "seq-end" });
      return;
    }
    if (isScalar(node)) {
      const [start, end] = node.range ?? [];
      const token = node.srcToken;
      const source = typeof node.value === "string" && token && "source" in token ? token.source : undefined;
      const header =
        token?.type === "block-scalar"
          ? (token.props.find((p) => p.type === "block-scalar-header") as { source: string } | undefined)
              ?.source
          : undefined;
      events.push({ kind: "scalar", start, end, value: node.value, source, header });
      return;
    }
    // An alias, or a pair without a value node (`{a}`): the plain reader must not accept these.
    events.push({ kind: isAlias(node) ? "alias" : "absent" });
  };
  walk(doc.contents);
  return events;
}

const KIND_NAMES: Record<PlainEventKind, string> = {
  [PlainEventKind.MappingStart]: "map",
  [PlainEventKind.MappingEnd]: "map-end",
  [PlainEventKind.SequenceStart]: "seq",
  [PlainEventKind.SequenceEnd]: "seq-end",
  [PlainEventKind.Key]: "key",
  [PlainEventKind.Scalar]: "scalar",
};

function plainEvents(events: readonly PlainEvent[]): unknown[] {
  return events.map((e) => {
    const kind = KIND_NAMES[e.kind];
    if (kind.endsWith("-end")) return { kind };
    if (kind === "key") return { kind, start: e.start, end: e.end, value: e.value };
    if (kind === "scalar") {
      return { kind, start: e.start, end: e.end, value: e.value, source: e.source, header: e.header };
    }
    return { kind, start: e.start, end: e.end };
  });
}

/** Checks the plain reader against `yaml` on `text`; true when the plain reader read it. */
function checkAgainstYaml(text: string): boolean {
  const plain = readPlainYaml(text);
  const theirs = yamlEvents(text);
  if (theirs === "error") {
    expect(plain, `accepted a document yaml rejects: ${JSON.stringify(text)}`).toBeUndefined();
    return false;
  }
  if (plain === undefined) return false;
  expect(plainEvents(plain), JSON.stringify(text)).toEqual(theirs);
  return true;
}

/** A small seeded random source, so a failure can be replayed. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

const KEYS = ["on", "jobs", "runs-on", "a b", "x.y", "true", "1", "null", "node-version", "k"];
const PLAIN = [
  "push",
  "ubuntu-latest",
  "echo hello world",
  "${{ matrix.os }}",
  "http://example.com/a#b",
  "12",
  "-3",
  "0o17",
  "0x1F",
  "1.5",
  "1e3",
  ".inf",
  ".nan",
  "true",
  "False",
  "~",
  "null",
  "yes",
  "a'b\"c",
  "[not] flow",
  "x: y",
  "trailing:",
  "-",
  "- x",
  "&anchor x",
  "*alias",
  "!tag x",
  "%x",
  "@x",
  "a #not-comment#",
];
const QUOTED = ["'single'", "'it''s'", '"double"', '"esc \\" \\\\ \\n \\t"', '"\\x41"', "''", '""', "'open"];
const FLOW = [
  "[]",
  "{}",
  "[a, b]",
  "[ a , 'b' , \"c\" ]",
  "{ A: 1, B: ~ }",
  "[{ a: 1 }, [x]]",
  "[a, ]",
  "[a,, b]",
  "[a: 1]",
  "{a}",
  "[node:20]",
  "[a b, -1, -x]",
  "[ x ] # c",
  "[x]y",
];

/** A random YAML document in the style of workflow files, with some of what the plain reader refuses. */
function generate(rand: (n: number) => number): string {
  const out: string[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;
  const trailer = (): string => pick(["", "", "", " # note", "  ", " #"]);
  const trivia = (indent: number): void => {
    const r = rand(12);
    if (r === 0) out.push("");
    else if (r === 1) out.push(`${" ".repeat(rand(indent + 3))}# comment`);
    else if (r === 2) out.push(" ".repeat(rand(3)));
  };
  const block = (indent: number): string[] => {
    const header = pick(["|", "|-", ">", ">-", "|+", "|2", "| # c"]);
    const lines = [header];
    const width = indent + 2 + rand(2) * 2;
    const count = 1 + rand(4);
    for (let i = 0; i < count; i++) {
      const r = rand(8);
      if (r === 0) lines.push("");
      else if (r === 1) lines.push(" ".repeat(width + 2) + "more indented");
      else if (r === 2) lines.push(" ".repeat(width) + "# not a comment");
      else lines.push(" ".repeat(width) + pick(["echo one", "two words", "${{ x }}", "- dash"]));
    }
    return lines;
  };
  const value = (indent: number, depth: number, inSequence: boolean): void => {
    const r = rand(depth > 3 ? 5 : 9);
    const last = out.length - 1;
    if (r <= 1) out[last] += ` ${pick(PLAIN)}${trailer()}`;
    else if (r === 2) out[last] += ` ${pick(QUOTED)}${trailer()}`;
    else if (r === 3) out[last] += ` ${pick(FLOW)}${trailer()}`;
    else if (r === 4) {
      const [header, ...body] = block(indent);
      out[last] += ` ${header}`;
      out.push(...body);
    } else if (r === 5) out[last] += trailer();
    else if (r === 6 || r === 7) {
      out[last] += trailer();
      // A nested mapping, or a sequence (compact at the key's indentation, sometimes).
      const nested = indent + (inSequence ? 2 : pick([2, 2, 4]));
      if (r === 6) mapping(nested, depth + 1);
      else sequence(!inSequence && rand(3) === 0 ? indent : nested, depth + 1);
    } else {
      out[last] += ` ${pick(PLAIN)}`;
      if (rand(2) === 0) out.push(`${" ".repeat(indent + 2)}continued plain`);
    }
  };
  const mapping = (indent: number, depth: number): void => {
    const count = 1 + rand(4);
    for (let i = 0; i < count; i++) {
      trivia(indent);
      out.push(`${" ".repeat(indent)}${pick(KEYS)}:`);
      value(indent, depth, false);
    }
  };
  const sequence = (indent: number, depth: number): void => {
    const count = 1 + rand(3);
    for (let i = 0; i < count; i++) {
      trivia(indent);
      if (rand(3) === 0) {
        // An item that is a mapping starting on the dash's line.
        out.push(`${" ".repeat(indent)}- ${pick(KEYS)}:`);
        value(indent + 2, depth + 1, false);
        if (rand(2) === 0) {
          out.push(`${" ".repeat(indent + 2)}${pick(KEYS)}:`);
          value(indent + 2, depth + 1, false);
        }
      } else {
        out.push(`${" ".repeat(indent)}-`);
        value(indent, depth, true);
      }
    }
  };
  mapping(0, 0);
  trivia(0);
  return out.join("\n") + pick(["\n", "\n", "", "\n\n"]);
}

describe("readPlainYaml", () => {
  it("reads the repository's workflows as `yaml` does, and most of them at all", () => {
    const files = repositoryYamlFiles();
    let read = 0;
    for (const file of files) if (checkAgainstYaml(readFileSync(file, "utf8"))) read++;
    expect(files.length).toBeGreaterThan(20);
    expect(read / files.length).toBeGreaterThan(0.8);
  });

  it("agrees with `yaml` on generated documents, and never accepts one `yaml` rejects", () => {
    let read = 0;
    const total = Number(process.env.PLAIN_YAML_CASES ?? 3000);
    for (let seed = 1; seed <= total; seed++) {
      const text = generate(random(seed));
      if (checkAgainstYaml(text)) read++;
    }
    // The generator mixes in what the plain reader refuses; a fair share must still be read.
    if (process.env.PLAIN_YAML_CASES) console.log(`read ${read} of ${total}`);
    expect(read).toBeGreaterThan(total / 10);
  });

  it.each([
    ["a tab", "a:\tb\n"],
    ["an anchor", "a: &x 1\nb: *x\n"],
    ["a tag", "a: !!str 1\n"],
    ["a document marker", "---\na: 1\n"],
    ["a multi-line plain scalar", "a: one\n  two\n"],
    ["a multi-line flow sequence", "a: [1,\n  2]\n"],
    ["a complex key", "? a\n: b\n"],
    ["a quoted key", '"a": b\n'],
    ["a comment after the last item of a nested mapping", "a:\n  b: 1\n  # c\nd: 2\n"],
    ["CRLF line ends", "a: 1\r\nb: 2\r\n"],
    ["an empty document", ""],
    ["a bare scalar", "text\n"],
  ])("leaves %s to `yaml`", (_name, text) => {
    expect(readPlainYaml(text)).toBeUndefined();
  });

  it("reads a workflow's usual shapes", () => {
    const text = [
      "on:",
      "  push:",
      "    branches: [main, 'release/**']",
      "jobs:",
      "  test:",
      "    runs-on: ${{ matrix.os }}",
      "    steps:",
      "    - uses: actions/checkout@v4",
      "    - run: |",
      "        echo one",
      "",
      "        echo two",
      "      env: { A: 1, B: ~ }",
      "",
    ].join("\n");
    expect(checkAgainstYaml(text)).toBe(true);
  });

  it("types plain scalars by YAML 1.2's core schema", () => {
    expect(resolvePlain("yes")).toBe("yes");
    expect(resolvePlain("True")).toBe(true);
    expect(resolvePlain("0o17")).toBe(15);
    expect(resolvePlain("0x1f")).toBe(31);
    expect(resolvePlain("-.inf")).toBe(-Infinity);
    expect(resolvePlain("1_000")).toBe("1_000");
    expect(resolvePlain("")).toBeNull();
  });
});
