/**
 * Places a run's jobs in columns by `needs`, as GitHub draws a run: a job's column is the longest
 * chain of needs before it; within a column, jobs sit near the jobs they need (the mean of their
 * rows), in workflow order otherwise. Linear in jobs and edges, so a 200-job graph lays out in well
 * under a millisecond (a general graph layout library took 100+ ms for 40 nodes). Pure: sizes in,
 * positions and edge paths out; the page draws them.
 */

export interface GraphNodeInput {
  readonly id: string;
  readonly needs: readonly string[];
  readonly width: number;
  readonly height: number;
}

export interface PlacedNode {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly column: number;
}

export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  /** An SVG path. */
  readonly path: string;
}

export interface GraphLayout {
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

const COLUMN_GAP = 56;
const ROW_GAP = 14;
const MARGIN = 8;

export function layoutGraph(inputs: readonly GraphNodeInput[]): GraphLayout {
  const byId = new Map(inputs.map((n) => [n.id, n]));
  const order = new Map(inputs.map((n, i) => [n.id, i]));
  const columnOf = new Map<string, number>();
  const visiting = new Set<string>();
  const column = (id: string): number => {
    const known = columnOf.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle cannot start a run; do not loop on one anyway
    visiting.add(id);
    const needs = (byId.get(id)?.needs ?? []).filter((n) => byId.has(n));
    const value = needs.length === 0 ? 0 : 1 + Math.max(...needs.map(column));
    visiting.delete(id);
    columnOf.set(id, value);
    return value;
  };
  const columns: GraphNodeInput[][] = [];
  for (const node of inputs) (columns[column(node.id)] ??= []).push(node);

  const rowOf = new Map<string, number>();
  const placed = new Map<string, PlacedNode>();
  let x = MARGIN;
  let height = 0;
  columns.forEach((members, index) => {
    const meanRow = (node: GraphNodeInput): number => {
      const rows = node.needs.map((n) => rowOf.get(n)).filter((r): r is number => r !== undefined);
      return rows.length === 0 ? Number.MAX_SAFE_INTEGER : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    const sorted =
      index === 0
        ? members
        : [...members].sort(
            (a, b) => meanRow(a) - meanRow(b) || (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0),
          );
    let y = MARGIN;
    const width = Math.max(...sorted.map((n) => n.width));
    sorted.forEach((node, row) => {
      rowOf.set(node.id, row);
      placed.set(node.id, { id: node.id, x, y, width: node.width, height: node.height, column: index });
      y += node.height + ROW_GAP;
    });
    height = Math.max(height, y - ROW_GAP + MARGIN);
    x += width + COLUMN_GAP;
  });

  const edges: PlacedEdge[] = [];
  for (const input of inputs) {
    const to = placed.get(input.id) as PlacedNode;
    for (const need of input.needs) {
      const from = placed.get(need);
      if (!from) continue;
      const x1 = from.x + from.width;
      const y1 = from.y + Math.min(from.height / 2, 19);
      const x2 = to.x;
      const y2 = to.y + Math.min(to.height / 2, 19);
      const bend = Math.max(16, (x2 - x1) / 2);
      edges.push({
        from: need,
        to: input.id,
        path: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      });
    }
  }
  return {
    nodes: inputs.map((n) => placed.get(n.id) as PlacedNode),
    edges,
    width: Math.max(0, x - COLUMN_GAP + MARGIN),
    height,
  };
}
