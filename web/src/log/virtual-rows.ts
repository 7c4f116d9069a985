/**
 * A virtual list of fixed-height rows for the log page: only the rows on screen (and a few more) are
 * drawn, for any number of rows. Under scroll-map's cap it is an ordinary virtual list; past it the
 * list is "scaled" (see scroll-map.ts): the scrollbar maps to the list by proportion, while the
 * wheel and the arrow and page keys still move it pixel for pixel.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { RefObject } from "react";
import {
  maxOffset,
  offsetForRow,
  offsetOf,
  sameWindow,
  scrollMap,
  scrollTopOf,
  windowAt,
} from "./scroll-map";
import type { Align, RowWindow, ScrollMap } from "./scroll-map";

interface Position {
  readonly scrollTop: number;
  /** The list offset at the viewport's top (equal to scrollTop under the cap). */
  readonly offset: number;
}

/**
 * A scroll this list made itself. Scroll positions are whole pixels while a scaled offset is not: the
 * pin keeps the exact offset meant, for the scroll event that follows.
 */
interface Pin extends Position {
  /** The reader asked for it (wheel, keys), as opposed to the list keeping its place or showing a row. */
  readonly byReader: boolean;
}

export interface VirtualRows extends RowWindow {
  readonly map: ScrollMap;
  /** For the scroll container's scroll handler: true when the reader moved the list, false when it moved itself. */
  readonly onScroll: () => boolean;
  readonly scrollToIndex: (index: number, align: Align) => void;
  /** The last row is in view (to within two rows). */
  readonly atEnd: () => boolean;
}

/** Chromium's steps for the arrow keys and for a page (of the viewport). */
const ARROW_STEP = 40;
const PAGE_SHARE = 0.875;

export function useVirtualRows(
  scrollRef: RefObject<HTMLElement | null>,
  count: number,
  rowHeight: number,
  overscan: number,
): VirtualRows {
  const [viewport, setViewport] = useState(0);
  const [position, setPosition] = useState<Position>({ scrollTop: 0, offset: 0 });
  const map = useMemo(() => scrollMap(count, rowHeight, viewport), [count, rowHeight, viewport]);
  // The latest map and position for event handlers, which run between renders.
  const mapRef = useRef(map);
  const positionRef = useRef(position);
  const pinRef = useRef<Pin | undefined>(undefined);

  // Renders only when the rows drawn or their place change: under the cap, not on every pixel.
  const show = useCallback(
    (next: Position) => {
      positionRef.current = next;
      setPosition((shown) =>
        sameWindow(
          windowAt(mapRef.current, shown.offset, overscan),
          windowAt(mapRef.current, next.offset, overscan),
        )
          ? shown
          : next,
      );
    },
    [overscan],
  );

  const moveTo = useCallback(
    (wanted: number, byReader: boolean) => {
      const element = scrollRef.current;
      if (!element) return;
      const current = mapRef.current;
      const offset = Math.min(Math.max(wanted, 0), maxOffset(current));
      element.scrollTop = scrollTopOf(current, offset);
      const landed = element.scrollTop;
      const exact = { scrollTop: landed, offset: current.scaled ? offset : landed };
      pinRef.current = { ...exact, byReader };
      show(exact);
    },
    [scrollRef, show],
  );

  const onScroll = useCallback(() => {
    const element = scrollRef.current;
    if (!element) return true;
    const scrollTop = element.scrollTop;
    const pin = pinRef.current;
    if (pin && pin.scrollTop === scrollTop) {
      show({ scrollTop, offset: pin.offset });
      // Only the first scroll event is the list's own move.
      pinRef.current = { ...pin, byReader: true };
      return pin.byReader;
    }
    pinRef.current = undefined;
    show({ scrollTop, offset: offsetOf(mapRef.current, scrollTop) });
    return true;
  }, [scrollRef, show]);

  useLayoutEffect(() => {
    const element = scrollRef.current;
    if (!element) return;
    const measure = () => setViewport(element.clientHeight);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [scrollRef]);

  // When rows come or go (or the viewport resizes) a scaled scroll position stands for another row:
  // keep the reader's row instead. Under the cap, as any list, the scroll position stays.
  useLayoutEffect(() => {
    const previous = mapRef.current;
    mapRef.current = map;
    if (positionRef.current !== position) setPosition(positionRef.current);
    if (previous === map || (!previous.scaled && !map.scaled)) return;
    moveTo(positionRef.current.offset, false);
  }, [map, position, moveTo]);

  // Scaled, the scroll position moves the list several pixels per pixel: the wheel and the keys
  // move it by their own distance instead. Under the cap the browser scrolls natively (a wheel
  // listener that may cancel would make it wait for the page's script).
  const scaled = map.scaled;
  useEffect(() => {
    const element = scrollRef.current;
    if (!element || !scaled) return;
    /** Moves by `pixels` of the list; false (and the browser's own scrolling) at either end. */
    const moveBy = (pixels: number): boolean => {
      const offset = positionRef.current.offset;
      if ((pixels < 0 && offset <= 0) || (pixels > 0 && offset >= maxOffset(mapRef.current))) return false;
      moveTo(offset + pixels, true);
      return true;
    };
    const onWheel = (event: WheelEvent) => {
      // Ctrl zooms; Shift scrolls sideways.
      if (event.defaultPrevented || event.ctrlKey || event.shiftKey || event.deltaY === 0) return;
      const unit =
        event.deltaMode === WheelEvent.DOM_DELTA_LINE
          ? rowHeight
          : event.deltaMode === WheelEvent.DOM_DELTA_PAGE
            ? mapRef.current.viewport
            : 1;
      const left = element.scrollLeft;
      if (!moveBy(event.deltaY * unit)) return;
      event.preventDefault();
      if (event.deltaX !== 0) element.scrollLeft = left + event.deltaX * unit;
    };
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      const page = Math.max(rowHeight, mapRef.current.viewport * PAGE_SHARE);
      // Space scrolls only from the log itself: on a row's button it presses the button.
      const space = event.key === " " && event.target === element;
      const pixels =
        event.key === "ArrowDown" && !event.shiftKey
          ? ARROW_STEP
          : event.key === "ArrowUp" && !event.shiftKey
            ? -ARROW_STEP
            : event.key === "PageDown" || (space && !event.shiftKey)
              ? page
              : event.key === "PageUp" || (space && event.shiftKey)
                ? -page
                : 0;
      if (pixels !== 0 && moveBy(pixels)) event.preventDefault();
    };
    element.addEventListener("wheel", onWheel, { passive: false });
    element.addEventListener("keydown", onKeyDown);
    return () => {
      element.removeEventListener("wheel", onWheel);
      element.removeEventListener("keydown", onKeyDown);
    };
  }, [scrollRef, scaled, rowHeight, moveTo]);

  const offset = map.scaled ? Math.min(Math.max(position.offset, 0), maxOffset(map)) : position.offset;
  const drawn = windowAt(map, offset, overscan);
  const scrollToIndex = useCallback(
    (index: number, align: Align) => moveTo(offsetForRow(mapRef.current, index, align), false),
    [moveTo],
  );
  const atEnd = useCallback(
    () => maxOffset(mapRef.current) - positionRef.current.offset < rowHeight * 2,
    [rowHeight],
  );
  return { ...drawn, map, onScroll, scrollToIndex, atEnd };
}
