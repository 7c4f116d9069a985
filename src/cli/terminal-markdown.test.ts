import { describe, expect, it } from "vitest";
import { PLAIN_MARKDOWN_STYLE, inline, renderMarkdown, type MarkdownStyle } from "./terminal-markdown.js";

/** Marks styles visibly, so tests see what is bold, italic, code or dim. */
const MARKED: MarkdownStyle = {
  bold: (s) => `<B>${s}</B>`,
  italic: (s) => `<I>${s}</I>`,
  code: (s) => `<C>${s}</C>`,
  dim: (s) => `<D>${s}</D>`,
};
const plain = (markdown: string): string[] => renderMarkdown(markdown, PLAIN_MARKDOWN_STYLE);

describe("renderMarkdown", () => {
  it("makes headings bold, ATX and setext alike, without their markers", () => {
    expect(renderMarkdown("# Title #\n\n### Sub\n\nOther\n=====\n", MARKED)).toEqual([
      "<B>Title</B>",
      "",
      "<B>Sub</B>",
      "",
      "<B>Other</B>",
    ]);
  });

  it("draws bullets, keeps numbers and nesting, and shows task boxes", () => {
    expect(plain("- one\n  * nested\n1. first\n2) second\n- [ ] todo\n- [x] done\n")).toEqual([
      "• one",
      "  • nested",
      "1. first",
      "2) second",
      "• ☐ todo",
      "• ☑ done",
    ]);
  });

  it("indents fenced code and leaves its content exactly as written", () => {
    expect(
      renderMarkdown("Run:\n\n```sh\nnpm test -- **not bold** <b>\n\n  two\n```\nafter", MARKED),
    ).toEqual(["Run:", "", "    npm test -- **not bold** <b>", "    ", "      two", "after"]);
  });

  it("aligns tables by column, honouring :--, --: and :-:", () => {
    expect(
      plain("| Name | Count | Mid |\n|:-----|------:|:---:|\n| a | 1 | x |\n| longer name | 1234 | wide |\n"),
    ).toEqual([
      "Name         Count  Mid",
      "───────────  ─────  ────",
      "a                1   x",
      "longer name   1234  wide",
    ]);
  });

  it("reads tables without outer pipes, escaped pipes, and rows short of cells", () => {
    expect(plain("a | b\n--|--\n1 \\| 2 | 3\nonly|\n")).toEqual(["a      b", "─────  ─", "1 | 2  3", "only"]);
  });

  it("aligns by visible width when cells are styled with escape codes", () => {
    const bold = (t: string): string => `\u001b[1m${t}\u001b[22m`;
    const ansi: MarkdownStyle = { ...PLAIN_MARKDOWN_STYLE, bold };
    expect(renderMarkdown("| h | n |\n|---|---|\n| **bold** | 1 |\n| x | 2 |", ansi)).toEqual([
      `${bold("h")}     ${bold("n")}`,
      "────  ─",
      `${bold("bold")}  1`,
      "x     2",
    ]);
  });

  it("strips HTML tags and comments, drops lines that held only tags, and decodes entities", () => {
    expect(
      plain(
        '<details><summary>Coverage</summary>\n\n<!-- generated\nby a tool -->\n<p align="center">91% &amp; rising &lt;3 &#x2713;</p>\n</details>\n',
      ),
    ).toEqual(["Coverage", "", "91% & rising <3 ✓"]);
  });

  it("shows block quotes and rules", () => {
    expect(plain("> quoted **text**\n> > deeper\n\n---\n")).toEqual([
      "│ quoted text",
      "│ deeper",
      "",
      "─".repeat(40),
    ]);
  });

  it("keeps at most one blank line between blocks and none at either end", () => {
    expect(plain("\n\n\na\n\n\n\nb\n\n\n")).toEqual(["a", "", "b"]);
  });

  it("shows what it does not understand as written", () => {
    expect(plain("Some | text that | is not a table\n:: odd ::")).toEqual([
      "Some | text that | is not a table",
      ":: odd ::",
    ]);
  });
});

describe("inline", () => {
  it("styles bold, italic, code and strikethrough", () => {
    expect(inline("**b** and __b__, *i* and _i_, `c`, ~~gone~~", MARKED)).toBe(
      "<B>b</B> and <B>b</B>, <I>i</I> and <I>i</I>, <C>c</C>, <D>gone</D>",
    );
  });

  it("writes links as text (url), and a bare or auto link as its url", () => {
    expect(
      inline(
        'see [the docs](https://x.dev/a_b_c "Docs"), <https://y.dev>, [https://z.dev](https://z.dev)',
        MARKED,
      ),
    ).toBe("see the docs (https://x.dev/a_b_c), https://y.dev, https://z.dev");
  });

  it("shows an image by its alt text and url", () => {
    expect(inline("![build status](https://b.dev/badge.svg) ![](https://b.dev/x.png)", MARKED)).toBe(
      "build status (https://b.dev/badge.svg) https://b.dev/x.png",
    );
  });

  it("never formats inside code spans or urls, and honours backslash escapes", () => {
    expect(inline("`**x** <b>` [a](https://h/*x*) \\*not italic\\* snake_case_name", MARKED)).toBe(
      "<C>**x** <b></C> a (https://h/*x*) *not italic* snake_case_name",
    );
  });

  it("keeps entities written as text, e.g. an escaped tag, from being stripped", () => {
    expect(inline("&lt;b&gt; is a tag", PLAIN_MARKDOWN_STYLE)).toBe("<b> is a tag");
  });
});
