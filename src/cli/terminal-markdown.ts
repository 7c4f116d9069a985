/**
 * Step summaries (`$GITHUB_STEP_SUMMARY`, GitHub-flavoured markdown) rendered for a terminal. No
 * markdown parser is installed, so this is a compact renderer for what summaries actually hold:
 * headings, paragraphs, lists (task lists too), block quotes, fenced code, tables, rules, emphasis,
 * code spans, links and images; HTML tags are stripped and entities decoded. It is line-based and
 * forgiving: text it does not understand is shown as written, never dropped.
 */
import { visibleWidth } from "./style.js";

export interface MarkdownStyle {
  readonly bold: (s: string) => string;
  readonly italic: (s: string) => string;
  readonly code: (s: string) => string;
  readonly dim: (s: string) => string;
}

export const PLAIN_MARKDOWN_STYLE: MarkdownStyle = {
  bold: (s) => s,
  italic: (s) => s,
  code: (s) => s,
  dim: (s) => s,
};

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const BLOCK_QUOTE = /^ {0,3}>[ \t]?(.*)$/;
const LIST_ITEM = /^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const TASK = /^\[([ xX])\][ \t]+(.*)$/;
const TABLE_DELIMITER = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const HTML_TAG = /<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g;
const RULE_WIDTH = 40;

type Alignment = "left" | "right" | "center";

/** The rendered lines, without trailing blank lines. */
export function renderMarkdown(markdown: string, style: MarkdownStyle): string[] {
  const lines = withoutHtmlComments(markdown.replace(/\r\n?/g, "\n")).split("\n");
  const out: string[] = [];
  const push = (line: string): void => {
    // One blank line at most between blocks, and none at the start.
    if (line.trim() === "" && (out.length === 0 || out[out.length - 1] === "")) return;
    out.push(line.trim() === "" ? "" : line);
  };
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (fence !== undefined) {
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, "") === "") fence = undefined;
      else out.push("    " + line);
      continue;
    }
    const opening = FENCE.exec(line);
    if (opening) {
      fence = opening[1] as string;
      continue;
    }
    if (line.trim() === "") {
      push("");
      continue;
    }
    const heading = ATX_HEADING.exec(line);
    if (heading) {
      push(style.bold(inline(heading[2] ?? "", style)));
      continue;
    }
    if (RULE.test(line)) {
      push(style.dim("─".repeat(RULE_WIDTH)));
      continue;
    }
    const next = lines[i + 1];
    if (next !== undefined && line.includes("|") && TABLE_DELIMITER.test(next) && next.includes("-")) {
      const header = tableCells(line);
      const alignments = tableCells(next).map(alignmentOf);
      if (alignments.length === header.length || line.trim().startsWith("|")) {
        const rows: string[][] = [];
        let j = i + 2;
        for (; j < lines.length; j++) {
          const row = lines[j] as string;
          if (row.trim() === "" || !row.includes("|")) break;
          rows.push(tableCells(row));
        }
        for (const rendered of renderTable(header, alignments, rows, style)) push(rendered);
        i = j - 1;
        continue;
      }
    }
    const quote = BLOCK_QUOTE.exec(line);
    if (quote) {
      push(style.dim("│ ") + inline(stripQuoteMarkers(quote[1] ?? ""), style));
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item && !(item[1] === "" && RULE.test(line))) {
      const indent = (item[1] ?? "").replace(/\t/g, "    ");
      const marker = /^\d/.test(item[2] ?? "") ? (item[2] as string) : "•";
      const task = TASK.exec(item[3] ?? "");
      const text = task ? `${task[1] === " " ? "☐" : "☑"} ${task[2] ?? ""}` : (item[3] ?? "");
      push(`${indent}${marker} ${inline(text, style)}`);
      continue;
    }
    if (next !== undefined && SETEXT_UNDERLINE.test(next) && !LIST_ITEM.test(line)) {
      push(style.bold(inline(line.trim(), style)));
      i++;
      continue;
    }
    const text = inline(line.trimEnd(), style);
    // A line that held only HTML tags (`<details>`, `</p>`) leaves nothing worth a line.
    if (text.trim() === "" && line.trim().startsWith("<")) continue;
    push(text);
  }
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out;
}

function withoutHtmlComments(text: string): string {
  return text.replace(/<!--[\s\S]*?(?:-->|$)/g, "");
}

