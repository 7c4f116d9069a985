/**
 * GitHub's workflow parser, fed by a faster reader of the YAML document.
 *
 * `parseWorkflow` from `@actions/workflow-parser` parses YAML with the `yaml` package and hands
 * the document to its template reader through `YamlObjectReader`, which walks the document with
 * nested generators: every event passes through one generator per level of nesting. This reader
 * makes the same events from the same `yaml` document (same options, same ranges, same tokens, same
 * alias handling) into an array first, and the template reader (GitHub's, with GitHub's schema)
 * does the rest exactly as `parseWorkflow` does. `yaml-reader.test.ts` compares the two.
 */
import {
  isAlias,
  isCollection,
  isDocument,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
} from "yaml";
import type { Scalar } from "yaml";
import type { ObjectReader } from "@actions/workflow-parser/templates/object-reader";
import type { TemplateContext } from "@actions/workflow-parser/templates/template-context";
import { readTemplate } from "@actions/workflow-parser/templates/template-reader";
import {
  BooleanToken,
  MappingToken,
  NullToken,
  NumberToken,
  SequenceToken,
  StringToken,
} from "@actions/workflow-parser/templates/tokens/index";
import type { LiteralToken, TemplateToken } from "@actions/workflow-parser/templates/tokens/index";
import type { TokenRange } from "@actions/workflow-parser/templates/tokens/token-range";
import { PlainEventKind, readPlainYaml } from "./plain-yaml.js";
import type { PlainEvent } from "./plain-yaml.js";

/** The workflow schema's root definition, as `parseWorkflow` reads it. */
const WORKFLOW_ROOT = "workflow-root-strict";

const enum EventKind {
  Literal,
  SequenceStart,
  SequenceEnd,
  MappingStart,
  MappingEnd,
  DocumentStart,
  DocumentEnd,
}

interface ReadEvent {
  readonly kind: EventKind;
  readonly token?: TemplateToken;
}

const SEQUENCE_END: ReadEvent = { kind: EventKind.SequenceEnd };
const MAPPING_END: ReadEvent = { kind: EventKind.MappingEnd };
const DOCUMENT_START: ReadEvent = { kind: EventKind.DocumentStart };
const DOCUMENT_END: ReadEvent = { kind: EventKind.DocumentEnd };

interface YamlError {
  readonly message: string;
  readonly range: TokenRange | undefined;
}

/** The parser's `YamlObjectReader`, with the document's events listed up front. */
class ListedYamlObjectReader implements ObjectReader {
  readonly errors: YamlError[] = [];
  private readonly events: ReadEvent[] = [];
  private next = 0;
  private failure: { readonly at: number; readonly error: unknown } | undefined;
  private readonly lineCounter = new LineCounter();

  constructor(
    private readonly fileId: number | undefined,
    content: string,
  ) {
    // Most workflow files are plain YAML, which a reader of its own reads several times faster;
    // `yaml` reads the rest (and reports every syntax error).
    const plain = readPlainYaml(content);
    if (plain !== undefined) {
      this.listPlain(plain, content);
      return;
    }
    const doc = parseDocument(content, {
      lineCounter: this.lineCounter,
      keepSourceTokens: true,
      uniqueKeys: false, // the template reader reports duplicate keys
    });
    for (const err of doc.errors) this.errors.push({ message: err.message, range: rangeOf(err.linePos) });
    // As the parser does: a document with YAML errors is not read at all.
    if (this.errors.length === 0) {
      try {
        this.list(doc, new Set(), doc);
      } catch (err) {
        // The parser's reader fails when it reaches this point, inside the template reader,
        // which reports the failure as an error of the file: fail at the same event.
        this.failure = { at: this.events.length, error: err };
      }
    }
  }

  private list(node: unknown, aliases: ReadonlySet<unknown>, doc: ReturnType<typeof parseDocument>): void {
    if (isDocument(node)) {
      this.events.push(DOCUMENT_START);
      this.list(node.contents, new Set(), doc);
      this.events.push(DOCUMENT_END);
      return;
    }
    if (isCollection(node)) {
      const range = this.rangeOfNode(node);
      const seq = isSeq(node);
      if (seq)
        this.events.push({
          kind: EventKind.SequenceStart,
          token: new SequenceToken(this.fileId, range, undefined),
        });
      else if (isMap(node)) {
        this.events.push({
          kind: EventKind.MappingStart,
          token: new MappingToken(this.fileId, range, undefined),
        });
      }
      for (const item of node.items) this.list(item, aliases, doc);
      if (seq) this.events.push(SEQUENCE_END);
      else if (isMap(node)) this.events.push(MAPPING_END);
      return;
    }
    if (isScalar(node)) {
      this.events.push({ kind: EventKind.Literal, token: this.literal(node) });
      return;
    }
    if (isAlias(node)) {
      const resolved = node.resolve(doc);
      // A circular alias is left out, as the parser does; what is missing then fails validation.
      if (resolved && !aliases.has(resolved)) this.list(resolved, new Set([...aliases, resolved]), doc);
      return;
    }
    if (isPair(node)) {
      // The parser reads every key as a scalar's value (a key that is not one fails the same way).
      const key = node.key as Scalar;
      const token = new StringToken(this.fileId, this.rangeOfNode(key), key.value as string, undefined);
      this.events.push({ kind: EventKind.Literal, token });
      this.list(node.value, aliases, doc);
    }
  }

