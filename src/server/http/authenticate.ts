/**
 * Who is asking: the user behind an API token (Bearer, or HTTP basic with the token as password),
 * or a user signing in with login and password over HTTP basic (to create their first token).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { TOKEN_PREFIX } from "../../store/accounts.js";
import type { User } from "../../store/accounts.js";
import { credentialOf, secretOf } from "../auth/credentials-header.js";
import { allows } from "../auth/job-permissions.js";
import type { PermissionScope } from "../auth/job-permissions.js";
import { isJobToken } from "../auth/job-tokens.js";
import type { JobClaims } from "../auth/job-tokens.js";
import type { ServerContext } from "../server-context.js";
import { sendError } from "./errors.js";

export async function userOf(
  context: ServerContext,
  authorization: string | undefined,
): Promise<User | undefined> {
  const credential = credentialOf(authorization);
  if (!credential) return undefined;
  const secret = secretOf(credential);
  if (credential.kind === "basic" && !secret.startsWith(TOKEN_PREFIX.api)) {
    return context.store.accounts.checkPassword(credential.user, secret);
  }
  return context.store.accounts.userForToken(secret);
}

/** The user, or a 401 answer saying how to authenticate (a 403 for a job's token: not a route for it). */
export async function requireUser(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<User | undefined> {
  const user = await userOf(context, request.headers.authorization);
  if (!user) {
    const credential = credentialOf(request.headers.authorization);
    if (credential && isJobToken(secretOf(credential))) {
      sendError(
        reply,
        403,
        "a job's token (GITHUB_TOKEN) cannot use this route: it reads its own run, its artifacts and its repository only.",
      );
    } else {
      sendError(
        reply,
        401,
        request.headers.authorization
          ? "this token is not valid (unknown or revoked): create a new one with `conveyor token create`."
          : "authentication required: send `Authorization: Bearer <token>` (create a token with `conveyor token create`).",
      );
    }
  }
  return user;
}

/** Who may call a route that running jobs may call too. */
export type Caller =
  { readonly kind: "user"; readonly user: User } | { readonly kind: "job"; readonly claims: JobClaims };

/**
 * A user, or a running job presenting its token (GITHUB_TOKEN); otherwise an answer saying why.
 * A job's token is honoured only while its job runs; what it may reach is checked by `jobMayRead`.
 */
export async function requireUserOrJob(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Caller | undefined> {
  const credential = credentialOf(request.headers.authorization);
  const secret = credential ? secretOf(credential) : "";
  if (!isJobToken(secret)) {
    const user = await requireUser(context, request, reply);
    return user ? { kind: "user", user } : undefined;
  }
  const claims = context.jobTokens.verify(secret);
  const job = claims ? await context.store.jobs.byId(claims.jobId) : undefined;
  if (!claims || !job || job.status !== "in_progress") {
    sendError(reply, 401, "this job token is not valid: it was not issued here, or its job has ended.");
    return undefined;
  }
  return { kind: "job", claims };
}

/**
 * Whether a job's token may use `scope` at `level` (`actions` for runs and artifacts, `statuses`
 * for commit statuses) of `repositoryId`: only its own repository, and only as its `permissions:`
 * allow. Sends the 403 answer when not. A user passes (routes check people themselves).
 */
export function jobMay(
  caller: Caller,
  repositoryId: number,
  scope: PermissionScope,
  level: "read" | "write",
  reply: FastifyReply,
): boolean {
  if (caller.kind === "user") return true;
  if (caller.claims.repositoryId !== repositoryId) {
    sendError(reply, 403, "a job's token reaches its own repository only.");
    return false;
  }
  if (!allows(caller.claims.permissions[scope], level)) {
    sendError(
      reply,
      403,
      `this job's permissions give \`${scope}: ${caller.claims.permissions[scope]}\`: add \`permissions: { ${scope}: ${level} }\` to the job or workflow.`,
    );
    return false;
  }
  return true;
}

/** `jobMay` for reading. */
export function jobMayRead(
  caller: Caller,
  repositoryId: number,
  scope: PermissionScope,
  reply: FastifyReply,
): boolean {
  return jobMay(caller, repositoryId, scope, "read", reply);
}
