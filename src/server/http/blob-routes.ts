/**
 * The storage side of signed blob URLs (src/server/auth/blob-urls.ts), speaking the part of Azure
 * Blob Storage's REST API that GitHub's artifact and cache clients use through the Azure SDK:
 *
 *   PUT  ?comp=block&blockid=<id>   one block of an upload (in parallel, in any order)
 *   PUT  ?comp=blocklist            the XML list of block ids: the blob is those blocks in that order
 *   PUT  (x-ms-blob-type: BlockBlob) the whole blob in one request
 *   GET  (Range / x-ms-range)       the blob, or a range of it
 *
 * A blob is written once: a second write of a committed blob is refused, so an entry a service
 * has finalized never changes under its readers. Errors are Azure's XML, which the SDK reports.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BlobTooLargeError, concatenateBlobs } from "../../store/blobs.js";
import type { BlobStore } from "../../store/blobs.js";
import { BLOB_URL_PREFIX } from "../auth/blob-urls.js";
import type { BlobGrant } from "../auth/blob-urls.js";
import type { UploadDigests } from "../artifacts/upload-digests.js";
import type { ServerContext } from "../server-context.js";

/** A block list is a few kilobytes; more is not a block list. */
const MAX_BLOCK_LIST_BYTES = 4 * 1024 * 1024;
/** Azure's limit on a block id (before base64). */
const MAX_BLOCK_ID_BYTES = 64;

/** `*` is `<grant>/<file name>`: a wildcard, as grants are longer than a route parameter may be. */
type BlobRequest = FastifyRequest<{ Params: { "*": string }; Querystring: Record<string, string> }>;

export function registerBlobRoutes(app: FastifyInstance, context: ServerContext): void {
  void app.register(async (scope) => {
    // Bodies are streamed into the blob store as they arrive, never parsed or buffered here, whatever
    // their Content-Type (the server's JSON and text parsers would otherwise take some).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));

    scope.get(`${BLOB_URL_PREFIX}/*`, async (request: BlobRequest, reply) => {
      const grant = grantOf(context, request, reply, "read");
      if (!grant) return reply;
      return serveBlob(context.store.blobs, grant, request, reply);
    });

    scope.put(`${BLOB_URL_PREFIX}/*`, async (request: BlobRequest, reply) => {
      const grant = grantOf(context, request, reply, "write");
      if (!grant) return reply;
      const blobs = context.store.blobs;
      if ((await blobs.size(grant.blob)) !== undefined) {
        return azureError(reply, 409, "BlobAlreadyExists", "This blob is committed and cannot change.");
      }
      // Refused before reading (a client told so mid-body sees a broken connection and retries);
      // the connection closes after the answer rather than wait for a body nobody reads.
      const declared = Number(request.headers["content-length"]);
      if (grant.limit !== undefined && request.query.comp !== "blocklist" && declared > grant.limit) {
        void reply.header("connection", "close");
        return azureError(
          reply,
          413,
          "RequestBodyTooLarge",
          `The upload is over the limit of ${grant.limit} bytes.`,
        );
      }
      try {
        switch (request.query.comp) {
          case "block":
            return await putBlock(blobs, grant, request, reply, context.uploadDigests);
          case "blocklist":
            return await putBlockList(blobs, grant, request, reply, context.uploadDigests);
          case undefined:
            await blobs.write(grant.blob, request.raw, grant.limit);
            return reply.code(201).send();
          default:
            return azureError(
              reply,
              400,
              "InvalidQueryParameterValue",
              `comp=${request.query.comp} is not supported.`,
            );
        }
      } catch (e) {
        if (e instanceof BlobTooLargeError) {
          return azureError(
            reply,
            413,
            "RequestBodyTooLarge",
            `The upload is over the limit of ${e.limit} bytes.`,
          );
        }
        throw e;
      }
    });
  });
}

function grantOf(
  context: ServerContext,
  request: BlobRequest,
  reply: FastifyReply,
  access: BlobGrant["access"],
): BlobGrant | undefined {
  const body = request.params["*"].split("/")[0] ?? "";
  const grant = context.blobUrls.verify(body, request.query.sig);
  if (!grant) {
    azureError(
      reply,
      403,
      "AuthenticationFailed",
      "This URL is not valid or has expired: ask the service for a new one.",
    );
    return undefined;
  }
  if (grant.access !== access) {
    azureError(reply, 403, "AuthorizationPermissionMismatch", `This URL does not grant ${access} access.`);
    return undefined;
  }
  return grant;
}

