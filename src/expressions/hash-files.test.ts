import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Result } from "../diagnostic.js";
import { evaluateExpression } from "./evaluate.js";
import {
  hashFiles,
  hashFilesFunction,
  parseGlobPatterns,
  patternMatches,
  pathSegments,
} from "./hash-files.js";

/** The documented algorithm, computed independently: SHA-256 over the files' raw SHA-256 digests. */
function expectedHash(...contents: string[]): string {
  const outer = createHash("sha256");
  for (const content of contents) outer.update(createHash("sha256").update(content).digest());
  return outer.digest("hex");
}

function valueOf(result: Result<string>): string {
  if (!result.ok) throw new Error(result.errors.map((d) => d.message).join("\n"));
  return result.value;
}

let base: string;
let workspace: string;
let outside: string;
const files: Record<string, string> = {
  "a.txt": "A",
  "b.txt": "B",
  "dir/c.txt": "C",
  "dir/sub/e.md": "E",
  "dir-x/d.txt": "D",
  "dir.txt": "DOT",
  ".hidden/h.txt": "H",
  ".git/config": "GIT",
  "lock/package-lock.json": "LOCK1",
  "node_modules/pkg/package-lock.json": "LOCK2",
};

function write(root: string, path: string, content: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "conveyor-hashfiles-"));
  workspace = join(base, "ws");
  outside = join(base, "outside");
  for (const [path, content] of Object.entries(files)) write(workspace, path, content);
  write(outside, "secret.txt", "OUTSIDE");
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

const hash = (...patterns: string[]): string => valueOf(hashFiles(workspace, patterns));

