/**
 * The head of a CGI program's output (RFC 3875 section 6): header lines, a blank line, then the
 * body. `Status: 404 Not Found` sets the HTTP status (200 without one); every other line is a
 * response header. Pure.
 */

export interface CgiHead {
  readonly status: number;
  /** In order, repeats kept. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** Far more than git's few headers; a program writing more is broken. */
export const MAX_CGI_HEAD_BYTES = 64 * 1024;

/**
 * Where the head ends in the output read so far: the head's length and where the body starts
 * (CGI allows `\n` line ends as well as `\r\n`). Undefined while the blank line has not come.
 */
export function findCgiHeadEnd(output: Buffer): { headLength: number; bodyStart: number } | undefined {
  const crlf = output.indexOf("\r\n\r\n");
  const lf = output.indexOf("\n\n");
  if (crlf === -1 && lf === -1) return undefined;
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return { headLength: crlf, bodyStart: crlf + 4 };
  return { headLength: lf, bodyStart: lf + 2 };
}

/** Reads a head (without its blank line); undefined when a line is not a header. */
export function parseCgiHead(text: string): CgiHead | undefined {
  let status = 200;
  const headers: Array<readonly [string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const code = /^(\d{3})\b/.exec(value);
      if (!code) return undefined;
      status = Number(code[1]);
    } else {
      headers.push([name, value]);
    }
  }
  return { status, headers };
}
