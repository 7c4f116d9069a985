/**
 * The ref update commands a push sends: the pkt-lines at the start of a `git-receive-pack`
 * request body, before the pack (gitprotocol-pack(5), "Reference Update Request"):
 *
 *   0000-prefixed lines: `<old-oid> <new-oid> <refname>` (the first one adds `\0<capabilities>`),
 *   optionally preceded by `shallow <oid>` lines, ended by a flush packet `0000`.
 *
 * Pure, and fed chunk by chunk as the body streams past, so the pack itself is never held.
 */

export interface RefCommand {
  readonly ref: string;
  /** The ref's value the client saw: all zeros when it creates the ref. */
  readonly before: string;
  /** The value it asks for: all zeros when it deletes the ref. */
  readonly after: string;
}

/** `reading` until the flush packet ends the commands; `invalid` when the bytes are not commands. */
export type CommandReaderState = "reading" | "complete" | "invalid";

const COMMAND = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/;
const LENGTH = /^[0-9a-f]{4}$/i;

export class ReceiveCommandReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly found: RefCommand[] = [];
  private current: CommandReaderState = "reading";

  get state(): CommandReaderState {
    return this.current;
  }

  /** The commands read so far (all of them once `state` is `complete`). */
  get commands(): readonly RefCommand[] {
    return this.found;
  }

  /** Reads the next bytes of the body; returns whether it wants more. */
  push(chunk: Uint8Array): boolean {
    if (this.current !== "reading") return false;
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (this.current === "reading" && this.pending.length - at >= 4) {
      const header = this.pending.toString("latin1", at, at + 4);
      const length = LENGTH.test(header) ? parseInt(header, 16) : -1;
      if (length === 0) {
        this.current = "complete";
        break;
      }
      // 0001-0003 are protocol v2's delimiters, never in a push's commands.
      if (length < 4) {
        this.current = "invalid";
        break;
      }
      if (this.pending.length - at < length) break;
      this.readLine(this.pending.toString("utf8", at + 4, at + length));
      at += length;
    }
    // Keep only an unfinished line; nothing at all once done.
    this.pending = this.current === "reading" ? this.pending.subarray(at) : Buffer.alloc(0);
    return this.current === "reading";
  }

  private readLine(payload: string): void {
    const nul = payload.indexOf("\0");
    const line = (nul === -1 ? payload : payload.slice(0, nul)).replace(/\n$/, "");
    if (line.startsWith("shallow ")) return;
    const match = COMMAND.exec(line);
    if (!match) {
      // Signed pushes (`push-cert`) carry their commands inside the certificate: not read here.
      this.current = "invalid";
      return;
    }
    const [, before = "", after = "", ref = ""] = match;
    this.found.push({ ref, before, after });
  }
}

/** Git's null object id (40 or 64 zeros): the `before` of a new ref, the `after` of a deleted one. */
export function isNullObjectId(oid: string): boolean {
  return /^0+$/.test(oid);
}
