/**
 * The job graph from `needs`. A job may start as soon as its own needs are done: this is a true
 * DAG, not a sequence of stages.
 */
import { error, failed, ok } from "../diagnostic.js";
import type { Diagnostic, Result, SourceLocation } from "../diagnostic.js";

export interface NeedsNode {
  readonly id: string;
  readonly needs: readonly string[];
  /** Where each entry of `needs` is written, parallel to `needs`. */
  readonly needsLocations?: readonly (SourceLocation | undefined)[];
  readonly location?: SourceLocation;
}

export interface NeedsGraph {
  /** Job ids in declaration order. */
  readonly ids: readonly string[];
  /** Direct needs of each job. */
  readonly needs: ReadonlyMap<string, readonly string[]>;
  /** Jobs that directly need each job. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
  /** A topological order that keeps declaration order where the graph allows it. */
  readonly order: readonly string[];
}

export function buildNeedsGraph(nodes: readonly NeedsNode[]): Result<NeedsGraph> {
  const ids = nodes.map((n) => n.id);
  const known = new Set(ids);
  const errors: Diagnostic[] = [];
  for (const node of nodes) {
    node.needs.forEach((need, i) => {
      if (!known.has(need)) {
        const where = node.needsLocations?.[i] ?? node.location;
        errors.push(
          error(
            `job '${node.id}' needs '${need}', which is not a job in this workflow (jobs: ${ids.join(", ")}).`,
            where,
          ),
        );
      }
    });
  }
  const needs = new Map(nodes.map((n) => [n.id, n.needs.filter((need) => known.has(need))]));
  for (const cycle of findCycles(ids, needs)) {
    const first = nodes.find((n) => n.id === cycle[0]);
    const edgeIndex = first?.needs.indexOf(cycle[1] ?? "") ?? -1;
    const where = (edgeIndex >= 0 ? first?.needsLocations?.[edgeIndex] : undefined) ?? first?.location;
    errors.push(
      error(
        `jobs need each other in a cycle: ${cycle.join(" -> ")}. Remove one of these needs so the jobs can run in order.`,
        where,
      ),
    );
  }
  if (errors.length > 0) return failed(errors);

  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const [id, jobNeeds] of needs) for (const need of jobNeeds) dependents.get(need)?.push(id);
  return ok({ ids, needs, dependents, order: topologicalOrder(ids, needs) });
}

/** Each elementary cycle reachable by depth-first search, reported once, as `a -> b -> a`. */
function findCycles(ids: readonly string[], needs: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, "visiting");
    stack.push(id);
    for (const need of needs.get(id) ?? []) {
      const s = state.get(need);
      if (s === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(need)), need];
        const key = [...cycle.slice(0, -1)].sort().join("\u0000");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (s === undefined) {
        visit(need);
      }
    }
    stack.pop();
    state.set(id, "done");
  };
  for (const id of ids) if (!state.has(id)) visit(id);
  return cycles;
}

/** Kahn's algorithm, always taking the earliest-declared ready job, so output is stable. */
function topologicalOrder(ids: readonly string[], needs: ReadonlyMap<string, readonly string[]>): string[] {
  const placed = new Set<string>();
  const order: string[] = [];
  while (order.length < ids.length) {
    const next = ids.find((id) => !placed.has(id) && (needs.get(id) ?? []).every((n) => placed.has(n)));
    if (next === undefined) break; // unreachable for a graph without cycles
    placed.add(next);
    order.push(next);
  }
  return order;
}

/** Every job `id` depends on, directly or through other jobs. */
export function ancestorsOf(graph: NeedsGraph, id: string): Set<string> {
  const result = new Set<string>();
  const pending = [...(graph.needs.get(id) ?? [])];
  while (pending.length > 0) {
    const next = pending.pop() as string;
    if (result.has(next)) continue;
    result.add(next);
    pending.push(...(graph.needs.get(next) ?? []));
  }
  return result;
}

/** Jobs not yet started whose needs have all finished, in declaration order. */
export function readyJobs(
  graph: NeedsGraph,
  finished: ReadonlySet<string>,
  started: ReadonlySet<string>,
): string[] {
  return graph.ids.filter(
    (id) =>
      !started.has(id) && !finished.has(id) && (graph.needs.get(id) ?? []).every((n) => finished.has(n)),
  );
}

/** Depth of each job: 0 for jobs without needs, else one more than its deepest need. */
export function levelsOf(graph: NeedsGraph): Map<string, number> {
  const levels = new Map<string, number>();
  for (const id of graph.order) {
    const depth = Math.max(-1, ...(graph.needs.get(id) ?? []).map((n) => levels.get(n) ?? 0)) + 1;
    levels.set(id, depth);
  }
  return levels;
}
