/**
 * Draws a planned workflow in the terminal: one row of boxes per level of the needs graph, each
 * box a job with its matrix jobs listed, arrows down from level to level.
 */
import type { PlannedJob, PlannedWorkflow } from "../workflow/plan.js";
import { levelsOf } from "../workflow/needs-graph.js";
import type { Style } from "./style.js";
import { visibleWidth } from "./style.js";

export function renderWorkflowGraph(plan: PlannedWorkflow, style: Style, width = 100): string {
  const levels = levelsOf(plan.graph);
  const rows: PlannedJob[][] = [];
  for (const job of plan.jobs) {
    const level = levels.get(job.definition.id) ?? 0;
    (rows[level] ??= []).push(job);
  }
  const events = Object.keys(plan.workflow.on).join(", ") || "(no events)";
  const out: string[] = [
    `${style.bold(plan.workflow.name)}  ${style.dim(plan.workflow.path)}  ${style.dim("on: " + events)}`,
  ];
  rows.forEach((row, i) => {
    if (i > 0) out.push(style.dim("  │"), style.dim("  ▼"));
    out.push(
      ...sideBySide(
        row.map((job) => box(job, style)),
        width,
      ),
    );
  });
  return out.join("\n");
}

function jobLines(job: PlannedJob, style: Style, indent = ""): string[] {
  const lines: string[] = [];
  const def = job.definition;
  if (job.expansion) {
    const names = job.expansion.instances.map((i) => i.name);
    if (!(names.length === 1 && names[0] === def.id)) lines.push(...names.map((n) => indent + n));
  } else if (job.decidedAtRunTime) {
    lines.push(indent + style.yellow(`(${job.decidedAtRunTime})`));
  }
  if (def.needs.length > 0) lines.push(indent + style.dim(`needs: ${def.needs.join(", ")}`));
  if (def.kind === "call") {
    lines.push(indent + style.dim(`calls ${def.uses}`));
    for (const inner of job.call?.jobs ?? []) {
      lines.push(indent + `↳ ${inner.definition.id}`);
      lines.push(...jobLines(inner, style, indent + "  "));
    }
  }
  return lines;
}

function box(job: PlannedJob, style: Style): string[] {
  const title = job.definition.id;
  const body = jobLines(job, style);
  const inner = Math.max(visibleWidth(title) + 2, ...body.map(visibleWidth));
  const top = `┌─ ${style.bold(title)} ${"─".repeat(Math.max(0, inner - visibleWidth(title) - 1))}┐`;
  const lines = body.map((line) => `│ ${line}${" ".repeat(inner - visibleWidth(line))} │`);
  const bottom = `└${"─".repeat(inner + 2)}┘`;
  return [top, ...lines, bottom];
}

/** Places boxes left to right, wrapping to a new band when the terminal is too narrow. */
function sideBySide(boxes: readonly string[][], width: number): string[] {
  const out: string[] = [];
  let band: string[][] = [];
  let used = 2;
  const flush = (): void => {
    if (band.length === 0) return;
    const height = Math.max(...band.map((b) => b.length));
    for (let line = 0; line < height; line++) {
      const parts = band.map((b) => {
        const boxWidth = visibleWidth(b[0] ?? "");
        const text = b[line] ?? "";
        return text + " ".repeat(boxWidth - visibleWidth(text));
      });
      out.push(("  " + parts.join("  ")).trimEnd());
    }
    band = [];
    used = 2;
  };
  for (const b of boxes) {
    const w = visibleWidth(b[0] ?? "");
    if (band.length > 0 && used + w > width) flush();
    band.push(b);
    used += w + 2;
  }
  flush();
  return out;
}
