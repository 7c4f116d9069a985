import { describe, expect, it } from "vitest";
import { parseInputs } from "./dispatch.js";
import { plainTextOf, serverSentEvents, type ServerSentEvent } from "./remote-logs.js";

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<ServerSentEvent[]> {
  const messages: ServerSentEvent[] = [];
  for await (const message of serverSentEvents(body)) messages.push(message);
  return messages;
}

describe("serverSentEvents", () => {
  it("reads messages split anywhere across chunks, skipping comments", async () => {
    const messages = await collect(
      chunks(
        "id: 1\nevent: log\nda",
        'ta: {"a":1}\n',
        "\n: keep-alive\n\nid: 2\r",
        "\ndata: x\r\ndata: y\r\n\r\n",
      ),
    );
    expect(messages).toEqual([
      { id: "1", event: "log", data: '{"a":1}' },
      { id: "2", event: "message", data: "x\ny" },
    ]);
  });

  it("keeps the last id for messages without one, and reads a final end event", async () => {
    const messages = await collect(chunks("id: 7\ndata: a\n\nevent: end\ndata: {}\n\n"));
    expect(messages.at(-1)).toEqual({ id: "7", event: "end", data: "{}" });
  });
});

describe("plainTextOf", () => {
  const at = "2025-06-14T10:00:00.000Z";
  it("prints step headers, log lines and annotations with their place", () => {
    expect(plainTextOf({ type: "step-started", jobId: "b", step: 1, name: "Build", at })).toBe("== Build");
    expect(
      plainTextOf({ type: "log", jobId: "b", step: 1, text: "Setup", kind: "group", stream: "stdout", at }),
    ).toBe("▸ Setup");
    expect(
      plainTextOf({ type: "log", jobId: "b", step: 1, text: "", kind: "endgroup", stream: "stdout", at }),
    ).toBeUndefined();
    expect(
      plainTextOf({
        type: "annotation",
        jobId: "b",
        step: 1,
        level: "error",
        message: "boom",
        title: "Lint",
        file: "src/a.ts",
        line: 4,
        at,
      }),
    ).toBe("error: src/a.ts:4: Lint: boom");
    expect(
      plainTextOf({
        type: "step-finished",
        jobId: "b",
        step: 1,
        name: "Build",
        outcome: "failure",
        conclusion: "failure",
        durationMs: 5,
        at,
      }),
    ).toBe("== Build: failure");
  });
});

describe("parseInputs", () => {
  it("splits at the first '=' and refuses a pair without a key or given twice", () => {
    expect(parseInputs(["a=1", "url=http://x/?q=2", "empty="])).toEqual({
      a: "1",
      url: "http://x/?q=2",
      empty: "",
    });
    expect(() => parseInputs(["=1"])).toThrow("--input '=1' must be key=value");
    expect(() => parseInputs(["a=1", "a=2"])).toThrow("--input a is given twice");
  });
});