describe("hashFiles on a real directory", () => {
  test("one file", () => {
    expect(hash("a.txt")).toBe(expectedHash("A"));
    expect(hash("./a.txt")).toBe(expectedHash("A"));
    expect(hash(join(workspace, "a.txt"))).toBe(expectedHash("A"));
  });

  test("several files: depth first, each directory's names in byte order", () => {
    // Root names sort as a.txt, b.txt, dir, dir-x, dir.txt ('-' < '.'); dir/ is entered before dir-x.
    // A sort of full paths would put dir-x/d.txt and dir.txt before dir/c.txt instead.
    expect(hash("*.txt", "dir/*.txt", "dir-x/*.txt")).toBe(expectedHash("A", "B", "C", "D", "DOT"));
    expect(hash("dir-x/*.txt", "*.txt", "dir/*.txt")).toBe(expectedHash("A", "B", "C", "D", "DOT"));
  });

  test("** crosses directories, and hidden directories and .git are not special", () => {
    expect(hash("**/*.txt")).toBe(expectedHash("H", "A", "B", "C", "D", "DOT"));
    expect(hash("**/config")).toBe(expectedHash("GIT"));
  });

  test("a directory pattern hashes everything below it, with or without a trailing slash", () => {
    expect(hash("dir")).toBe(expectedHash("C", "E"));
    expect(hash("dir/")).toBe(expectedHash("C", "E"));
  });

  test("a trailing slash keeps the pattern itself to directories: `*/` hashes no top-level file", () => {
    expect(hash("*/")).toBe(expectedHash("GIT", "H", "C", "E", "D", "LOCK1", "LOCK2"));
    expect(hash("**/*.txt", "!a.txt/")).toBe(expectedHash("H", "A", "B", "C", "D", "DOT"));
  });

  test("search roots are walked in pattern order", () => {
    expect(hash("dir-x/*.txt", "dir/*.txt")).toBe(expectedHash("D", "C"));
    expect(hash("dir/*.txt", "dir-x/*.txt")).toBe(expectedHash("C", "D"));
  });

  test("`**.txt` is `*.txt`: only the top level (actions/cache#1125)", () => {
    expect(hash("**.txt")).toBe(expectedHash("A", "B", "DOT"));
  });

  test("?, [...] and escapes", () => {
    expect(hash("?.txt")).toBe(expectedHash("A", "B"));
    expect(hash("[a].txt")).toBe(expectedHash("A"));
    expect(hash("[!a].txt")).toBe(expectedHash("B"));
    expect(hash("[a-b].txt")).toBe(expectedHash("A", "B"));
    expect(hash("dir\\.txt")).toBe(expectedHash("DOT"));
  });

  test("exclusions apply in order", () => {
    expect(hash("**/package-lock.json", "!**/node_modules/**")).toBe(expectedHash("LOCK1"));
    expect(hash("**/*.txt", "!dir*")).toBe(expectedHash("H", "A", "B"));
    expect(hash("**/*.txt", "!dir*", "dir.txt")).toBe(expectedHash("H", "A", "B", "DOT"));
    expect(hash("!a.txt", "a.txt")).toBe(expectedHash("A"));
  });

  test("patterns may come several to an argument, one per line, with comments", () => {
    expect(hash("a.txt\n# a comment\n\n  b.txt  ")).toBe(expectedHash("A", "B"));
  });

  test("no match is the empty string", () => {
    expect(hash("nothing/**")).toBe("");
    expect(hash("*.nope")).toBe("");
    expect(hash("dir/sub/")).toBe(expectedHash("E"));
  });

  test("files outside the workspace are ignored", () => {
    expect(hash(join(outside, "secret.txt"))).toBe("");
    expect(hash(join(outside, "*"), "a.txt")).toBe(expectedHash("A"));
  });

  test("'..' and a '.' inside a pattern are errors", () => {
    const escaped = hashFiles(workspace, ["../outside/*"]);
    expect(escaped.ok).toBe(false);
    expect(escaped.ok ? "" : escaped.errors[0]?.message).toMatch(
      /Relative pathing '\.' and '\.\.' is not allowed/,
    );
    expect(hashFiles(workspace, ["dir/./c.txt"]).ok).toBe(false);
  });

  test("the runner's 120 s limit becomes an error, not a hang", () => {
    const many = join(base, "many");
    for (let i = 0; i < 1100; i++) write(many, `f${i}`, "x");
    const result = hashFiles(many, ["**"], { timeoutMs: -1 });
    expect(result.ok ? "" : result.errors[0]?.message).toMatch(/couldn't finish within/);
    expect(valueOf(hashFiles(many, ["f1"]))).toBe(expectedHash("x"));
  });
});

describe("symbolic links", () => {
  let linked: string;
  beforeAll(() => {
    linked = join(base, "linked");
    write(linked, "real/file.txt", "REAL");
    symlinkSync("real", join(linked, "dirlink"));
    symlinkSync("real/file.txt", join(linked, "filelink.txt"));
    symlinkSync(join(outside, "secret.txt"), join(linked, "outlink.txt"));
    symlinkSync(".", join(linked, "real", "loop"));
  });

  test("unfollowed: a link to a file is hashed with its target's content, a link to a directory skipped", () => {
    expect(valueOf(hashFiles(linked, ["**"]))).toBe(expectedHash("REAL", "OUTSIDE", "REAL"));
    expect(valueOf(hashFiles(linked, ["dirlink/**"]))).toBe("");
  });

  test("followed: links to directories are entered, loops are not entered twice", () => {
    const followed = valueOf(hashFiles(linked, ["**"], { followSymbolicLinks: true }));
    // dirlink/file.txt, filelink.txt, outlink.txt, real/file.txt; each `loop` leads back up the chain.
    expect(followed).toBe(expectedHash("REAL", "REAL", "OUTSIDE", "REAL"));
  });

  test("a loop through the workspace root ends", () => {
    const looping = join(base, "looping");
    write(looping, "x.txt", "X");
    mkdirSync(join(looping, "sub"));
    symlinkSync("..", join(looping, "sub", "up"));
    symlinkSync(".", join(looping, "self"));
    expect(valueOf(hashFiles(looping, ["**"], { followSymbolicLinks: true }))).toBe(expectedHash("X"));
    expect(valueOf(hashFiles(looping, ["**"]))).toBe(expectedHash("X"));
  });

  test("a broken link fails when not followed and is skipped when followed, as in the runner", () => {
    const broken = join(base, "broken");
    write(broken, "ok.txt", "OK");
    symlinkSync("missing", join(broken, "dangling.txt"));
    expect(hashFiles(broken, ["*.txt"]).ok).toBe(false);
    expect(valueOf(hashFiles(broken, ["*.txt"], { followSymbolicLinks: true }))).toBe(expectedHash("OK"));
  });
});

describe("hashFiles() in an expression", () => {
  const evaluate = (expression: string) =>
    evaluateExpression(expression, {}, { functions: [hashFilesFunction(workspace)] });

  test("the function gives the same value", () => {
    expect(evaluate("hashFiles('**/package-lock.json', '!**/node_modules/**')")).toEqual({
      ok: true,
      value: expectedHash("LOCK1"),
    });
    expect(evaluate("format('deps-{0}', hashFiles('a.txt'))")).toEqual({
      ok: true,
      value: `deps-${expectedHash("A")}`,
    });
    expect(evaluate("hashFiles('none') == ''")).toEqual({ ok: true, value: true });
  });

  test("--follow-symbolic-links is only an option in first position", () => {
    expect(evaluate("hashFiles('--follow-symbolic-links', 'a.txt')")).toEqual({
      ok: true,
      value: expectedHash("A"),
    });
    const wrong = evaluate("hashFiles('--follow', 'a.txt')");
    expect(wrong.ok ? "" : wrong.errors[0]?.message).toMatch(/Invalid glob option --follow/);
  });

  test("errors become diagnostics", () => {
    const result = evaluate("hashFiles('../x')");
    expect(result.ok ? "" : result.errors[0]?.message).toMatch(/hashFiles\('\.\.\/x'\) failed/);
  });
});

describe("pattern matching (pure)", () => {
  const matches = (pattern: string, path: string): boolean => {
    const parsed = parseGlobPatterns([pattern], "/ws", "/home/me");
    if (!parsed.ok) throw new Error("bad pattern");
    const first = parsed.value[0];
    return first !== undefined && patternMatches(first, pathSegments(path));
  };

  test.each([
    ["*.js", "/ws/a.js", true],
    ["*.js", "/ws/.a.js", true],
    ["*.js", "/ws/src/a.js", false],
    ["**/*.js", "/ws/a.js", true],
    ["**/*.js", "/ws/x/y/z/a.js", true],
    ["src/**", "/ws/src", true],
    ["a/**/b", "/ws/a/b", true],
    ["a/**/b", "/ws/a/x/y/b", true],
    ["A.js", "/ws/a.js", false],
    ["~/x", "/home/me/x", true],
    ["/abs/*", "/abs/file", true],
    ["{a,b}.js", "/ws/{a,b}.js", true],
    ["+(a).js", "/ws/+(a).js", true],
    ["[z-a].js", "/ws/[z-a].js", true],
  ])("%s on %s: %s", (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  test("a deep run of globstars stays fast", () => {
    const deep = `/ws/${Array.from({ length: 60 }, (_, i) => `d${i}`).join("/")}/end`;
    const started = Date.now();
    expect(matches("**/**/**/**/**/**/**/**/**/nope", deep)).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
