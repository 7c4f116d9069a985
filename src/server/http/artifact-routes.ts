/**
 * The artifact service in GitHub's v4 results protocol, so actions/upload-artifact@v4,
 * download-artifact@v4 and every action on `@actions/artifact` work unchanged against Conveyor
 * (docs/artifacts-and-caches.md):
 *
 * Twirp (JSON), under ACTIONS_RESULTS_URL's origin, `Authorization: Bearer <ACTIONS_RUNTIME_TOKEN>`:
 *   POST /twirp/github.actions.results.api.v1.ArtifactService/CreateArtifact        -> signed upload URL
 *   POST .../FinalizeArtifact      { size, hash }: checked against what was stored
 *   POST .../ListArtifacts         { name_filter?, id_filter? }
 *   POST .../GetSignedArtifactURL  -> signed download URL (application/zip)
 *   POST .../DeleteArtifact
 * Content goes up and down through signed blob URLs (blob-routes.ts: Azure's block protocol).
 *
 * And for people: GET /api/v1/runs/:runId/artifacts, GET /api/v1/artifacts/:artifactId/zip.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { StoredArtifact } from "../../store/artifacts.js";
import { ArtifactService } from "../artifacts/artifact-service.js";
import { ArtifactSweeper } from "../artifacts/artifact-sweeper.js";
import type { ArtifactCaller, BackendIds } from "../artifacts/artifact-service.js";
import { isRefusal } from "../caches/cache-service.js";
import type { Refusal } from "../caches/cache-service.js";
import type { ServerContext } from "../server-context.js";
import { jobMayRead, requireUserOrJob } from "./authenticate.js";
import { sendError } from "./errors.js";

const TWIRP = "/twirp/github.actions.results.api.v1.ArtifactService";

const TWIRP_CODES: Readonly<Record<number, string>> = {
  400: "invalid_argument",
  401: "unauthenticated",
  403: "permission_denied",
  404: "not_found",
  409: "already_exists",
};

export function registerArtifactRoutes(app: FastifyInstance, context: ServerContext): void {
  const service = new ArtifactService(context);
  registerTwirp(app, service);
  registerApi(app, context);
  // Expired artifacts are removed in the background for as long as the server runs.
  const sweeper = new ArtifactSweeper(service, (e) => app.log.error(e));
  app.addHook("onReady", async () => sweeper.start());
  app.addHook("onClose", async () => sweeper.stop());
}

/** Twirp's error shape; the clients show `msg`, and retry only 5xx answers. */
function twirpError(reply: FastifyReply, refusal: Refusal): FastifyReply {
  return reply
    .code(refusal.status)
    .send({ code: TWIRP_CODES[refusal.status] ?? "internal", msg: refusal.message, error: refusal.message });
}

/**
 * A protobuf JSON message's fields: the clients send proto names (`workflow_run_backend_id`), the
 * JSON mapping also allows lowerCamelCase; int64 fields arrive as strings, wrappers as plain values.
 */
class Message {
  constructor(private readonly body: Record<string, unknown>) {}

  private raw(name: string): unknown {
    if (name in this.body) return this.body[name];
    const camel = name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    return this.body[camel];
  }

  string(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined || value === null) return undefined;
    // A wrapper type written as an object (`{ "value": … }`) by a lenient client.
    if (typeof value === "object" && "value" in value) return String((value as { value: unknown }).value);
    return typeof value === "string" ? value : undefined;
  }

  integer(name: string): number | undefined {
    const value = this.raw(name);
    const unwrapped =
      value !== null && typeof value === "object" && "value" in value
        ? (value as { value: unknown }).value
        : value;
    if (typeof unwrapped === "number") return Number.isSafeInteger(unwrapped) ? unwrapped : Number.NaN;
    if (typeof unwrapped === "string" && /^\d+$/.test(unwrapped)) return Number(unwrapped);
    return unwrapped === undefined || unwrapped === null ? undefined : Number.NaN;
  }
}

function registerTwirp(app: FastifyInstance, service: ArtifactService): void {
  app.post(`${TWIRP}/:method`, async (request: FastifyRequest<{ Params: { method: string } }>, reply) => {
    const caller = await service.caller(request.headers.authorization);
    if (isRefusal(caller)) return twirpError(reply, caller);
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return twirpError(reply, {
        refused: true,
        status: 400,
        message: "the body must be a JSON object (Content-Type: application/json).",
      });
    }
    const message = new Message(body as Record<string, unknown>);
    const bad = (text: string) => twirpError(reply, { refused: true, status: 400, message: text });
    const ids = backendIds(message);
    if (typeof ids === "string") return bad(ids);
    const answer = await handle(service, caller, request.params.method, message, ids);
    if (typeof answer === "string") return bad(answer);
    if (isRefusal(answer)) return twirpError(reply, answer);
    return answer;
  });
}

