/**
 * Who is asking: the user behind an API token (Bearer, or HTTP basic with the token as password),
 * or a user signing in with login and password over HTTP basic (to create their first token).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { TOKEN_PREFIX } from "../../store/accounts.js";
import type { User } from "../../store/accounts.js";
import { credentialOf, secretOf } from "../auth/credentials-header.js";
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

/** The user, or a 401 answer saying how to authenticate. */
export async function requireUser(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<User | undefined> {
  const user = await userOf(context, request.headers.authorization);
  if (!user) {
    sendError(
      reply,
      401,
      request.headers.authorization
        ? "this token is not valid (unknown or revoked): create a new one with `conveyor token create`."
        : "authentication required: send `Authorization: Bearer <token>` (create a token with `conveyor token create`).",
    );
  }
  return user;
}