async function serveBlob(
  blobs: BlobStore,
  grant: BlobGrant,
  request: BlobRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const size = await blobs.size(grant.blob);
  if (size === undefined) return azureError(reply, 404, "BlobNotFound", "The specified blob does not exist.");
  const header = request.headers["x-ms-range"] ?? request.headers.range;
  const range = typeof header === "string" ? parseRange(header, size) : undefined;
  if (range === "unsatisfiable") {
    void reply.header("content-range", `bytes */${size}`);
    return azureError(
      reply,
      416,
      "InvalidRange",
      `The range '${String(header)}' is not within the ${size} bytes.`,
    );
  }
  const stream = await blobs.read(grant.blob, range);
  if (!stream) return azureError(reply, 404, "BlobNotFound", "The specified blob does not exist.");
  void reply
    .header("content-type", grant.contentType ?? "application/octet-stream")
    .header("accept-ranges", "bytes")
    .header("x-ms-blob-type", "BlockBlob")
    .header("content-length", String(range ? range.end - range.start + 1 : size));
  if (grant.fileName !== undefined) {
    void reply.header(
      "content-disposition",
      `attachment; filename*=UTF-8''${encodeURIComponent(grant.fileName)}`,
    );
  }
  if (range) void reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${size}`);
  return reply.send(stream);
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range only, as the clients ask). */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start > end || start >= size ? "unsatisfiable" : { start, end };
}

async function putBlock(
  blobs: BlobStore,
  grant: BlobGrant,
  request: BlobRequest,
  reply: FastifyReply,
  digests: UploadDigests,
): Promise<FastifyReply> {
  const key = blockKey(grant.blob, request.query.blockid);
  if (!key) {
    return azureError(
      reply,
      400,
      "InvalidQueryParameterValue",
      "blockid must be base64 of at most 64 bytes.",
    );
  }
  await blobs.write(key, request.raw, grant.limit);
  if (grant.digest) digests.blockStored(grant.blob, request.query.blockid ?? "", key);
  return reply.code(201).send();
}

async function putBlockList(
  blobs: BlobStore,
  grant: BlobGrant,
  request: BlobRequest,
  reply: FastifyReply,
  digests: UploadDigests,
): Promise<FastifyReply> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BLOCK_LIST_BYTES)
      return azureError(reply, 413, "RequestBodyTooLarge", "The block list is too long.");
    chunks.push(chunk);
  }
  const ids = blockIdsOf(Buffer.concat(chunks).toString("utf8"));
  if (!ids) return azureError(reply, 400, "InvalidXmlDocument", "The body is not an XML <BlockList>.");
  const keys: string[] = [];
  let total = 0;
  for (const id of ids) {
    const key = blockKey(grant.blob, id);
    const size = key ? await blobs.size(key) : undefined;
    if (!key || size === undefined) {
      return azureError(
        reply,
        400,
        "InvalidBlockList",
        `The block '${id}' was not uploaded: upload it, then commit the list again.`,
      );
    }
    total += size;
    keys.push(key);
  }
  if (grant.limit !== undefined && total > grant.limit) {
    return azureError(
      reply,
      413,
      "RequestBodyTooLarge",
      `The blocks add up to more than ${grant.limit} bytes.`,
    );
  }
  if (grant.digest) await digests.committing(grant.blob, ids);
  // The blocks become the blob where they lie (written once, not copied); a list naming a block
  // twice, which moving cannot do, is copied.
  if (new Set(keys).size === keys.length) await blobs.compose(grant.blob, keys);
  else await blobs.write(grant.blob, concatenateBlobs(blobs, keys), grant.limit);
  await blobs.deleteAll(blocksPrefix(grant.blob));
  return reply.code(201).send();
}

/** The ids of `<Latest>`, `<Committed>` and `<Uncommitted>` elements in order; undefined when not a block list. */
export function blockIdsOf(xml: string): string[] | undefined {
  if (!/<BlockList>/.test(xml)) return undefined;
  return [...xml.matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)].map((m) => m[2]?.trim() ?? "");
}

function blocksPrefix(blob: string): string {
  return `${blob}.blocks`;
}

/** Where a block waits for its list: its id as hex (ids are base64, which is not a key). */
function blockKey(blob: string, id: string | undefined): string | undefined {
  if (id === undefined || !/^[A-Za-z0-9+/=_-]+$/.test(id)) return undefined;
  const bytes = Buffer.from(id, "base64");
  if (bytes.length === 0 || bytes.length > MAX_BLOCK_ID_BYTES) return undefined;
  return `${blocksPrefix(blob)}/${bytes.toString("hex")}`;
}

function azureError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  const escaped = message.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return reply
    .code(status)
    .header("x-ms-error-code", code)
    .type("application/xml")
    .send(
      `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${escaped}</Message></Error>`,
    );
}