async function handle(
  service: ArtifactService,
  caller: ArtifactCaller,
  method: string,
  message: Message,
  ids: BackendIds,
): Promise<object | Refusal | string> {
  const name = message.string("name");
  switch (method) {
    case "CreateArtifact": {
      if (name === undefined) return "the field 'name' is missing: it must be the artifact's name.";
      const url = await service.create(caller, {
        ...ids,
        name,
        mimeType: message.string("mime_type"),
        expiresAt: message.string("expires_at"),
      });
      return isRefusal(url) ? url : { ok: true, signed_upload_url: url };
    }
    case "FinalizeArtifact": {
      if (name === undefined) return "the field 'name' is missing: it must be the artifact's name.";
      const size = message.integer("size");
      if (size === undefined || Number.isNaN(size)) {
        return "the field 'size' must be the number of bytes uploaded.";
      }
      const artifact = await service.finalize(caller, { ...ids, name, size, hash: message.string("hash") });
      return isRefusal(artifact) ? artifact : { ok: true, artifact_id: String(artifact.id) };
    }
    case "ListArtifacts": {
      const id = message.integer("id_filter");
      if (Number.isNaN(id)) return "the field 'id_filter' must be an artifact id.";
      const artifacts = await service.list(caller, ids, { name: message.string("name_filter"), id });
      if (isRefusal(artifacts)) return artifacts;
      return { artifacts: artifacts.map(monolithArtifact) };
    }
    case "GetSignedArtifactURL": {
      if (name === undefined) return "the field 'name' is missing: it must be the artifact's name.";
      const artifact = await service.find(caller, { ...ids, name });
      return isRefusal(artifact) ? artifact : { signed_url: service.downloadUrl(artifact) };
    }
    case "DeleteArtifact": {
      if (name === undefined) return "the field 'name' is missing: it must be the artifact's name.";
      const artifact = await service.find(caller, { ...ids, name });
      if (isRefusal(artifact)) return artifact;
      await service.remove(artifact);
      return { ok: true, artifact_id: String(artifact.id) };
    }
    default:
      return { refused: true, status: 404, message: `the ArtifactService has no method ${method}.` };
  }
}

function backendIds(message: Message): BackendIds | string {
  const runBackendId = message.string("workflow_run_backend_id");
  if (runBackendId === undefined) {
    return "the field 'workflow_run_backend_id' is missing: it is the run id in the token's Actions.Results scope.";
  }
  return { runBackendId, jobBackendId: message.string("workflow_job_run_backend_id") ?? "" };
}

function monolithArtifact(artifact: StoredArtifact) {
  return {
    workflow_run_backend_id: String(artifact.runId),
    workflow_job_run_backend_id: String(artifact.jobId),
    database_id: String(artifact.id),
    name: artifact.name,
    size: String(artifact.size),
    created_at: artifact.finalizedAt ?? artifact.createdAt,
    ...(artifact.digest ? { digest: artifact.digest } : {}),
    // Not in GitHub's message (its clients ignore fields they do not know); Conveyor's runner reads it.
    expires_at: artifact.expiresAt,
  };
}

function registerApi(app: FastifyInstance, context: ServerContext): void {
  const { store } = context;

  app.get(
    `/api/v1/runs/:runId/artifacts`,
    async (request: FastifyRequest<{ Params: { runId: string } }>, reply) => {
      const caller = await requireUserOrJob(context, request, reply);
      if (!caller) return reply;
      const run = await store.runs.byId(Number(request.params.runId));
      if (!run) return sendError(reply, 404, `no run ${request.params.runId}.`);
      if (!jobMayRead(caller, run.repositoryId, "actions", reply)) return reply;
      const artifacts = await store.artifacts.finalizedIn(run.id);
      return {
        totalCount: artifacts.length,
        artifacts: artifacts.map((a) => ({
          id: a.id,
          name: a.name,
          size: a.size,
          digest: a.digest,
          mimeType: a.mimeType,
          attempt: a.attempt,
          createdAt: a.finalizedAt ?? a.createdAt,
          expiresAt: a.expiresAt,
          archiveDownloadUrl: `${context.publicUrl}/api/v1/artifacts/${a.id}/zip`,
        })),
      };
    },
  );

  app.get(
    `/api/v1/artifacts/:artifactId/zip`,
    async (request: FastifyRequest<{ Params: { artifactId: string } }>, reply) => {
      const caller = await requireUserOrJob(context, request, reply);
      if (!caller) return reply;
      const artifact = /^\d+$/.test(request.params.artifactId)
        ? await store.artifacts.byId(Number(request.params.artifactId))
        : undefined;
      if (!artifact || artifact.status !== "finalized") {
        return sendError(reply, 404, `no artifact ${request.params.artifactId}.`);
      }
      if (!jobMayRead(caller, artifact.repositoryId, "actions", reply)) return reply;
      if (Date.parse(artifact.expiresAt) <= Date.now()) {
        return sendError(reply, 410, `the artifact ${artifact.id} expired at ${artifact.expiresAt}.`);
      }
      const stream = await store.blobs.read(artifact.blob);
      if (!stream) return sendError(reply, 404, `the content of artifact ${artifact.id} is gone.`);
      const fileName = artifact.mimeType === "application/zip" ? `${artifact.name}.zip` : artifact.name;
      return reply
        .header("content-type", artifact.mimeType)
        .header("content-length", String(artifact.size))
        .header("content-disposition", `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`)
        .send(stream);
    },
  );
}
