/** Every error answer of the server: `{ "error": "<what went wrong and what to do>" }`. */
import type { FastifyReply } from "fastify";
import type { ErrorResponse } from "../../protocol/runner.js";

export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  const body: ErrorResponse = { error: message };
  return reply.code(status).send(body);
}
