import { describe, expect, it } from "vitest";
import { compileFilter, compilePattern } from "./filter-pattern.js";

function includes(patterns: readonly string[], value: string): boolean {
  const compiled = compileFilter(patterns);
  if (!compiled.ok) throw new Error(compiled.errors.map((e) => e.message).join("; "));
  return compiled.value.matches(value);
}

function errorsOf(patterns: readonly string[]): string[] {
  const compiled = compileFilter(patterns);
  return compiled.ok ? [] : compiled.errors.map((e) => e.message);
}

/** Each row: patterns, values the list includes, values it excludes. */
type Row = readonly [patterns: readonly string[], included: readonly string[], excluded: readonly string[]];

function checkRows(rows: readonly Row[]): void {
  for (const [patterns, included, excluded] of rows) {
    for (const value of included) {
      it(`${JSON.stringify(patterns)} includes ${value}`, () => expect(includes(patterns, value)).toBe(true));
    }
    for (const value of excluded) {
      it(`${JSON.stringify(patterns)} excludes ${value}`, () =>
        expect(includes(patterns, value)).toBe(false));
    }
  }
}

describe("cheat sheet: patterns to match branches and tags", () => {
  checkRows([
    [["feature/*"], ["feature/my-branch", "feature/your-branch"], ["feature/beta-a/my-branch", "feature"]],
    [
      ["feature/**"],
      ["feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"],
      ["features/x"],
    ],
    [
      ["main", "releases/mona-the-octocat"],
      ["main", "releases/mona-the-octocat"],
      ["mainline", "releases/mona"],
    ],
    [["*"], ["main", "releases"], ["releases/10", "feature/x"]],
    [["**"], ["all/the/branches", "every/tag", "main"], []],
    [["*feature"], ["mona-feature", "feature", "ver-10-feature"], ["feature-x", "my/feature"]],
    [["v2*"], ["v2", "v2.0", "v2.9"], ["v3", "v2/x", "xv2"]],
    [["v[12].[0-9]+.[0-9]+"], ["v1.10.1", "v2.0.0"], ["v3.0.0", "v1.x.1", "v1x10x1", "v1.10", "v12.0.0"]],
  ]);
});

