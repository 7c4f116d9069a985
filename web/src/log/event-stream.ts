/**
 * Server-Sent Events over fetch: EventSource cannot send the Authorization header, so the stream
 * is read with fetch and parsed here (the parser is pure). A dropped stream is resumed with
 * Last-Event-ID, the seq of the last row received, so no row is lost or repeated.
 */

export interface ServerEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

/** Parses the event-stream format incrementally: feed text as it arrives, get whole events back. */
export class EventStreamParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | undefined;

  feed(chunk: string): ServerEvent[] {
    this.buffer += chunk;
    const out: ServerEvent[] = [];
    for (;;) {
      const newline = this.buffer.search(/\r\n|\r|\n/);
      if (newline === -1) break;
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      if (line === "") {
        if (this.data.length > 0)
          out.push({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
        this.data = [];
        this.event = "";
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "event") this.event = value;
      else if (field === "id") this.id = value;
    }
    return out;
  }
}

export interface StreamOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The last event id already received (0: from the start). */
  lastEventId: number;
  readonly onEvent: (event: ServerEvent) => void;
  /** Called once the server sends `end` (the job finished). */
  readonly onEnd: () => void;
  readonly signal: AbortSignal;
}

/** Follows a stream until it ends or `signal` aborts, reconnecting after drops. */
export async function followEventStream(options: StreamOptions): Promise<void> {
  let failures = 0;
  while (!options.signal.aborted) {
    let ended = false;
    try {
      const response = await fetch(options.url, {
        headers: {
          ...options.headers,
          accept: "text/event-stream",
          ...(options.lastEventId > 0 ? { "last-event-id": String(options.lastEventId) } : {}),
        },
        signal: options.signal,
      });
      if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
      failures = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new EventStreamParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.feed(value)) {
          if (event.event === "end") {
            ended = true;
            continue;
          }
          const id = Number(event.id);
          if (Number.isFinite(id) && id > 0) options.lastEventId = id;
          options.onEvent(event);
        }
      }
    } catch {
      if (options.signal.aborted) return;
      failures++;
    }
    if (ended) {
      options.onEnd();
      return;
    }
    // Back off a little after a failure; a clean close reconnects at once.
    await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** failures)));
  }
}
