/**
 * Job tokens: what a running job presents to the server (to fetch its repository now; artifacts,
 * caches and the API later). Signed, not stored: the claims name the job, its run and its
 * repository and what `permissions:` grants, and the server key signs them. A token is only
 * honoured while its job is running, so it stops working when the job ends (every place that
 * accepts one checks the job's state in the store).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { DEFAULT_PERMISSIONS, decodePermissions, encodePermissions } from "./job-permissions.js";
import type { TokenPermissions } from "./job-permissions.js";

export interface JobClaims {
  readonly jobId: number;
  readonly runId: number;
  readonly repositoryId: number;
  /** What the job's `permissions:` grant (src/server/auth/job-permissions.ts). */
  readonly permissions: TokenPermissions;
}

/** What `issue` takes: permissions default to GitHub's restricted default. */
export type JobTokenRequest = Omit<JobClaims, "permissions"> & { readonly permissions?: TokenPermissions };

const PREFIX = "cvj_";

export class JobTokens {
  constructor(private readonly key: Buffer) {}

  issue(claims: JobTokenRequest): string {
    const permissions = encodePermissions(claims.permissions ?? DEFAULT_PERMISSIONS);
    const body = Buffer.from(
      JSON.stringify([claims.jobId, claims.runId, claims.repositoryId, permissions]),
    ).toString("base64url");
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
      if (!Array.isArray(parsed) || parsed.length !== 4) return undefined;
      const [jobId, runId, repositoryId, granted] = parsed as unknown[];
      if (![jobId, runId, repositoryId].every((n) => Number.isInteger(n)) || typeof granted !== "string")
        return undefined;
      const permissions = decodePermissions(granted);
      if (!permissions) return undefined;
      return {
        jobId: jobId as number,
        runId: runId as number,
        repositoryId: repositoryId as number,
        permissions,
      };
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
