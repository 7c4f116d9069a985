/**
 * Webhooks from GitHub, Gitea/Forgejo and GitLab for a mirrored repository:
 * `POST /api/v1/repos/:owner/:name/webhook`. Authenticated by the delivery's signature (checked in
 * constant time over the raw body), not a token. A redelivery (same delivery id) starts nothing.
 * The remote is fetched into the repository's mirror, then the event starts the workflows at its commit.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { formatDiagnostic } from "../../diagnostic.js";
import { readWorkflowFilesAt } from "../git/workflow-files.js";
import type { ServerContext } from "../server-context.js";
import {
  deliveryKey,
  identifyDelivery,
  normalizeDelivery,
  verifyDeliverySignature,
} from "../webhooks/index.js";
import type { NormalizedEvent } from "../webhooks/index.js";
import { API_PREFIX } from "./api-routes.js";
import { sendError } from "./errors.js";

type Params = { owner: string; name: string };

export function registerWebhookRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Params: Params }>(`${API_PREFIX}/repos/:owner/:name/webhook`, async (request, reply) => {
    const repository = await context.store.repositories.byName(request.params.owner, request.params.name);
    const secret = repository ? await context.store.repositories.webhookSecret(repository.id) : undefined;
    if (!repository || repository.kind !== "mirror" || !repository.remoteUrl || !secret) {
      return sendError(
        reply,
        404,
        `no mirrored repository ${request.params.owner}/${request.params.name} with webhooks set up.`,
      );
    }
    const delivery = identifyDelivery(request.headers);
    if (!delivery.ok) return sendError(reply, 400, delivery.errors.map((e) => e.message).join(" "));
    const rawBody = rawBodyOf(request);
    const signature = verifyDeliverySignature(delivery.value.provider, request.headers, rawBody, secret);
    if (!signature.valid) return sendError(reply, 401, signature.message);
    if (delivery.value.kind === "ping") return reply.send({ ok: true, event: "ping" });
    const key = deliveryKey(delivery.value);
    if (key && !(await context.store.repositories.recordDelivery(key, repository.id, delivery.value.event))) {
      return reply.send({ ok: true, duplicate: true, runs: [] });
    }
    const normalized = normalizeDelivery(delivery.value, rawBody);
    if (!normalized.ok) return sendError(reply, 400, normalized.errors.map((e) => e.message).join(" "));
    if (normalized.value.kind === "ignored")
      return reply.send({ ok: true, ignored: normalized.value.reason, runs: [] });
    const event = normalized.value.event;
    const fetched = await context.mirrors.fetch(repository.remoteUrl);
    if (!fetched.ok) return sendError(reply, 502, fetched.errors.map(formatDiagnostic).join(" "));
    const workflowFiles = await readWorkflowFilesAt(fetched.value.path, event.sha);
    const started = await context.starter.start({
      repository,
      eventName: event.eventName,
      payload: event.payload,
      ref: event.ref,
      sha: event.sha,
      actor: senderOf(event),
      changedFiles:
        event.changedFiles ?? (await changedFilesFromMirror(context, repository.remoteUrl, event)),
      workflowFiles,
      serverUrl: context.publicUrl,
      cloneUrl: context.cloneUrlOf(repository),
      fromFork: event.fromFork,
    });
    return reply.code(202).send({
      ok: true,
      runs: started.runs.map((r) => r.id),
      skipped: started.skipped,
      errors: started.errors.map(formatDiagnostic),
    });
  });
}

function rawBodyOf(request: FastifyRequest): Buffer {
  return (request as unknown as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
}

function senderOf(event: NormalizedEvent): string {
  const sender = event.payload.sender;
  return sender && typeof sender === "object" && !Array.isArray(sender) && typeof sender.login === "string"
    ? sender.login
    : "webhook";
}

/** The files a push or pull request changed, from the mirror, when the payload cannot say. */
async function changedFilesFromMirror(
  context: ServerContext,
  remoteUrl: string,
  event: NormalizedEvent,
): Promise<string[] | undefined> {
  const before = event.pullRequest
    ? event.pullRequest.baseSha
    : typeof event.payload.before === "string"
      ? event.payload.before
      : undefined;
  if (!before || /^0+$/.test(before)) return undefined;
  const files = await context.mirrors.changedFiles(
    remoteUrl,
    before,
    event.sha,
    event.pullRequest ? "three-dot" : "two-dot",
  );
  return files.ok ? files.value : undefined;
}
