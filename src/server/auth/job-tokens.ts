/**
 * Job tokens: what a running job presents to the server (to fetch its repository now; artifacts,
 * caches and the API later). Signed, not stored: the claims name the job, its run and its
 * repository, and the server key signs them. A token is only honoured while its job is running,
 * so it stops working when the job ends.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface JobClaims {
  readonly jobId: number;
  readonly runId: number;
  readonly repositoryId: number;
}

const PREFIX = "cvj_";

export class JobTokens {
  constructor(private readonly key: Buffer) {}

  issue(claims: JobClaims): string {
    const body = Buffer.from(JSON.stringify([claims.jobId, claims.runId, claims.repositoryId])).toString(
      "base64url",
    );
    return `${PREFIX}${body}.${this.sign(body)}`;
  }

  /** The claims of a token this server signed; undefined for anything else. */
  verify(token: string): JobClaims | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    const [body, signature] = token.slice(PREFIX.length).split(".");
    if (!body || !signature) return undefined;
    const expected = Buffer.from(this.sign(body), "base64url");
    const given = Buffer.from(signature, "base64url");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
      if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((n) => Number.isInteger(n)))
        return undefined;
      const [jobId, runId, repositoryId] = parsed as [number, number, number];
      return { jobId, runId, repositoryId };
    } catch {
      return undefined;
    }
  }

  private sign(body: string): string {
    return createHmac("sha256", this.key).update(`job-token:${body}`).digest("base64url");
  }
}

/** Whether `token` looks like a job token (so authentication knows which check to make). */
export function isJobToken(token: string): boolean {
  return token.startsWith(PREFIX);
}
