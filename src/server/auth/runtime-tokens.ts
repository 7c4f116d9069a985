/**
 * ACTIONS_RUNTIME_TOKEN: what a job's actions present to the server's artifact and cache services.
 * A JWT (HS256, signed with the server key), because GitHub's own clients read its claims:
 * `@actions/artifact` finds the run and job it belongs to in the `scp` claim
 * (`Actions.Results:<run>:<job>`). The server trusts a token only while its job is running.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface RuntimeClaims {
  readonly jobId: number;
  readonly runId: number;
  readonly repositoryId: number;
}

/** A job may run for six hours (GitHub's limit), plus time for its post steps. */
const LIFETIME_SECONDS = 7 * 60 * 60;

export class RuntimeTokens {
  constructor(private readonly key: Buffer) {}

  issue(claims: RuntimeClaims, now: number = Date.now()): string {
    const issuedAt = Math.floor(now / 1000);
    const payload = {
      iss: "conveyor",
      sub: `job:${claims.jobId}`,
      iat: issuedAt,
      nbf: issuedAt - 60,
      exp: issuedAt + LIFETIME_SECONDS,
      scp: `Actions.GenericRead:${claims.runId} Actions.UploadArtifacts:${claims.runId}:${claims.jobId} Actions.Results:${claims.runId}:${claims.jobId}`,
      conveyor: [claims.jobId, claims.runId, claims.repositoryId],
    };
    const head = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const body = base64url(JSON.stringify(payload));
    return `${head}.${body}.${this.sign(`${head}.${body}`)}`;
  }

  /** The claims of a token this server signed and that has not expired; undefined otherwise. */
  verify(token: string, now: number = Date.now()): RuntimeClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [head, body, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${head}.${body}`), "base64url");
    const given = Buffer.from(signature, "base64url");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as {
        exp?: unknown;
        conveyor?: unknown;
      };
      if (typeof payload.exp !== "number" || payload.exp * 1000 < now) return undefined;
      const ids = payload.conveyor;
      if (!Array.isArray(ids) || ids.length !== 3 || !ids.every((n) => Number.isInteger(n))) return undefined;
      const [jobId, runId, repositoryId] = ids as [number, number, number];
      return { jobId, runId, repositoryId };
    } catch {
      return undefined;
    }
  }

  private sign(data: string): string {
    return createHmac("sha256", this.key).update(`runtime-token:${data}`).digest("base64url");
  }
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