describe("cheat sheet: patterns to match file paths", () => {
  checkRows([
    [["*"], ["README.md", "server.rb"], ["docs/README.md"]],
    [["*.jsx?"], ["page.js", "page.jsx"], ["page.jsxx", "page.j", "src/page.js"]],
    [["**"], ["all/the/files.md"], []],
    [["*.js"], ["app.js", "index.js"], ["js/index.js", "app.jsx"]],
    [["**.js"], ["index.js", "js/index.js", "src/js/app.js"], ["index.jsx", "index.ts"]],
    [["docs/*"], ["docs/README.md", "docs/file.txt"], ["docs/mona/octocat.txt", "other/docs/file.txt"]],
    [["docs/**"], ["docs/README.md", "docs/mona/octocat.txt"], ["other/docs/file.txt", "README.md"]],
    [
      ["docs/**/*.md"],
      ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"],
      ["docs/a.txt"],
    ],
    [["**/docs/**"], ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"], ["doc/x.md"]],
    [["**/README.md"], ["README.md", "js/README.md"], ["README.mdx", "js/README.txt"]],
    [["**/*src/**"], ["a/src/app.js", "my-src/code/js/app.js"], ["source/app.js"]],
    [["**/*-post.md"], ["my-post.md", "path/their-post.md"], ["post.md", "path/post.md"]],
    [
      ["**/migrate-*.sql"],
      ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"],
      ["migrate.sql"],
    ],
    [["*.md", "!README.md"], ["hello.md"], ["README.md", "docs/hello.md"]],
    [["*.md", "!README.md", "README*"], ["hello.md", "README.md", "README.doc"], ["docs/hello.md"]],
  ]);
});

describe("ordered lists from the documentation examples", () => {
  checkRows([
    // on.push.branches: releases/** then !releases/**-alpha
    [
      ["releases/**", "!releases/**-alpha"],
      ["releases/10", "releases/beta/mona"],
      ["releases/10-alpha", "releases/beta/3-alpha", "main"],
    ],
    // on.push.branches: main, mona/octocat, releases/**
    [["main", "mona/octocat", "releases/**"], ["main", "mona/octocat", "releases/10"], ["mona/hubot"]],
    // on.push.tags: v2, v1.*
    [
      ["v2", "v1.*"],
      ["v2", "v1.9.1"],
      ["v2.0", "v1"],
    ],
    // on.push.paths: sub-project/** then !sub-project/docs/**
    [
      ["sub-project/**", "!sub-project/docs/**"],
      ["sub-project/index.js", "sub-project/src/index.js"],
      ["sub-project/docs/readme.md", "other/index.js"],
    ],
  ]);
});

describe("list semantics", () => {
  it("includes nothing when every pattern is negative", () => {
    expect(includes(["!main"], "feature")).toBe(false);
    expect(includes(["!main"], "main")).toBe(false);
  });

  it("includes nothing for an empty list", () => {
    expect(includes([], "main")).toBe(false);
  });

  it("lets a later positive pattern re-include what a negative one excluded", () => {
    expect(includes(["**", "!release/**", "release/keep"], "release/keep")).toBe(true);
    expect(includes(["**", "!release/**", "release/keep"], "release/drop")).toBe(false);
  });

  it("ignores a negative pattern that comes before any positive match", () => {
    expect(includes(["!main", "**"], "main")).toBe(true);
  });

  it("names the pattern that decided", () => {
    const compiled = compileFilter(["**", "!docs/**", "docs/api/**"]);
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    expect(compiled.value.decidingPattern("docs/guide.md")?.source).toBe("!docs/**");
    expect(compiled.value.decidingPattern("docs/api/x.md")?.source).toBe("docs/api/**");
    expect(compiled.value.decidingPattern("src/x.ts")?.source).toBe("**");
  });
});

describe("pattern details", () => {
  it("swallows the slash after ** like GitHub, so **/README.md also matches myREADME.md", () => {
    expect(includes(["**/README.md"], "docs/myREADME.md")).toBe(true);
  });

  it("treats ? and + as quantifiers of the preceding character", () => {
    expect(includes(["colou?r"], "color")).toBe(true);
    expect(includes(["colou?r"], "colour")).toBe(true);
    expect(includes(["colou?r"], "colouur")).toBe(false);
    expect(includes(["v1+"], "v111")).toBe(true);
    expect(includes(["v1+"], "v")).toBe(false);
    expect(includes(["[0-9]+"], "2024")).toBe(true);
  });

  it("treats a leading ? or + as nothing to quantify", () => {
    expect(includes(["?abc"], "abc")).toBe(true);
    expect(includes(["+abc"], "abc")).toBe(true);
    expect(includes(["+abc"], "+abc")).toBe(false);
  });

  it("matches the whole value, never a part of it", () => {
    expect(includes(["main"], "not-main")).toBe(false);
    expect(includes([".yml"], "fyml")).toBe(false);
    expect(includes(["a.b"], "a.b")).toBe(true);
  });

  it("is case-sensitive", () => {
    expect(includes(["Main"], "main")).toBe(false);
  });

  it("escapes special characters with a backslash", () => {
    expect(includes(["\\!file"], "!file")).toBe(true);
    expect(includes(["a\\*b"], "a*b")).toBe(true);
    expect(includes(["a\\*b"], "axb")).toBe(false);
    expect(includes(["C\\+\\+"], "C++")).toBe(true);
    expect(includes(["what\\?"], "what?")).toBe(true);
    expect(includes(["what\\?"], "wha")).toBe(false);
    expect(includes(["\\[x\\]"], "[x]")).toBe(true);
    expect(includes(["escape\\\\backslash"], "escape\\backslash")).toBe(true);
  });

  it("reads \\d, \\w and \\s as GitHub's regular expression does", () => {
    expect(includes(["v\\d+"], "v42")).toBe(true);
    expect(includes(["v\\d+"], "vx")).toBe(false);
    expect(includes(["\\w+"], "ab_9")).toBe(true);
    expect(includes(["a\\sb"], "a b")).toBe(true);
  });

  it("treats ! after the first character as an ordinary character", () => {
    expect(includes(["a!b"], "a!b")).toBe(true);
    const compiled = compilePattern("!!x");
    expect(compiled.ok && compiled.value.negated).toBe(true);
    expect(compiled.ok && compiled.value.regex.test("!x")).toBe(true);
  });

  it("supports negated character lists", () => {
    expect(includes(["v[^0-9]"], "vx")).toBe(true);
    expect(includes(["v[^0-9]"], "v1")).toBe(false);
  });

  it("lists letters and ranges in brackets", () => {
    expect(includes(["[CB]at"], "Cat")).toBe(true);
    expect(includes(["[CB]at"], "Bat")).toBe(true);
    expect(includes(["[CB]at"], "Rat")).toBe(false);
    expect(includes(["[1-2]00"], "100")).toBe(true);
    expect(includes(["[1-2]00"], "200")).toBe(true);
    expect(includes(["[1-2]00"], "300")).toBe(false);
    expect(includes(["[0-9a-z]"], "q")).toBe(true);
    expect(includes(["[0-9a-z]"], "Q")).toBe(false);
  });

  it("handles characters outside ASCII", () => {
    expect(includes(["café/*"], "café/menu")).toBe(true);
    expect(includes(["é+"], "ééé")).toBe(true);
  });
});

describe("invalid patterns", () => {
  it("reports an unclosed [ with the pattern and position", () => {
    expect(errorsOf(["v[12"])).toEqual([
      "invalid filter pattern 'v[12' at position 2: '[12' has no closing ']'",
    ]);
    expect(errorsOf(["v["])).toEqual(["invalid filter pattern 'v[' at position 2: '[' has no closing ']'"]);
  });

  it("reports empty and invalid character lists", () => {
    expect(errorsOf(["a[]"])).toEqual([
      "invalid filter pattern 'a[]' at position 2: '[]' lists no characters",
    ]);
    expect(errorsOf(["[a.b]"])[0]).toBe(
      "invalid filter pattern '[a.b]' at position 1: '[a.b]' may list only letters, digits and ranges such as a-z, A-Z, 0-9 (with an optional leading ^)",
    );
    expect(errorsOf(["[z-a]"])).toEqual([
      "invalid filter pattern '[z-a]' at position 1: range 'z-a' in '[z-a]' is backwards",
    ]);
    expect(errorsOf(["[0-z]"])).toHaveLength(1);
  });

  it("rejects quantifiers that follow quantifiers or wildcards, as GitHub does for 'C++'", () => {
    expect(errorsOf(["C++"])).toEqual(["invalid filter pattern 'C++' at position 3: '+' cannot follow '+'"]);
    expect(errorsOf(["a??"])).toEqual(["invalid filter pattern 'a??' at position 3: '?' cannot follow '?'"]);
    expect(errorsOf(["a?+"])).toEqual(["invalid filter pattern 'a?+' at position 3: '+' cannot follow '?'"]);
    expect(errorsOf(["a+?"])).toEqual(["invalid filter pattern 'a+?' at position 3: '?' cannot follow '+'"]);
    expect(errorsOf(["*+"])).toEqual(["invalid filter pattern '*+' at position 2: '+' cannot follow '*'"]);
    expect(errorsOf(["**?"])).toEqual(["invalid filter pattern '**?' at position 3: '?' cannot follow '**'"]);
    expect(errorsOf(["**/?x"])).toEqual([
      "invalid filter pattern '**/?x' at position 4: '?' cannot follow '**'",
    ]);
  });

  it("rejects three stars in a row", () => {
    expect(errorsOf(["a/***"])).toEqual([
      "invalid filter pattern 'a/***' at position 3: 3 '*' in a row: use '*' (no '/') or '**' (anything)",
    ]);
  });

  it("counts positions after a leading !", () => {
    expect(errorsOf(["!v[1"])).toEqual([
      "invalid filter pattern '!v[1' at position 3: '[1' has no closing ']'",
    ]);
  });

  it("rejects a trailing backslash and unknown letter escapes", () => {
    expect(errorsOf(["abc\\"])).toEqual([
      "invalid filter pattern 'abc\\' at position 4: '\\' at the end escapes nothing",
    ]);
    expect(errorsOf(["a\\qb"])[0]).toMatch(
      /^invalid filter pattern 'a\\qb' at position 2: '\\q' is not supported/,
    );
  });

  it("reports every invalid pattern of a list, in order", () => {
    expect(errorsOf(["ok/**", "C++", "v[1", "fine"])).toEqual([
      "invalid filter pattern 'C++' at position 3: '+' cannot follow '+'",
      "invalid filter pattern 'v[1' at position 2: '[1' has no closing ']'",
    ]);
  });
});
