/** The log view's scroll map: rows ↔ scroll positions, ordinary under the cap, scaled past it. */
import { describe, expect, it } from "vitest";
import {
  BLOCK_ROWS,
  MAX_SPACER,
  maxOffset,
  maxScrollTop,
  offsetForRow,
  offsetOf,
  rowAtScrollTop,
  scrollMap,
  scrollTopOf,
  scrollTopOfRow,
  windowAt,
} from "../../web/src/log/scroll-map.js";
import type { ScrollMap } from "../../web/src/log/scroll-map.js";

const ROW = 20;
const VIEWPORT = 630;
/** Firefox's limit on an element's height, the lowest of the browsers'. */
const FIREFOX_MAX_HEIGHT = 17_895_697;

/** Where row `index` shows, in px from the viewport's top, drawn as windowAt says. */
function drawnAt(map: ScrollMap, offset: number, index: number): number {
  const drawn = windowAt(map, offset, 12);
  const inLayer = (index - drawn.base) * map.rowHeight + drawn.shift;
  // Under the cap the layer scrolls with the content; scaled, it holds still at the viewport's top.
  return map.scaled ? inLayer : inLayer - offset;
}

describe("under the cap", () => {
  const map = scrollMap(10_000, ROW, VIEWPORT);

  it("is an ordinary list: the scroll position is the list's offset", () => {
    expect(map.scaled).toBe(false);
    expect(map.spacer).toBe(200_000);
    expect(offsetOf(map, 12_345)).toBe(12_345);
    expect(scrollTopOf(map, 12_345)).toBe(12_345);
    expect(rowAtScrollTop(map, 400)).toBe(20);
    expect(maxScrollTop(map)).toBe(maxOffset(map));
  });

  it("draws each row at its own offset, the rows on screen and 12 more each side", () => {
    const drawn = windowAt(map, 400, 12);
    expect(drawn).toEqual({ first: 8, last: 63, base: 0, shift: 0 });
    expect(drawnAt(map, 400, 20)).toBe(0);
    expect(windowAt(map, 0, 12).first).toBe(0);
    expect(windowAt(map, maxOffset(map), 12).last).toBe(9_999);
  });

  it("scrolls a row to the start, centre or end of the view, within the list", () => {
    expect(offsetForRow(map, 100, "start")).toBe(2_000);
    expect(offsetForRow(map, 100, "center")).toBe(2_000 + 10 - 315);
    expect(offsetForRow(map, 100, "end")).toBe(2_020 - 630);
    expect(offsetForRow(map, 2, "center")).toBe(0);
    expect(offsetForRow(map, 9_999, "center")).toBe(maxOffset(map));
    expect(scrollTopOfRow(map, 100, "start")).toBe(2_000);
  });

  it("scales from one row past the cap, and never for a short list", () => {
    expect(scrollMap(MAX_SPACER / ROW, ROW, VIEWPORT).scaled).toBe(false);
    expect(scrollMap(MAX_SPACER / ROW + 1, ROW, VIEWPORT).scaled).toBe(true);
    const short = scrollMap(5, ROW, VIEWPORT);
    expect(maxOffset(short)).toBe(0);
    expect(windowAt(short, 0, 12)).toEqual({ first: 0, last: 4, base: 0, shift: 0 });
    expect(windowAt(scrollMap(0, ROW, VIEWPORT), 0, 12).last).toBe(-1);
  });
});

