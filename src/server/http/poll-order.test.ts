import { describe, expect, it } from "vitest";
import { PollOrder } from "./poll-order.js";

describe("PollOrder", () => {
  it("takes each runner's polls in increasing order and refuses an older or repeated one", () => {
    const order = new PollOrder();
    expect(order.isLatest(1, { session: "a", sequence: 1 })).toBe(true);
    expect(order.isLatest(1, { session: "a", sequence: 3 })).toBe(true);
    expect(order.isLatest(1, { session: "a", sequence: 2 })).toBe(false); // gave up on, handled late
    expect(order.isLatest(1, { session: "a", sequence: 3 })).toBe(false); // the same poll again
    expect(order.isLatest(1, { session: "a", sequence: 4 })).toBe(true);
  });

  it("keeps runners apart, starts again with a new session, and takes unnumbered polls at their word", () => {
    const order = new PollOrder();
    expect(order.isLatest(1, { session: "a", sequence: 9 })).toBe(true);
    expect(order.isLatest(2, { session: "a", sequence: 1 })).toBe(true);
    expect(order.isLatest(1, { session: "b", sequence: 1 })).toBe(true); // the runner restarted
    expect(order.isLatest(1, { session: "b", sequence: 2 })).toBe(true);
    expect(order.isLatest(1, {})).toBe(true);
    expect(order.isLatest(1, { session: "b", sequence: 2 })).toBe(false);
  });
});
