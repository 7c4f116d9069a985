import { describe, expect, it } from "vitest";
import { encodeEventRow } from "../../agent/protocol-client.js";
import type { RunEvent } from "../../engine/events.js";
import { eventRowsOf, isEventsUpload } from "./event-rows.js";

const log = (text: string): RunEvent => ({
  type: "log",
  jobId: "build#0",
  step: 1,
  text,
  kind: "output",
  stream: "stdout",
  at: "2026-01-01T00:00:00.000Z",
});

/** A body as a runner sends it. */
const body = (events: readonly RunEvent[], first = 1): Buffer =>
  Buffer.from(`{"rows":[${events.map((e, i) => encodeEventRow(first + i, e)).join(",")}]}`);

describe("eventRowsOf", () => {
  it("reads a runner's rows with each event's JSON bytes as they came; log lines are checked, not parsed", () => {
    const step: RunEvent = {
      type: "step-started",
      jobId: "build#0",
      step: 1,
      name: "Build",
      at: "2026-01-01T00:00:00.000Z",
    };
    const events = [step, log("one"), log('"quoted", {"seq":2} \\ ü \u0007 \ud83d\ude00'), log("")];
    const rows = eventRowsOf(body(events, 7));
    expect(rows?.map((r) => r.seq)).toEqual([7, 8, 9, 10]);
    expect(rows?.map((r) => r.event)).toEqual([step, undefined, undefined, undefined]);
    for (const [i, row] of (rows ?? []).entries()) {
      expect(Buffer.isBuffer(row.json)).toBe(true);
      expect(JSON.parse(String(row.json))).toEqual(events[i]);
    }
  });

  it("checks log lines as strictly as JSON.parse, and parses whatever is not exactly a runner's log line", () => {
    const row = (event: string) => Buffer.from(`{"rows":[{"seq":1,"event":${event}}]}`);
    const line = (text: string, rest = `"kind":"output","stream":"stdout","at":"t"`) =>
      `{"type":"log","jobId":"j","step":1,"text":${text},${rest}}`;
    // Not JSON: refused, as JSON.parse refuses them.
    for (const text of ['"a\tb"'.replace("\\t", "\t"), '"\\x"', '"\\u12"', '"open', "'single'"]) {
      expect(eventRowsOf(row(line(text))), text).toBeUndefined();
    }
    // JSON, but not the runners' exact form: parsed, so still stored (with its event).
    for (const event of [
      line('"a"', `"kind":"other","stream":"stdout","at":"t"`),
      line('"a"', `"stream":"stdout","kind":"output","at":"t"`),
      `{"type":"log","jobId":"j","step":1.0,"text":"a","kind":"output","stream":"stdout","at":"t"}`,
      `{"type":"log","jobId":"j","step":01,"text":"a","kind":"output","stream":"stdout","at":"t"}`.replace(
        "01",
        "1 ",
      ),
    ]) {
      const rows = eventRowsOf(row(event));
      expect(rows?.[0]?.event, event).toEqual(JSON.parse(event));
    }
    // A megabyte line that goes wrong at its end is refused at once (the match never backtracks).
    const started = performance.now();
    const long = `"${'a\\"'.repeat(300_000)}\u0001"`;
    expect(eventRowsOf(row(line(long)))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_000);
    // The runners' exact form, step null included: read without parsing.
    const exact = line('"tab\\t quote\\" slash\\/ ✓"').replace('"step":1', '"step":null');
    const rows = eventRowsOf(row(exact));
    expect(rows?.[0]?.event).toBeUndefined();
    expect(JSON.parse(String(rows?.[0]?.json))).toEqual(JSON.parse(exact));
  });

  it("parses bodies in another encoding whole, and still finds the rows", () => {
    const events = [log("a"), log("b")];
    const spaced = Buffer.from(
      JSON.stringify({ rows: events.map((event, i) => ({ event, seq: i + 1 })) }, null, 1),
    );
    expect(eventRowsOf(spaced)).toEqual(events.map((event, i) => ({ event, seq: i + 1 })));
    // A separator inside an event (not in a string) cuts wrongly: the whole body is parsed instead.
    const nested = Buffer.from(
      `{"rows":[{"seq":1,"event":{"type":"x","list":[{"a":1},{"seq":2,"event":{}}]}}]}`,
    );
    const rows = eventRowsOf(nested);
    expect(rows).toHaveLength(1);
    expect(rows?.[0]?.json).toBeUndefined();
  });

  it("never keeps text that is not one event", () => {
    // A repeated key: the row parses, but its text after the prefix is not one JSON value.
    const twice = Buffer.from(`{"rows":[{"seq":1,"event":{"type":"a"},"event":{"type":"b"}}]}`);
    const rows = eventRowsOf(twice);
    expect(rows?.[0]?.event).toEqual({ type: "b" });
    expect(rows?.[0]?.json).toBeUndefined();
    // A line break between tokens is valid JSON, but the store keeps one event a line.
    const broken = eventRowsOf(Buffer.from(`{"rows":[{"seq":1,"event":{"type":\n"a"}}]}`));
    expect(broken).toEqual([{ seq: 1, event: { type: "a" } }]);
  });

  it("refuses what is not rows with whole-number seqs", () => {
    for (const text of [
      "",
      "not json",
      "{}",
      `{"rows":{}}`,
      `{"rows":[{"seq":1.5,"event":{}}]}`,
      `{"rows":[{"seq":1,"event":null}]}`,
      `{"rows":[{"seq":1,"event":{}},]}`,
    ]) {
      expect(eventRowsOf(Buffer.from(text)), text).toBeUndefined();
    }
    expect(eventRowsOf(Buffer.from(`{"rows":[]}`))).toEqual([]);
    expect(eventRowsOf(undefined)).toBeUndefined();
  });

  it("knows which requests are events uploads", () => {
    expect(isEventsUpload("/api/runner/v1/jobs/12/events")).toBe(true);
    expect(isEventsUpload("/api/runner/v1/jobs/12/complete")).toBe(false);
    expect(isEventsUpload("/api/v1/repos")).toBe(false);
  });
});
