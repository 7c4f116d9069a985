/**
 * The rows of a runner's events request, read from the raw body. Log ingest is most of what a
 * server does while a job prints: parsing a megabyte body whole into one string, then writing
 * every event back out as JSON to store it, cost more than storing it. Runners encode rows one way
 * (src/agent/protocol-client.ts: `{"rows":[{"seq":1,"event":{...}},...]}`), so the body is cut
 * at row boundaries, each row's event parsed on its own, and its JSON text kept to be stored as
 * it came. Any other body (other spacing, key order) is parsed whole, as before.
 */
import { RUNNER_API_PREFIX } from "../../protocol/runner.js";
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

/** The rows of a body in the runners' encoding, each with its event's JSON text; undefined otherwise. */
function cutRows(body: Buffer): EventRowInput[] | undefined {
  if (!startsWith(body, OPEN) || !endsWith(body, CLOSE)) return undefined;
  const end = body.length - CLOSE.length;
  const rows: EventRowInput[] = [];
  for (let start = OPEN.length; start < end;) {
    const separator = body.indexOf(SEPARATOR, start);
    const stop = separator === -1 || separator > end ? end : separator;
    const text = body.toString("utf8", start, stop);
    const head = ROW_START.exec(text);
    if (!head || !text.endsWith("}")) return undefined;
    // The event alone is parsed: once it is one JSON value, the row is exactly `{"seq":n,"event":…}`.
    const json = text.slice(head[0].length, -1);
    let event: unknown;
    try {
      event = JSON.parse(json);
    } catch {
      return undefined;
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) return undefined;
    // Stored one a line: JSON may hold a raw line break between its tokens, so such text is not kept.
    const kept = json.includes("\n") ? undefined : json;
    rows.push({
      seq: Number(head[1]),
      event: event as EventRowInput["event"],
      ...(kept ? { json: kept } : {}),
    });
    start = stop + 1;
  }
  return rows;
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
