/**
 * The cache service in both protocols GitHub's `@actions/cache` speaks, so actions/cache and every
 * action built on the toolkit work unchanged against Conveyor (docs/artifacts-and-caches.md):
 *
 * v1 REST, under ACTIONS_CACHE_URL:
 *   GET   _apis/artifactcache/cache?keys=a,b&version=v   lookup: 200 with archiveLocation, or 204
 *   GET   _apis/artifactcache/caches?key=k               entries with that key (the client's diagnostics)
 *   POST  _apis/artifactcache/caches                     reserve { key, version, cacheSize } -> { cacheId }
 *   PATCH _apis/artifactcache/caches/:id                 a part, `Content-Range: bytes a-b/*` (any order)
 *   POST  _apis/artifactcache/caches/:id                 commit { size }
 * v2 Twirp (JSON), under ACTIONS_RESULTS_URL:
 *   CreateCacheEntry -> signed upload URL (blob-routes.ts), FinalizeCacheEntryUpload,
 *   GetCacheEntryDownloadURL.
 * And for people: GET/DELETE /api/v1/repos/:owner/:name/caches[/:id], with the quota.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CacheEntry } from "../../store/caches.js";
import { CacheService, isRefusal } from "../caches/cache-service.js";
import type { CacheCaller, Refusal } from "../caches/cache-service.js";
import type { ServerContext } from "../server-context.js";
import { requireUser } from "./authenticate.js";
import { checkBody } from "./body-checks.js";
import { sendError } from "./errors.js";

const V1 = "/_apis/artifactcache";
const TWIRP = "/twirp/github.actions.results.api.v1.CacheService";

export function registerCacheRoutes(app: FastifyInstance, context: ServerContext): void {
  const service = new CacheService(context);

  void app.register(async (scope) => {
    // Upload parts are streamed into the blob store, never parsed or buffered here.
    scope.addContentTypeParser("application/octet-stream", (_request, _payload, done) =>
      done(null, undefined),
    );
    registerV1(scope, service);
  });
  registerTwirp(app, service);
  registerApi(app, context, service);
}

/** The v1 client reads `message` from error bodies; `error` is what every other Conveyor answer has. */
function v1Error(reply: FastifyReply, refusal: Refusal): FastifyReply {
  return reply.code(refusal.status).send({ error: refusal.message, message: refusal.message });
}

function registerV1(app: FastifyInstance, service: CacheService): void {
  const withCaller = <R extends FastifyRequest>(
    handler: (request: R, reply: FastifyReply, caller: CacheCaller) => Promise<unknown>,
  ) => {
    return async (request: R, reply: FastifyReply) => {
      const caller = await service.caller(request.headers.authorization);
      if (isRefusal(caller)) return v1Error(reply, caller);
      return handler(request, reply, caller);
    };
  };

  app.get(
    `${V1}/cache`,
    withCaller(
      async (
        request: FastifyRequest<{ Querystring: { keys?: string; version?: string } }>,
        reply,
        caller,
      ) => {
        const { keys, version } = request.query;
        if (!keys || !version) {
          return v1Error(reply, {
            refused: true,
            status: 400,
            message: "give `keys` (comma-separated) and `version`.",
          });
        }
        const entry = await service.lookup(caller, keys.split(","), version);
        if (!entry) return reply.code(204).send();
        return v1Entry(entry, service.downloadUrl(entry));
      },
    ),
  );

  app.get(
    `${V1}/caches`,
    withCaller(async (request: FastifyRequest<{ Querystring: { key?: string } }>, _reply, caller) => {
      const key = request.query.key ?? "";
      const entries = (await service.visible(caller)).filter((e) => e.key === key);
      return { totalCount: entries.length, artifactCaches: entries.map((e) => v1Entry(e)) };
    }),
  );

  app.post(
    `${V1}/caches`,
    withCaller(async (request, reply, caller) => {
      const body = checkBody<{ key: string; version: string; cacheSize?: number }>(
        request.body,
        { key: "string", version: "string" },
        { cacheSize: "number" },
      );
      if (!body.ok) return v1Error(reply, { refused: true, status: 400, message: body.message });
      const entry = await service.reserve(caller, body.value.key, body.value.version, body.value.cacheSize);
      if (isRefusal(entry)) return v1Error(reply, entry);
      return reply.code(201).send({ cacheId: entry.id });
    }),
  );

  app.patch(
    `${V1}/caches/:cacheId`,
    withCaller(async (request: FastifyRequest<{ Params: { cacheId: string } }>, reply, caller) => {
      const range = contentRangeOf(request.headers["content-range"]);
      if (!range) {
        return v1Error(reply, {
          refused: true,
          status: 400,
          message:
            "the Content-Range header must be `bytes <start>-<end>/*` (inclusive, as the toolkit sends).",
        });
      }
      const uploaded = await service.uploadPart(caller, Number(request.params.cacheId), range, request.raw);
      if (isRefusal(uploaded)) return v1Error(reply, uploaded);
      return reply.code(204).send();
    }),
  );

  app.post(
    `${V1}/caches/:cacheId`,
    withCaller(async (request: FastifyRequest<{ Params: { cacheId: string } }>, reply, caller) => {
      const body = checkBody<{ size: number }>(request.body, { size: "number" });
      if (!body.ok) return v1Error(reply, { refused: true, status: 400, message: body.message });
      const committed = await service.commitParts(caller, Number(request.params.cacheId), body.value.size);
      if (isRefusal(committed)) return v1Error(reply, committed);
      return reply.code(204).send();
    }),
  );
}

