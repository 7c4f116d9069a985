/**
 * Errors as values. Every user mistake Conveyor finds is a Diagnostic that names where it is
 * (file, line, column) and what to do; nothing in the core throws for bad input.
 */
export interface SourceLocation {
  /** Path as the user gave it (relative to the working directory when possible). */
  readonly file: string;
  /** One-based line. */
  readonly line: number;
  /** One-based column. */
  readonly column: number;
}

export type Severity = "error" | "warning";

export interface Diagnostic {
  readonly severity: Severity;
  readonly message: string;
  /** Where the problem is. Absent only when the problem has no place in a file (a missing file, say). */
  readonly location?: SourceLocation;
  /** Name of the file when the location within it is unknown. */
  readonly file?: string;
}

export type Result<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: Diagnostic[] };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function failed<T>(errors: Diagnostic[]): Result<T> {
  return { ok: false, errors };
}

export function error(message: string, location?: SourceLocation): Diagnostic {
  return location ? { severity: "error", message, location } : { severity: "error", message };
}

export function fileError(file: string, message: string): Diagnostic {
  return { severity: "error", message, file };
}

/** `file:line:col: message`, the form editors and terminals turn into links. */
export function formatDiagnostic(d: Diagnostic): string {
  const prefix = d.severity === "warning" ? "warning: " : "";
  if (d.location) return `${d.location.file}:${d.location.line}:${d.location.column}: ${prefix}${d.message}`;
  if (d.file) return `${d.file}: ${prefix}${d.message}`;
  return `${prefix}${d.message}`;
}

/** Stable order for reports: by file, then line, then column. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  const fa = a.location?.file ?? a.file ?? "";
  const fb = b.location?.file ?? b.file ?? "";
  if (fa !== fb) return fa < fb ? -1 : 1;
  const la = a.location?.line ?? 0;
  const lb = b.location?.line ?? 0;
  if (la !== lb) return la - lb;
  return (a.location?.column ?? 0) - (b.location?.column ?? 0);
}
