/**
 * A fast reader for the plain YAML that workflow files are written in: block mappings and
 * sequences, one-line flow collections, one-line plain and quoted scalars, literal and folded block
 * scalars, comments. It gives the events the `yaml` package's document would give, with the same
 * values and the same source ranges (offsets, as `yaml`'s `range` holds them), in a fraction of the
 * time, because it never builds a concrete syntax tree.
 *
 * Anything outside that subset (anchors, aliases, tags, multi-line plain or quoted scalars,
 * multi-line flow collections, complex keys, tabs, several documents, comments where `yaml` gives a
 * collection an end of its own) makes it give up with `undefined`, and the caller reads the file
 * with `yaml` instead: a syntax error, too, is always reported by `yaml`. `plain-yaml.test.ts`
 * compares the two on every workflow of the repository and on generated documents.
 */

export const enum PlainEventKind {
  Scalar,
  Key,
  SequenceStart,
  SequenceEnd,
  MappingStart,
  MappingEnd,
}

export type PlainValue = string | number | boolean | null;

export interface PlainEvent {
  readonly kind: PlainEventKind;
  /** Offsets of the node's start and of the end of its value (`yaml`'s `range[0]` and `range[1]`). */
  start: number;
  end: number;
  /** Scalars and keys: the value, typed by YAML 1.2's core schema. */
  readonly value?: PlainValue;
  /** String scalars: the source text (`yaml`'s source token), and a block scalar's header. */
  readonly source?: string;
  readonly header?: string;
}