function v1Entry(entry: CacheEntry, archiveLocation?: string) {
  return {
    cacheKey: entry.key,
    scope: entry.scope,
    cacheVersion: entry.version,
    creationTime: entry.createdAt,
    ...(archiveLocation ? { archiveLocation } : {}),
  };
}

/** `bytes a-b/*` or `bytes a-b/total`. */
export function contentRangeOf(header: string | undefined): { start: number; end: number } | undefined {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return Number.isSafeInteger(start) && Number.isSafeInteger(end) && start <= end
    ? { start, end }
    : undefined;
}

const TWIRP_CODES: Readonly<Record<number, string>> = {
  400: "invalid_argument",
  401: "unauthenticated",
  403: "permission_denied",
  404: "not_found",
  409: "already_exists",
};

function twirpError(reply: FastifyReply, refusal: Refusal): FastifyReply {
  return reply
    .code(refusal.status)
    .send({ code: TWIRP_CODES[refusal.status] ?? "internal", msg: refusal.message, error: refusal.message });
}

function registerTwirp(app: FastifyInstance, service: CacheService): void {
  app.post(`${TWIRP}/:method`, async (request: FastifyRequest<{ Params: { method: string } }>, reply) => {
    const caller = await service.caller(request.headers.authorization);
    if (isRefusal(caller)) return twirpError(reply, caller);
    const bad = (message: string) => twirpError(reply, { refused: true, status: 400, message });
    switch (request.params.method) {
      case "CreateCacheEntry": {
        const body = checkBody<{ key: string; version: string }>(request.body, {
          key: "string",
          version: "string",
        });
        if (!body.ok) return bad(body.message);
        const entry = await service.reserve(caller, body.value.key, body.value.version);
        if (isRefusal(entry)) return twirpError(reply, entry);
        return { ok: true, signed_upload_url: service.uploadUrl(entry) };
      }
      case "FinalizeCacheEntryUpload": {
        const body = checkBody<{ key: string; version: string; size_bytes: string | number }>(request.body, {
          key: "string",
          version: "string",
        });
        if (!body.ok) return bad(body.message);
        // int64 fields arrive as JSON strings (protobuf's JSON mapping).
        const size = Number(body.value.size_bytes ?? 0);
        if (!Number.isSafeInteger(size) || size < 0)
          return bad("the field 'size_bytes' must be a number of bytes.");
        const entry = await service.finalize(caller, body.value.key, body.value.version, size);
        if (isRefusal(entry)) return { ok: false, entry_id: "0", message: entry.message };
        return { ok: true, entry_id: String(entry.id) };
      }
      case "GetCacheEntryDownloadURL": {
        const body = checkBody<{ key: string; version: string; restore_keys?: string[] }>(
          request.body,
          { key: "string", version: "string" },
          { restore_keys: "string[]" },
        );
        if (!body.ok) return bad(body.message);
        const entry = await service.lookup(
          caller,
          [body.value.key, ...(body.value.restore_keys ?? [])],
          body.value.version,
        );
        if (!entry) return { ok: false, signed_download_url: "", matched_key: "" };
        return { ok: true, signed_download_url: service.downloadUrl(entry), matched_key: entry.key };
      }
      default:
        return twirpError(reply, {
          refused: true,
          status: 404,
          message: `the CacheService has no method ${request.params.method}.`,
        });
    }
  });
}

type RepoParams = { owner: string; name: string };

function registerApi(app: FastifyInstance, context: ServerContext, service: CacheService): void {
  const repositoryOf = async (params: RepoParams, reply: FastifyReply) => {
    const repository = await context.store.repositories.byName(params.owner, params.name);
    if (!repository) sendError(reply, 404, `no repository ${params.owner}/${params.name}.`);
    return repository;
  };

  app.get(
    `/api/v1/repos/:owner/:name/caches`,
    async (request: FastifyRequest<{ Params: RepoParams }>, reply) => {
      if (!(await requireUser(context, request, reply))) return reply;
      const repository = await repositoryOf(request.params, reply);
      if (!repository) return reply;
      const entries = await context.store.caches.list(repository.id);
      return {
        totalSize: entries.reduce((sum, e) => sum + e.size, 0),
        quota: service.quota,
        caches: entries.map((e) => ({
          id: e.id,
          key: e.key,
          version: e.version,
          ref: e.scope,
          size: e.size,
          createdAt: e.createdAt,
          lastUsedAt: e.lastUsedAt,
        })),
      };
    },
  );

  app.delete(
    `/api/v1/repos/:owner/:name/caches/:cacheId`,
    async (request: FastifyRequest<{ Params: RepoParams & { cacheId: string } }>, reply) => {
      const user = await requireUser(context, request, reply);
      if (!user) return reply;
      const repository = await repositoryOf(request.params, reply);
      if (!repository) return reply;
      if (user.login.toLowerCase() !== repository.owner.toLowerCase() && !user.isAdmin) {
        return sendError(
          reply,
          403,
          `only ${repository.owner} or an administrator can delete caches of ${repository.fullName}.`,
        );
      }
      const entry = await context.store.caches.byId(Number(request.params.cacheId));
      if (!entry || entry.repositoryId !== repository.id || entry.status !== "committed") {
        return sendError(reply, 404, `no cache ${request.params.cacheId} in ${repository.fullName}.`);
      }
      await service.remove(entry);
      return reply.code(204).send();
    },
  );
}
