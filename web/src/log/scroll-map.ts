/**
 * Where rows of one fixed height sit in a scroll container, for any number of rows. Browsers cap an
 * element's height (Chromium near 33.5 million px, Firefox near 17.8 million), so a list taller than
 * MAX_SPACER gets a spacer of MAX_SPACER px and the scroll position maps to the list by proportion
 * ("scaled"): the top of the scroll range shows the first row at the top, its bottom the last row at
 * the bottom, and every row in between is reachable. Under the cap the scroll position is the list's
 * own pixel offset, as in any list. Pure: the log page's virtual list draws from these.
 *
 * "Offset" below is a position in the whole list (px from the first row's top to the viewport's
 * top, as if no cap existed); "scrollTop" is the scroll container's own position.
 */

/** Well under every browser's limit. */
export const MAX_SPACER = 10_000_000;

/**
 * In scaled mode rows are drawn in a layer that holds still at the viewport's top, each at its
 * distance from a base row, a multiple of this: rows keep their place (and skip re-rendering) while
 * the layer moves, and no coordinate grows past a few thousand rows' height.
 */
export const BLOCK_ROWS = 1000;

export interface ScrollMap {
  readonly rows: number;
  readonly rowHeight: number;
  /** The scroll container's inner height. */
  readonly viewport: number;
  /** The whole list's height, rows × rowHeight (may be more than a browser can lay out). */
  readonly total: number;
  /** The spacer's height: what the browser scrolls over. */
  readonly spacer: number;
  readonly scaled: boolean;
}

export type Align = "start" | "center" | "end";

/** The rows to draw, [first, last] (last < first when none), and where: see windowAt. */
export interface RowWindow {
  readonly first: number;
  readonly last: number;
  /** Row i is drawn at (i - base) × rowHeight in its layer... */
  readonly base: number;
  /** ...and the layer is moved this many px (scaled mode; 0 otherwise). */
  readonly shift: number;
}

const clamp = (value: number, low: number, high: number): number => Math.min(Math.max(value, low), high);

export function scrollMap(rows: number, rowHeight: number, viewport: number, cap = MAX_SPACER): ScrollMap {
  const total = rows * rowHeight;
  const scaled = total > cap;
  return { rows, rowHeight, viewport, total, spacer: scaled ? cap : total, scaled };
}

/** The greatest list offset: the last row's bottom at the viewport's bottom. */
export function maxOffset(map: ScrollMap): number {
  return Math.max(0, map.total - map.viewport);
}

/** The greatest scroll position. */
export function maxScrollTop(map: ScrollMap): number {
  return Math.max(0, map.spacer - map.viewport);
}

/** The list offset shown at the viewport's top for a scroll position. */
export function offsetOf(map: ScrollMap, scrollTop: number): number {
  if (!map.scaled) return scrollTop;
  const range = maxScrollTop(map);
  if (range <= 0) return 0;
  // A fractional viewport can leave the browser's scroll range a pixel short: the end is the end.
  if (scrollTop >= range - 1) return maxOffset(map);
  return (Math.max(0, scrollTop) / range) * maxOffset(map);
}

/** The scroll position that shows list offset `offset` at the viewport's top (the inverse of offsetOf). */
export function scrollTopOf(map: ScrollMap, offset: number): number {
  if (!map.scaled) return offset;
  const most = maxOffset(map);
  if (most <= 0) return 0;
  return (clamp(offset, 0, most) / most) * maxScrollTop(map);
}

/** The list offset that puts row `index` at the viewport's start, centre or end, within the list's range. */
export function offsetForRow(map: ScrollMap, index: number, align: Align): number {
  const { rowHeight, viewport } = map;
  const start = index * rowHeight;
  const wanted =
    align === "start"
      ? start
      : align === "end"
        ? start + rowHeight - viewport
        : start + rowHeight / 2 - viewport / 2;
  return clamp(wanted, 0, maxOffset(map));
}

/** The row at the viewport's top for a scroll position. */
export function rowAtScrollTop(map: ScrollMap, scrollTop: number): number {
  if (map.rows === 0) return 0;
  return clamp(Math.floor(offsetOf(map, scrollTop) / map.rowHeight), 0, map.rows - 1);
}

/** The scroll position that shows row `index` at the viewport's start, centre or end. */
export function scrollTopOfRow(map: ScrollMap, index: number, align: Align): number {
  return scrollTopOf(map, offsetForRow(map, index, align));
}

/**
 * The rows to draw at list offset `offset` and how to place them. Under the cap rows sit at their
 * own offset in the spacer (base 0, shift 0), as in any list, with `overscan` more on each side for
 * the browser to scroll into before the next render. Scaled, the layer holds still at the viewport's
 * top and row i shows at i × rowHeight - offset from it; nothing moves before the next render, so
 * rows off screen would never show: only the rows on screen are drawn.
 */
export function windowAt(map: ScrollMap, offset: number, overscan: number): RowWindow {
  const { rows, rowHeight, viewport } = map;
  if (rows === 0) return { first: 0, last: -1, base: 0, shift: 0 };
  const extra = map.scaled ? 0 : overscan;
  const first = clamp(Math.floor(offset / rowHeight) - extra, 0, rows - 1);
  const last = clamp(Math.ceil((offset + viewport) / rowHeight) - 1 + extra, first, rows - 1);
  if (!map.scaled) return { first, last, base: 0, shift: 0 };
  const base = first - (first % BLOCK_ROWS);
  // Whole pixels: text drawn at a fraction of a pixel blurs.
  return { first, last, base, shift: Math.round(base * rowHeight - offset) };
}

export function sameWindow(a: RowWindow, b: RowWindow): boolean {
  return a.first === b.first && a.last === b.last && a.base === b.base && a.shift === b.shift;
}