/** The events of `text`, or undefined when it is not in the plain subset. */
export function readPlainYaml(text: string): PlainEvent[] | undefined {
  if (/[\t\r\uFEFF]/.test(text)) return undefined;
  try {
    return new PlainYamlReader(text).read();
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

/** Thrown inside the reader to abandon it; never escapes `readPlainYaml`. */
const GIVE_UP = Symbol("not plain YAML");

function giveUp(): never {
  throw GIVE_UP;
}

interface Line {
  /** Offsets of its first character and of its end (its newline, or the end of the text). */
  readonly start: number;
  readonly end: number;
  /** Leading spaces. */
  readonly indent: number;
  /** Only spaces. */
  readonly blank: boolean;
  /** A comment and nothing else. */
  readonly comment: boolean;
}

/** `yaml`'s three offsets of a node: start, end of the value, end of the node with what trails it. */
interface NodeRange {
  readonly start: number;
  readonly valueEnd: number;
  readonly nodeEnd: number;
}

const SPACE = 32;
const HASH = 35;
const DASH = 45;

class PlainYamlReader {
  private readonly lines: Line[] = [];
  private readonly events: PlainEvent[] = [];
  /** The next line to read. */
  private at = 0;

  constructor(private readonly text: string) {
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      let indent = 0;
      while (text.charCodeAt(start + indent) === SPACE) indent++;
      const blank = start + indent === end;
      this.lines.push({
        start,
        end,
        indent,
        blank,
        comment: !blank && text.charCodeAt(start + indent) === HASH,
      });
      start = end + 1;
    }
  }

  read(): PlainEvent[] {
    const first = this.nextContent(0);
    if (first === undefined) giveUp();
    const line = this.line(first);
    const head = this.text.slice(line.start, line.start + 3);
    if (line.indent !== 0 || head === "---" || head === "..." || head.startsWith("%")) giveUp();
    this.at = first;
    if (this.isSequenceItem(first, 0)) this.blockSequence(0);
    else this.blockMapping(0, line.start);
    // Whatever remains must be trivia; a comment at the end belongs to a collection in `yaml`.
    for (let i = this.at; i < this.lines.length; i++) if (!this.line(i).blank) giveUp();
    return this.events;
  }

  private line(index: number): Line {
    const line = this.lines[index];
    if (line === undefined) giveUp();
    return line;
  }

  /** The first line from `from` that is neither blank nor a comment. */
  private nextContent(from: number): number | undefined {
    for (let i = from; i < this.lines.length; i++) {
      const line = this.line(i);
      if (!line.blank && !line.comment) return i;
    }
    return undefined;
  }

  private hasCommentBetween(from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (this.line(i).comment) return true;
    return false;
  }

  private isSequenceItem(lineIndex: number, indent: number): boolean {
    const line = this.line(lineIndex);
    if (line.indent !== indent) return false;
    const at = line.start + indent;
    if (this.text.charCodeAt(at) !== DASH) return false;
    return at + 1 === line.end || this.text.charCodeAt(at + 1) === SPACE;
  }

  /**
   * Where the collection at `indent` whose last item ended on the line before `this.at` goes on:
   * the line of its next item, or undefined when it ends. A compact sequence (one at its mapping
   * key's indentation) also ends at a line of that indentation that is not an item. Gives up where
   * `yaml` would read more, or would give the collection another end.
   */
  private continuation(
    indent: number,
    isItem: (lineIndex: number) => boolean,
    compact = false,
  ): number | undefined {
    const next = this.nextContent(this.at);
    if (next === undefined || this.line(next).indent < indent || (compact && !isItem(next))) {
      // Comments after a collection's last item become part of that collection in `yaml`.
      if (this.hasCommentBetween(this.at, next ?? this.lines.length)) giveUp();
      return undefined;
    }
    // More indented: a multi-line scalar, or an error.
    if (this.line(next).indent > indent || !isItem(next)) giveUp();
    return next;
  }

  private blockMapping(indent: number, firstKey: number): NodeRange {
    const index = this.open(PlainEventKind.MappingStart);
    let keyAt = firstKey;
    let last: NodeRange;
    for (;;) {
      const afterColon = this.key(keyAt, this.at);
      last = this.mappingValue(indent, afterColon);
      const next = this.continuation(indent, (i) => !this.isSequenceItem(i, indent));
      if (next === undefined) break;
      this.at = next;
      keyAt = this.line(next).start + indent;
    }
    return this.close(index, PlainEventKind.MappingEnd, firstKey, last.nodeEnd);
  }

  private blockSequence(indent: number, compact = false): NodeRange {
    const index = this.open(PlainEventKind.SequenceStart);
    const first = this.line(this.at).start + indent;
    let last: NodeRange;
    for (;;) {
      last = this.sequenceItem(indent, compact);
      const next = this.continuation(indent, (i) => this.isSequenceItem(i, indent), compact);
      if (next === undefined) break;
      this.at = next;
    }
    return this.close(index, PlainEventKind.SequenceEnd, first, last.nodeEnd);
  }

  private open(kind: PlainEventKind): number {
    this.events.push({ kind, start: 0, end: 0 });
    return this.events.length - 1;
  }

  private close(index: number, kind: PlainEventKind, start: number, end: number): NodeRange {
    const event = this.events[index];
    if (event === undefined) giveUp();
    event.start = start;
    event.end = end;
    this.events.push({ kind, start, end });
    return { start, valueEnd: end, nodeEnd: end };
  }

  /** Reads a plain key at `at` on line `lineIndex`, records it, and gives the offset after its colon. */
  private key(at: number, lineIndex: number): number {
    const colon = this.keyColon(at, this.line(lineIndex).end);
    if (colon === undefined) giveUp();
    const source = this.text.slice(at, colon);
    this.events.push({ kind: PlainEventKind.Key, start: at, end: colon, value: resolvePlain(source) });
    return colon + 1;
  }

  /** Where the colon of a plain key at `at` is, or undefined when the line has no key there. */
  private keyColon(at: number, lineEnd: number): number | undefined {
    const match = PLAIN_KEY.exec(this.text.slice(at, lineEnd));
    return match === null ? undefined : at + (match[1] ?? giveUp()).length;
  }

  /** The value after a mapping key whose colon ends at `afterColon`; the mapping is at `indent`. */
  private mappingValue(indent: number, afterColon: number): NodeRange {
    const line = this.line(this.at);
    const at = this.skipSpaces(afterColon, line.end);
    if (at < line.end && this.text.charCodeAt(at) !== HASH) return this.inlineValue(at, indent);
    const next = this.nextContent(this.at + 1);
    if (next !== undefined) {
      const nextLine = this.line(next);
      if (nextLine.indent > indent) {
        this.at = next;
        return this.blockNode(nextLine.indent);
      }
      if (this.isSequenceItem(next, indent)) {
        this.at = next;
        return this.blockSequence(indent, true);
      }
    }
    return this.emptyValue(at, line, indent, "mapping");
  }

  private sequenceItem(indent: number, compact: boolean): NodeRange {
    const line = this.line(this.at);
    const at = this.skipSpaces(line.start + indent + 1, line.end);
    if (at === line.end || this.text.charCodeAt(at) === HASH) {
      const next = this.nextContent(this.at + 1);
      if (next !== undefined && this.line(next).indent > indent) {
        this.at = next;
        return this.blockNode(this.line(next).indent);
      }
      return this.emptyValue(at, line, indent, compact ? "compact" : "sequence");
    }
    const code = this.text.charCodeAt(at);
    if (code === DASH && (at + 1 === line.end || this.text.charCodeAt(at + 1) === SPACE)) giveUp();
    if (this.keyColon(at, line.end) !== undefined) return this.blockMapping(at - line.start, at);
    return this.inlineValue(at, indent);
  }

  /** A block mapping or sequence starting on line `this.at` at `indent`. */
  private blockNode(indent: number): NodeRange {
    if (this.isSequenceItem(this.at, indent)) return this.blockSequence(indent);
    return this.blockMapping(indent, this.line(this.at).start + indent);
  }

  /**
   * A null value: `yaml` puts it after the indicator and its spaces. Where the node ends in `yaml`
   * depends on what follows; this reader takes the plain cases: no spaces after the indicator; a
   * comment only when the next line is the collection's next item; otherwise the next line with
   * text is the next item or, for a mapping's last value, a line less indented.
   */
  private emptyValue(
    at: number,
    line: Line,
    indent: number,
    kind: "mapping" | "sequence" | "compact",
  ): NodeRange {
    const commented = at < line.end;
    if (!commented && this.text.charCodeAt(at - 1) === SPACE) giveUp();
    const following = commented ? this.at + 1 : this.nextNonBlank(this.at + 1);
    const next = this.lines[following];
    if (next === undefined || next.blank || next.comment) giveUp();
    const dedent = next.indent < indent && !commented && kind === "mapping";
    if (
      !dedent &&
      (next.indent !== indent || this.isSequenceItem(following, indent) !== (kind !== "mapping"))
    ) {
      giveUp();
    }
    this.events.push({ kind: PlainEventKind.Scalar, start: at, end: at, value: null });
    this.at++;
    const nodeEnd = commented ? this.afterLine(line) : at;
    return { start: at, valueEnd: at, nodeEnd };
  }

  private nextNonBlank(from: number): number {
    let i = from;
    while (i < this.lines.length && this.line(i).blank) i++;
    return i;
  }

  private afterLine(line: Line): number {
    return line.end < this.text.length ? line.end + 1 : line.end;
  }

  private skipSpaces(at: number, end: number): number {
    while (at < end && this.text.charCodeAt(at) === SPACE) at++;
    return at;
  }

  /** The rest of the line after a value ending at `at`: spaces, then a comment or nothing. */
  private endOfLine(at: number, line: Line): void {
    const rest = this.skipSpaces(at, line.end);
    if (rest === line.end) return;
    if (this.text.charCodeAt(rest) !== HASH || rest === at) giveUp();
  }

  /** A value that starts on the current line at `at`, in a collection at `indent`. */
  private inlineValue(at: number, indent: number): NodeRange {
    const line = this.line(this.at);
    const first = this.text[at];
    if (first === "|" || first === ">") return this.blockScalar(at, indent);
    let valueEnd: number;
    if (first === "[" || first === "{") {
      valueEnd = this.flowCollection(at, line.end);
    } else if (first === '"' || first === "'") {
      valueEnd = this.quoted(at, line.end);
    } else {
      valueEnd = this.plain(at, line.end);
    }
    this.endOfLine(valueEnd, line);
    this.at++;
    return { start: at, valueEnd, nodeEnd: this.afterLine(line) };
  }

  /** A one-line plain scalar of block context; gives the end of its value. */
  private plain(at: number, lineEnd: number): number {
    if (!startsPlain(this.text, at, lineEnd)) giveUp();
    let end = this.text.indexOf(" #", at);
    if (end === -1 || end > lineEnd) end = lineEnd;
    while (this.text.charCodeAt(end - 1) === SPACE) end--;
    const source = this.text.slice(at, end);
    // `a: b: c` and `a: b:` are errors; a colon before a space or the end starts a mapping.
    if (source.includes(": ") || source.endsWith(":")) giveUp();
    this.scalar(at, end, resolvePlain(source), source);
    return end;
  }

  private scalar(start: number, end: number, value: PlainValue, source: string, header?: string): void {
    const stringSource = typeof value === "string" ? source : undefined;
    this.events.push({ kind: PlainEventKind.Scalar, start, end, value, source: stringSource, header });
  }

  /** A one-line single- or double-quoted scalar; gives the offset after its closing quote. */
  private quoted(at: number, lineEnd: number): number {
    const quote = this.text[at];
    let value = "";
    let i = at + 1;
    for (;;) {
      if (i >= lineEnd) giveUp();
      const c = this.text[i];
      if (c === quote) {
        if (quote === "'" && this.text[i + 1] === "'") {
          value += "'";
          i += 2;
          continue;
        }
        break;
      }
      if (c === "\\" && quote === '"') {
        const escaped = DOUBLE_QUOTED_ESCAPES[this.text.charAt(i + 1)];
        if (escaped === undefined) giveUp();
        value += escaped;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    const end = i + 1;
    this.scalar(at, end, value, this.text.slice(at, end));
    return end;
  }

  /** A flow sequence or mapping that closes on the same line; gives the offset after it. */
  private flowCollection(at: number, lineEnd: number): number {
    const sequence = this.text[at] === "[";
    const closing = sequence ? "]" : "}";
    const index = this.open(sequence ? PlainEventKind.SequenceStart : PlainEventKind.MappingStart);
    let i = this.skipSpaces(at + 1, lineEnd);
    if (this.text[i] !== closing) {
      for (;;) {
        if (!sequence) {
          const colon = this.flowKeyColon(i, lineEnd);
          this.events.push({
            kind: PlainEventKind.Key,
            start: i,
            end: colon,
            value: resolvePlain(this.text.slice(i, colon)),
          });
          i = this.skipSpaces(colon + 1, lineEnd);
        }
        i = this.skipSpaces(this.flowItem(i, lineEnd), lineEnd);
        if (this.text[i] === ",") {
          i = this.skipSpaces(i + 1, lineEnd);
          // A trailing comma, an empty entry, or the end of the line.
          if (i >= lineEnd || this.text[i] === "," || this.text[i] === closing) giveUp();
          continue;
        }
        if (this.text[i] !== closing) giveUp();
        break;
      }
    }
    const end = i + 1;
    this.close(index, sequence ? PlainEventKind.SequenceEnd : PlainEventKind.MappingEnd, at, end);
    return end;
  }

  /** The colon after a plain key of a flow mapping at `at`. */
  private flowKeyColon(at: number, lineEnd: number): number {
    const match = FLOW_KEY.exec(this.text.slice(at, lineEnd));
    if (match === null) giveUp();
    return at + (match[1] ?? giveUp()).length;
  }

  /** One entry of a flow collection; gives the offset after it. */
  private flowItem(at: number, lineEnd: number): number {
    const first = this.text[at];
    if (first === "[" || first === "{") return this.flowCollection(at, lineEnd);
    if (first === '"' || first === "'") return this.quoted(at, lineEnd);
    const match = FLOW_PLAIN.exec(this.text.slice(at, lineEnd));
    if (match === null) giveUp();
    const source = match[0].trimEnd();
    const end = at + source.length;
    this.scalar(at, end, resolvePlain(source), source);
    return end;
  }

  /** A literal (`|`) or folded (`>`) block scalar whose header is at `at`; its parent is at `indent`. */
  private blockScalar(at: number, indent: number): NodeRange {
    const headerLine = this.line(this.at);
    const match = BLOCK_HEADER.exec(this.text.slice(at, headerLine.end));
    if (match === null) giveUp();
    const header = match[1] ?? giveUp();
    // The body: the lines after the header more indented than the parent, up to the last one with text.
    let contentIndent = -1;
    let last = -1;
    for (let i = this.at + 1; i < this.lines.length; i++) {
      const line = this.line(i);
      if (line.blank) {
        // Blank lines with more spaces than the indentation are errors before the content and
        // keep spaces inside it: both are left to `yaml`.
        if (line.end - line.start > (contentIndent === -1 ? indent : contentIndent)) giveUp();
        continue;
      }
      if (contentIndent === -1) {
        if (line.indent <= indent) break;
        contentIndent = line.indent;
      } else if (line.indent < contentIndent) {
        break;
      }
      last = i;
    }
    if (last === -1) giveUp();
    const lastLine = this.line(last);
    if (lastLine.end === this.text.length) giveUp();
    const bodyStart = this.line(this.at + 1).start;
    const bodyEnd = lastLine.end + 1;
    const texts: (string | undefined)[] = [];
    for (let i = this.at + 1; i <= last; i++) {
      const line = this.line(i);
      texts.push(line.blank ? undefined : this.text.slice(line.start + contentIndent, line.end));
    }
    const value = header[0] === "|" ? literalValue(texts) : foldedValue(texts);
    const chomped = header.endsWith("-") ? value : value + "\n";
    this.scalar(at, bodyEnd, chomped, this.text.slice(bodyStart, bodyEnd), header);
    this.at = last + 1;
    return { start: at, valueEnd: bodyEnd, nodeEnd: bodyEnd };
  }
}

/** A plain key of block context, up to its colon (followed by a space or the end of the line). */
const PLAIN_KEY = /^([A-Za-z0-9_$][A-Za-z0-9_$.\-/ ()]*[A-Za-z0-9_$.\-/()]|[A-Za-z0-9_$]):(?: |$)/;
/** A plain key of a flow mapping, up to its colon (followed by a space). */
const FLOW_KEY = /^([A-Za-z0-9_$][A-Za-z0-9_$.\-/]*):(?= )/;
/** A plain scalar of flow context: no indicators, no colons, no comments. */
const FLOW_PLAIN = /^(?:[A-Za-z0-9_$.~/+=()]|-(?=[^ ,\]}]))[^,[\]{}:#"']*/;
/** A block scalar header without an indentation indicator, then spaces and maybe a comment. */
const BLOCK_HEADER = /^([|>]-?)(?: *| +#.*)$/;

/** Characters that cannot start a plain scalar (some could when followed by text: left to `yaml`). */
const NOT_PLAIN_START = new Set("-?:,[]{}#&*!|>'\"%@`");

function startsPlain(text: string, at: number, lineEnd: number): boolean {
  if (at >= lineEnd) return false;
  const first = text.charAt(at);
  if (!NOT_PLAIN_START.has(first)) return true;
  // `-1`, `-x`: a dash before text starts a plain scalar.
  return first === "-" && at + 1 < lineEnd && text[at + 1] !== " ";
}

const DOUBLE_QUOTED_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  '"': '"',
  "/": "/",
  n: "\n",
  t: "\t",
  r: "\r",
  "0": "\0",
  a: "\x07",
  b: "\b",
  e: "\x1b",
  f: "\f",
  v: "\v",
  " ": " ",
};

function literalValue(lines: readonly (string | undefined)[]): string {
  return lines.map((l) => l ?? "").join("\n");
}

function foldedValue(lines: readonly (string | undefined)[]): string {
  let value = "";
  let breaks = 0;
  let started = false;
  for (const line of lines) {
    if (line === undefined) {
      breaks++;
      continue;
    }
    // A more-indented line keeps its line breaks: folding around it is left to `yaml`.
    if (line.startsWith(" ")) giveUp();
    if (started) value += breaks === 0 ? " " : "\n".repeat(breaks);
    else value += "\n".repeat(breaks);
    value += line;
    breaks = 0;
    started = true;
  }
  return value;
}

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOLEAN = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const OCTAL = /^0o[0-7]+$/;
const INTEGER = /^[-+]?[0-9]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const SPECIAL_FLOAT = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** A plain scalar's value under YAML 1.2's core schema, as `yaml` resolves it. */
export function resolvePlain(source: string): PlainValue {
  if (NULL.test(source)) return null;
  if (BOOLEAN.test(source)) return source[0] === "t" || source[0] === "T";
  if (OCTAL.test(source)) return parseInt(source.slice(2), 8);
  if (INTEGER.test(source)) return parseInt(source, 10);
  if (HEX.test(source)) return parseInt(source.slice(2), 16);
  if (SPECIAL_FLOAT.test(source)) {
    if (source.endsWith("nan") || source.endsWith("NaN") || source.endsWith("NAN")) return NaN;
    return source.startsWith("-") ? -Infinity : Infinity;
  }
  if (FLOAT.test(source)) return parseFloat(source);
  return source;
}