function stripQuoteMarkers(text: string): string {
  return text.replace(/^(?:[ \t]*>[ \t]?)+/, "");
}

/** Cells of a table row: outer pipes dropped, split on pipes that are not escaped. */
function tableCells(row: string): string[] {
  let text = row.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  const cells: string[] = [];
  let cell = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "\\" && text[i + 1] === "|") {
      cell += "|";
      i++;
    } else if (c === "|") {
      cells.push(cell.trim());
      cell = "";
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

function alignmentOf(delimiter: string): Alignment {
  const left = delimiter.startsWith(":");
  const right = delimiter.endsWith(":");
  return left && right ? "center" : right ? "right" : "left";
}

function renderTable(
  header: readonly string[],
  alignments: readonly Alignment[],
  rows: readonly (readonly string[])[],
  style: MarkdownStyle,
): string[] {
  const columns = header.length;
  const cellsOf = (row: readonly string[]): string[] =>
    Array.from({ length: columns }, (_, i) => inline(row[i] ?? "", style));
  const head = cellsOf(header).map((cell) => style.bold(cell));
  const body = rows.map(cellsOf);
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(1, ...[head, ...body].map((row) => visibleWidth(row[i] ?? ""))),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => align(cell, widths[i] ?? 0, alignments[i] ?? "left"))
      .join("  ")
      .trimEnd();
  return [line(head), style.dim(widths.map((w) => "─".repeat(w)).join("  ")), ...body.map(line)];
}

function align(cell: string, width: number, alignment: Alignment): string {
  const gap = width - visibleWidth(cell);
  if (gap <= 0) return cell;
  if (alignment === "right") return " ".repeat(gap) + cell;
  if (alignment === "center") {
    const before = Math.floor(gap / 2);
    return " ".repeat(before) + cell + " ".repeat(gap - before);
  }
  return cell + " ".repeat(gap);
}

/**
 * Inline markdown. Code spans, link targets and escaped characters are set aside as placeholders
 * first, so that emphasis and tag stripping never reach into them, and put back at the end.
 */
export function inline(text: string, style: MarkdownStyle): string {
  const kept: string[] = [];
  const keep = (s: string): string => `\uE000${kept.push(s) - 1}\uE001`;
  let s = text
    .replace(/\\([!-/:-@[-`{-~])/g, (_, c: string) => keep(c))
    .replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_, _ticks: string, code: string) =>
      keep(
        style.code(code.length > 2 && code.startsWith(" ") && code.endsWith(" ") ? code.slice(1, -1) : code),
      ),
    )
    .replace(/<((?:https?|mailto):[^<>\s]+)>/g, (_, url: string) => keep(url))
    .replace(/!\[([^\]]*)\]\(<?([^)\s>]*)>?(?:\s+"[^"]*")?\)/g, (_, alt: string, url: string) =>
      alt ? `${alt} (${keep(url)})` : keep(url),
    )
    .replace(/\[([^\]]+)\]\(<?([^)\s>]*)>?(?:\s+"[^"]*")?\)/g, (_, label: string, url: string) =>
      label === url || url === "" ? (url === "" ? label : keep(url)) : `${label} (${keep(url)})`,
    )
    .replace(/<br\s*\/?>/gi, " ")
    .replace(HTML_TAG, "");
  s = decodeEntities(s)
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__/g, (_, a?: string, b?: string) =>
      style.bold(a ?? b ?? ""),
    )
    .replace(
      /(^|[^\w*])\*(?=[^\s*])([^*]*?[^\s*])\*(?![\w*])/g,
      (_, before: string, t: string) => before + style.italic(t),
    )
    .replace(
      /(^|[^\w_])_(?=[^\s_])([^_]*?[^\s_])_(?![\w_])/g,
      (_, before: string, t: string) => before + style.italic(t),
    )
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, (_, t: string) => style.dim(t));
  // Placeholders may nest (a code span kept inside a link label), so restore until none is left.
  for (let round = 0; round < 3 && s.includes("\uE000"); round++)
    s = s.replace(/\uE000(\d+)\uE001/g, (_, n: string) => kept[Number(n)] ?? "");
  return s;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  ndash: "–",
  mdash: "—",
  hellip: "…",
  copy: "©",
  check: "✓",
  cross: "✗",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[A-Za-z]{2,8});/g, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code =
        name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[name] ?? whole;
  });
}