  private listPlain(events: readonly PlainEvent[], content: string): void {
    const position = positionsIn(content);
    this.events.push(DOCUMENT_START);
    for (const event of events) {
      const range: TokenRange = { start: position(event.start), end: position(event.end) };
      switch (event.kind) {
        case PlainEventKind.MappingStart:
          this.events.push({
            kind: EventKind.MappingStart,
            token: new MappingToken(this.fileId, range, undefined),
          });
          break;
        case PlainEventKind.MappingEnd:
          this.events.push(MAPPING_END);
          break;
        case PlainEventKind.SequenceStart:
          this.events.push({
            kind: EventKind.SequenceStart,
            token: new SequenceToken(this.fileId, range, undefined),
          });
          break;
        case PlainEventKind.SequenceEnd:
          this.events.push(SEQUENCE_END);
          break;
        case PlainEventKind.Key:
          // As for `yaml`'s keys: the value as it resolved, whatever its type.
          this.events.push({
            kind: EventKind.Literal,
            token: new StringToken(this.fileId, range, event.value as string, undefined),
          });
          break;
        case PlainEventKind.Scalar:
          this.events.push({ kind: EventKind.Literal, token: this.plainLiteral(event, range) });
          break;
      }
    }
    this.events.push(DOCUMENT_END);
  }

  private plainLiteral(event: PlainEvent, range: TokenRange): LiteralToken {
    const value = event.value;
    if (value === null || value === undefined) return new NullToken(this.fileId, range, undefined);
    if (typeof value === "number") return new NumberToken(this.fileId, range, value, undefined);
    if (typeof value === "boolean") return new BooleanToken(this.fileId, range, value, undefined);
    return new StringToken(this.fileId, range, value, undefined, event.source, event.header);
  }

  private rangeOfNode(node: { range?: [number, number, number] | null } | null): TokenRange | undefined {
    const range = node?.range;
    if (range?.[0] === undefined || range[1] === undefined) return undefined;
    const start = this.lineCounter.linePos(range[0]);
    const end = this.lineCounter.linePos(range[1]);
    return { start: { line: start.line, column: start.col }, end: { line: end.line, column: end.col } };
  }

  private literal(node: Scalar): LiteralToken {
    const range = this.rangeOfNode(node);
    const value = node.value;
    if (value === null || value === undefined) return new NullToken(this.fileId, range, undefined);
    switch (typeof value) {
      case "number":
        return new NumberToken(this.fileId, range, value, undefined);
      case "boolean":
        return new BooleanToken(this.fileId, range, value, undefined);
      case "string": {
        const source = node.srcToken && "source" in node.srcToken ? node.srcToken.source : undefined;
        let blockScalarHeader: string | undefined;
        if (node.srcToken?.type === "block-scalar") {
          const header = node.srcToken.props.find((p) => p.type === "block-scalar-header");
          if (header && "source" in header && header.source) blockScalarHeader = header.source;
        }
        return new StringToken(this.fileId, range, value, undefined, source, blockScalarHeader);
      }
      default:
        throw new Error(`Unexpected value type '${typeof value}' when reading object`);
    }
  }

  /**
   * The next event when it is of `kind`. Like the parser's reader, reading an event also prepares
   * the one after it, so a failure surfaces while the event before it is read.
   */
  private take(kind: EventKind): ReadEvent | undefined {
    this.failAt(this.next);
    const event = this.events[this.next];
    if (event?.kind !== kind) return undefined;
    this.next++;
    this.failAt(this.next);
    return event;
  }

  private failAt(index: number): void {
    if (this.failure?.at === index) throw this.failure.error;
  }

  allowLiteral(): LiteralToken | undefined {
    return this.take(EventKind.Literal)?.token as LiteralToken | undefined;
  }
  allowSequenceStart(): SequenceToken | undefined {
    return this.take(EventKind.SequenceStart)?.token as SequenceToken | undefined;
  }
  allowSequenceEnd(): boolean {
    return this.take(EventKind.SequenceEnd) !== undefined;
  }
  allowMappingStart(): MappingToken | undefined {
    return this.take(EventKind.MappingStart)?.token as MappingToken | undefined;
  }
  allowMappingEnd(): boolean {
    return this.take(EventKind.MappingEnd) !== undefined;
  }
  validateStart(): void {
    if (this.take(EventKind.DocumentStart) === undefined) throw new Error("Expected start of reader");
  }
  validateEnd(): void {
    if (this.take(EventKind.DocumentEnd) === undefined) throw new Error("Expected end of reader");
  }
}

function rangeOf(
  linePos:
    | [{ line: number; col: number }]
    | [{ line: number; col: number }, { line: number; col: number }]
    | undefined,
): TokenRange | undefined {
  if (linePos === undefined) return undefined;
  const start = { line: linePos[0].line, column: linePos[0].col };
  const end = linePos.length === 2 ? { line: linePos[1].line, column: linePos[1].col } : start;
  return { start, end };
}

/** Line and column (both from 1) of offsets in `text`, as `yaml`'s LineCounter gives them. */
function positionsIn(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
  };
}

/** `parseWorkflow` of `@actions/workflow-parser` (same context, errors and tokens), read faster. */
export function parseWorkflowText(
  name: string,
  content: string,
  context: TemplateContext,
): { readonly context: TemplateContext; readonly value: TemplateToken | undefined } {
  const fileId = context.getFileId(name);
  const reader = new ListedYamlObjectReader(fileId, content);
  if (reader.errors.length > 0) {
    // Not valid YAML: template errors would only mislead.
    for (const err of reader.errors) context.error(fileId, err.message, err.range);
    return { context, value: undefined };
  }
  return { context, value: readTemplate(context, WORKFLOW_ROOT, reader, fileId) };
}
