/**
 * The rows of a runner's events request, read from the raw body. Log ingest is most of what a
 * server does while a job prints: parsing a megabyte body whole into one string, then writing
 * every event back out as JSON to store it, cost more than storing it. Runners encode rows one way
 * (src/agent/protocol-client.ts: `{"rows":[{"seq":1,"event":{...}},...]}`), so the body is cut
 * at row boundaries, each row's event parsed on its own, and its JSON bytes kept to be stored as
 * they came. Any other body (other spacing, key order) is parsed whole, as before.
 */
import { RUNNER_API_PREFIX } from "../../protocol/runner.js";
import type { RunEvent } from "../../engine/events.js";
import type { EventRowInput } from "../../store/jobs.js";

const OPEN = Buffer.from('{"rows":[');
const CLOSE = Buffer.from("]}");
/**
 * Between two rows. A `"` inside a JSON string is always escaped, so this never occurs in a
 * string; where it occurs inside an event (an array of objects with a `seq` key), the pieces it
 * makes do not parse, and the body is parsed whole instead.
 */
const SEPARATOR = Buffer.from(',{"seq":');
const ROW_START = /^\{"seq":(0|[1-9][0-9]{0,14}),"event":/;

/** Whether a request to `url` is an events upload, whose JSON body this module reads itself. */
export function isEventsUpload(url: string): boolean {
  return url.startsWith(`${RUNNER_API_PREFIX}/jobs/`) && url.endsWith("/events");
}

/** The rows, or undefined when the body is not `{ rows: [{ seq, event }] }` with whole-number seqs. */
export function eventRowsOf(body: unknown): EventRowInput[] | undefined {
  if (Buffer.isBuffer(body)) {
    const rows = cutRows(body);
    if (rows) return rows;
    try {
      body = JSON.parse(body.toString("utf8")) as unknown;
    } catch {
      return undefined;
    }
  }
  const rows = (body as { rows?: unknown } | undefined)?.rows;
  if (!Array.isArray(rows)) return undefined;
  const valid = rows.every(
    (r: { seq?: unknown; event?: unknown } | null) =>
      Number.isInteger(r?.seq) && typeof r?.event === "object" && r.event !== null,
  );
  return valid ? (rows as EventRowInput[]) : undefined;
}

/** The rows of a body in the runners' encoding, each with its event's JSON bytes; undefined otherwise. */
function cutRows(body: Buffer): EventRowInput[] | undefined {
  if (!startsWith(body, OPEN) || !endsWith(body, CLOSE)) return undefined;
  const end = body.length - CLOSE.length;
  const rows: EventRowInput[] = [];
  for (let start = OPEN.length; start < end;) {
    const separator = body.indexOf(SEPARATOR, start);
    const stop = separator === -1 || separator > end ? end : separator;
    const head = rowHead(body, start, stop);
    if (!head) return undefined;
    // The row is exactly `{"seq":n,"event":…}`: its event is the bytes between.
    const eventStart = head.end;
    const eventEnd = stop - 1;
    if (body[eventEnd] !== CLOSING_BRACE) return undefined;
    if (isEncodedLogLine(body, eventStart, eventEnd)) {
      rows.push({ seq: head.seq, json: body.subarray(eventStart, eventEnd) });
    } else {
      const json = body.toString("utf8", eventStart, eventEnd);
      let event: unknown;
      try {
        event = JSON.parse(json);
      } catch {
        return undefined;
      }
      if (typeof event !== "object" || event === null || Array.isArray(event)) return undefined;
      // Stored one a line: JSON may hold a raw line break between its tokens, so such text is not kept.
      const kept = json.includes("\n") ? undefined : body.subarray(eventStart, eventEnd);
      rows.push({ seq: head.seq, event: event as RunEvent, ...(kept ? { json: kept } : {}) });
    }
    start = stop + 1;
  }
  return rows;
}

/** `{"seq":n,"event":` at `start`: n, and where the event begins. */
function rowHead(body: Buffer, start: number, stop: number): { seq: number; end: number } | undefined {
  const text = body.toString("latin1", start, Math.min(stop, start + ROW_HEAD_MAX));
  const head = ROW_START.exec(text);
  // The head is ASCII: its length in characters is its length in bytes.
  return head ? { seq: Number(head[1]), end: start + head[0].length } : undefined;
}

/** `{"seq":` and 15 digits and `,"event":`: the longest a row's head can be. */
const ROW_HEAD_MAX = 40;
const CLOSING_BRACE = 0x7d;

/** A JSON string: no raw control characters, only JSON's escapes. */
const JSON_STRING = String.raw`"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"`;

/**
 * A log line exactly as runners encode it (encodeEventRow in src/agent/protocol-client.ts), read
 * as Latin-1 so that each byte is one character (bytes past ASCII are string content). Each
 * repetition takes one character or one escape, never two ways: no backtracking to blow up on.
 */
const ENCODED_LOG_LINE = new RegExp(
  String.raw`^\{"type":"log","jobId":${JSON_STRING},"step":(?:null|0|[1-9][0-9]{0,14}),"text":${JSON_STRING},` +
    String.raw`"kind":"(?:output|group|endgroup|command|debug|info)","stream":"(?:stdout|stderr|runner)","at":${JSON_STRING}\}$`,
);

/**
 * Whether bytes [start, end) are a log line exactly as runners encode it, each string valid JSON.
 * Nearly every row of a busy job is one, and nothing the server does with it looks inside:
 * matching it costs a tenth of parsing it (which was most of the server's work per row).
 * Anything else, however valid, is parsed.
 */
export function isEncodedLogLine(body: Buffer, start: number, end: number): boolean {
  return ENCODED_LOG_LINE.test(body.toString("latin1", start, end));
}

function startsWith(body: Buffer, prefix: Buffer): boolean {
  return body.length >= prefix.length && body.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function endsWith(body: Buffer, suffix: Buffer): boolean {
  return (
    body.length >= suffix.length &&
    body.compare(suffix, 0, suffix.length, body.length - suffix.length, body.length) === 0
  );
}
