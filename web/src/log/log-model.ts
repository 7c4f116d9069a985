/**
 * A job's log as the log page shows it, built from the job's event rows as they arrive: steps as
 * sections, `::group::` blocks that fold, numbered lines, annotations inline. Pure and append-only,
 * so a million lines cost one small object each and nothing is rebuilt when more arrive.
 */

export interface EventRowLike {
  readonly seq: number;
  readonly event: { readonly type: string; readonly [field: string]: unknown };
}

export type EntryKind = "step" | "line" | "group" | "annotation";

/** One shape for every entry (a class, not object spreads): a million of them stay fast to make and scan. */
export class LogEntry {
  constructor(
    readonly kind: EntryKind,
    readonly seq: number,
    /** The line number (1-based, stable while the log grows); 0 for a step's header. */
    readonly n: number,
    readonly text: string,
    readonly at: string,
    /** The step header's entry index, or -1 for the job's own lines. */
    readonly stepIndex: number,
    /** The `::group::` header's entry index this line is inside, or -1. */
    readonly group: number,
    readonly stream: string,
    readonly level: string,
  ) {}
}

export interface StepState {
  readonly number: number;
  readonly index: number;
  readonly name: string;
  conclusion: string | null;
  durationMs: number | null;
  startedAt: string;
}

// Escape sequences are control characters: matching them is the point.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

export function stripAnsi(text: string): string {
  return text.includes("\x1b") ? text.replace(ANSI, "") : text;
}

export class LogModel {
  readonly entries: LogEntry[] = [];
  readonly steps = new Map<number, StepState>();
  /** A step header's entry index → its step number. */
  private readonly stepNumbers = new Map<number, number>();
  /** Line number → entry index (index 0 unused). */
  private readonly byLine: number[] = [0];
  private openGroup = -1;
  lastSeq = 0;

  get lineCount(): number {
    return this.byLine.length - 1;
  }

  append(rows: readonly EventRowLike[]): void {
    for (const row of rows) {
      if (row.seq <= this.lastSeq) continue; // a resumed stream may repeat rows
      this.lastSeq = row.seq;
      this.add(row.seq, row.event);
    }
  }

  private add(seq: number, event: EventRowLike["event"]): void {
    const at = typeof event.at === "string" ? event.at : "";
    const step = typeof event.step === "number" ? event.step : null;
    switch (event.type) {
      case "step-started": {
        this.openGroup = -1;
        const index = this.entries.length;
        const name = String(event.name ?? `step ${step ?? "?"}`);
        this.entries.push(new LogEntry("step", seq, 0, name, at, index, -1, "", ""));
        if (step !== null) {
          this.steps.set(step, {
            number: step,
            index,
            name,
            conclusion: null,
            durationMs: null,
            startedAt: at,
          });
          this.stepNumbers.set(index, step);
        }
        return;
      }
      case "step-finished": {
        const state = step === null ? undefined : this.steps.get(step);
        if (state) {
          state.conclusion = typeof event.conclusion === "string" ? event.conclusion : null;
          state.durationMs = typeof event.durationMs === "number" ? event.durationMs : null;
        }
        this.openGroup = -1;
        return;
      }
      case "log": {
        const logKind = String(event.kind ?? "output");
        if (logKind === "endgroup") {
          this.openGroup = -1;
          return;
        }
        const stepIndex = this.stepIndexOf(step);
        if (logKind === "group") {
          const index = this.entries.length;
          this.pushLine("group", seq, String(event.text ?? ""), at, stepIndex, -1, "", "");
          this.openGroup = index;
          return;
        }
        const stream = typeof event.stream === "string" ? event.stream : "";
        this.pushLine("line", seq, String(event.text ?? ""), at, stepIndex, this.openGroup, stream, "");
        return;
      }
      case "annotation": {
        const where =
          typeof event.file === "string"
            ? ` (${event.file}${typeof event.line === "number" ? `:${event.line}` : ""})`
            : "";
        const title = typeof event.title === "string" && event.title ? `${event.title}: ` : "";
        const text = `${title}${String(event.message ?? "")}${where}`;
        const level = String(event.level ?? "notice");
        this.pushLine("annotation", seq, text, at, this.stepIndexOf(step), -1, "", level);
        return;
      }
      default:
        return;
    }
  }

  private stepIndexOf(step: number | null): number {
    return step === null ? -1 : (this.steps.get(step)?.index ?? -1);
  }

  private pushLine(
    kind: EntryKind,
    seq: number,
    text: string,
    at: string,
    stepIndex: number,
    group: number,
    stream: string,
    level: string,
  ): void {
    const n = this.byLine.length;
    this.byLine.push(this.entries.length);
    this.entries.push(new LogEntry(kind, seq, n, text, at, stepIndex, group, stream, level));
  }

  stepNumberAt(index: number): number | undefined {
    return this.stepNumbers.get(index);
  }

  entryOfLine(n: number): number | undefined {
    return n >= 1 && n < this.byLine.length ? this.byLine[n] : undefined;
  }

  /** The first numbered entry at or after `seq` (annotations link to their seq). */
  entryOfSeq(seq: number): number | undefined {
    let low = 0;
    let high = this.entries.length - 1;
    let found: number | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.entries[middle] as LogEntry).seq >= seq) {
        found = middle;
        high = middle - 1;
      } else low = middle + 1;
    }
    return found;
  }

  /**
   * The entries shown, in order. `toggled` holds header indices the user flipped: a step is open
   * unless toggled, a group is closed unless toggled (as GitHub folds groups).
   */
  visible(toggled: ReadonlySet<number>): Int32Array {
    const shown = new Int32Array(this.entries.length);
    let count = 0;
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i] as LogEntry;
      if (entry.kind !== "step" && entry.stepIndex !== -1 && toggled.has(entry.stepIndex)) continue;
      if (entry.group !== -1 && !toggled.has(entry.group)) continue;
      shown[count++] = i;
    }
    return shown.subarray(0, count);
  }

  isOpen(index: number, toggled: ReadonlySet<number>): boolean {
    const entry = this.entries[index];
    if (!entry) return false;
    return entry.kind === "step" ? !toggled.has(index) : entry.kind === "group" ? toggled.has(index) : true;
  }

  /** Headers to flip so that entry `index` is shown. */
  revealing(index: number, toggled: ReadonlySet<number>): number[] {
    const entry = this.entries[index];
    if (!entry) return [];
    const flips: number[] = [];
    if (entry.kind !== "step" && entry.stepIndex !== -1 && toggled.has(entry.stepIndex))
      flips.push(entry.stepIndex);
    if (entry.group !== -1 && !toggled.has(entry.group)) flips.push(entry.group);
    return flips;
  }

  /** Entry indices whose text contains `query` (case-insensitive, colours ignored). */
  search(query: string): number[] {
    if (!query) return [];
    const wanted = query.toLowerCase();
    const found: number[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i] as LogEntry;
      if (entry.kind === "step") continue;
      if (stripAnsi(entry.text).toLowerCase().includes(wanted)) found.push(i);
    }
    return found;
  }

  /** The log as plain text, one line per numbered line (what "raw" download saves). */
  plainText(): string {
    const parts: string[] = [];
    for (const entry of this.entries) {
      if (entry.kind === "step") parts.push(`##[step] ${entry.text}`);
      else if (entry.kind === "group") parts.push(`##[group]${entry.text}`);
      else if (entry.kind === "annotation") parts.push(`##[${entry.level || "notice"}]${entry.text}`);
      else parts.push(entry.text);
    }
    return parts.join("\n") + "\n";
  }
}
