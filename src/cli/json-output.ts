/** The JSON shapes `--json` prints, shared by every command so machines see one format. */
import type { Diagnostic } from "../diagnostic.js";

export interface DiagnosticJson {
  readonly severity: "error" | "warning";
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export function diagnosticsJson(diagnostics: readonly Diagnostic[]): DiagnosticJson[] {
  return diagnostics.map((d) => ({
    severity: d.severity,
    file: d.location?.file ?? d.file,
    line: d.location?.line,
    column: d.location?.column,
    message: d.message,
  }));
}