describe("past the cap (3,000,000 rows, 60 million px)", () => {
  const rows = 3_000_000;
  const map = scrollMap(rows, ROW, VIEWPORT);
  const bottom = maxScrollTop(map);

  it("caps the spacer under every browser's limit", () => {
    expect(map.scaled).toBe(true);
    expect(map.total).toBe(60_000_000);
    expect(map.spacer).toBe(MAX_SPACER);
    expect(map.spacer).toBeLessThan(FIREFOX_MAX_HEIGHT);
  });

  it("shows the first row at the top of the range and the last at the bottom of the view at its end", () => {
    expect(offsetOf(map, 0)).toBe(0);
    expect(rowAtScrollTop(map, 0)).toBe(0);
    expect(drawnAt(map, offsetOf(map, 0), 0)).toBe(0);
    const end = offsetOf(map, bottom);
    expect(end).toBe(maxOffset(map));
    expect(windowAt(map, end, 12).last).toBe(rows - 1);
    expect(drawnAt(map, end, rows - 1) + ROW).toBe(VIEWPORT);
    // A viewport of a fractional height can leave the browser's range a pixel short: still the end.
    expect(offsetOf(map, bottom - 0.5)).toBe(maxOffset(map));
  });

  it("maps by proportion, both ways", () => {
    expect(offsetOf(map, bottom / 2)).toBeCloseTo(maxOffset(map) / 2, 6);
    for (const offset of [0, 1, 19, 1_234_567.5, 30_000_000, maxOffset(map) - 100, maxOffset(map)]) {
      expect(offsetOf(map, scrollTopOf(map, offset))).toBeCloseTo(offset, 4);
    }
    let previous = -1;
    for (let scrollTop = 0; scrollTop <= bottom; scrollTop += 99_991) {
      const offset = offsetOf(map, scrollTop);
      expect(offset).toBeGreaterThan(previous);
      previous = offset;
    }
    expect(scrollTopOf(map, -5)).toBe(0);
    expect(scrollTopOf(map, map.total)).toBe(bottom);
  });

  it("reaches every row from a whole-pixel scroll position", () => {
    for (const index of [0, 1, 2, 999, 1_000, 1_499_999, 2_499_999, rows - 31, rows - 2, rows - 1]) {
      const scrollTop = Math.round(scrollTopOfRow(map, index, "center"));
      const top = drawnAt(map, offsetOf(map, scrollTop), index);
      expect(top).toBeGreaterThanOrEqual(0);
      expect(top + ROW).toBeLessThanOrEqual(VIEWPORT);
    }
    // A row scrolled to the start is the row at the top, where the list's end allows.
    for (const index of [0, 7, 123_456, 2_499_999]) {
      expect(rowAtScrollTop(map, scrollTopOfRow(map, index, "start"))).toBe(index);
    }
  });

  it("draws only the rows on screen, in a layer that stays near the viewport, each at its place", () => {
    for (const offset of [0, 10, 19_999.7, 20_000, 30_000_123.4, maxOffset(map)]) {
      const drawn = windowAt(map, offset, 12);
      expect(drawn.last - drawn.first + 1).toBeLessThanOrEqual(Math.ceil(VIEWPORT / ROW) + 1);
      // The first and last rows drawn are (partly) on screen.
      expect(drawn.first * ROW - offset).toBeLessThanOrEqual(0);
      expect(drawn.first * ROW - offset + ROW).toBeGreaterThan(0);
      expect(drawn.last * ROW - offset).toBeLessThan(VIEWPORT);
      expect(drawn.last * ROW - offset + ROW).toBeGreaterThanOrEqual(VIEWPORT);
      expect(drawn.base % BLOCK_ROWS).toBe(0);
      expect(Math.abs(drawn.shift)).toBeLessThanOrEqual((BLOCK_ROWS + 12) * ROW);
      for (let index = drawn.first; index <= drawn.last; index++) {
        expect(Math.abs(drawnAt(map, offset, index) - (index * ROW - offset))).toBeLessThanOrEqual(0.5);
        expect((index - drawn.base) * ROW).toBeLessThan((BLOCK_ROWS + 100) * ROW);
      }
    }
  });

  it("keeps a row where it is when the list grows (the offset stays; the scroll position moves)", () => {
    const grown = scrollMap(rows + 100_000, ROW, VIEWPORT);
    const offset = offsetForRow(map, 2_499_999, "center");
    expect(scrollTopOf(grown, offset)).toBeLessThan(scrollTopOf(map, offset));
    expect(drawnAt(grown, offset, 2_499_999)).toBe(drawnAt(map, offset, 2_499_999));
  });
});
