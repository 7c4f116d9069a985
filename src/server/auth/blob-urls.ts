/**
 * Signed blob URLs: what the artifact and cache services hand GitHub's clients to upload and
 * download content, as GitHub hands out Azure SAS URLs. The URL itself is the credential (the
 * clients send no token there): it names one blob, read or write, until it expires, signed with
 * the server key. Shape: `/_blobs/<grant>/<file name>?sig=<signature>`, which the Azure SDK the
 * clients use parses as account/container/blob whatever the host looks like. The signature is the
 * `sig` parameter, as in Azure's SAS URLs, because that is what the clients mask in logs and leave
 * out when they print a URL.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const BLOB_URL_PREFIX = "/_blobs";

export interface BlobGrant {
  /** The BlobStore key. */
  readonly blob: string;
  readonly access: "read" | "write";
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** Writes: the most bytes the blob may hold. */
  readonly limit?: number;
  /** Reads: the Content-Type served (default application/octet-stream). */
  readonly contentType?: string;
  /** Reads: the file name offered in Content-Disposition (a file artifact downloaded as it is). */
  readonly fileName?: string;
  /** Writes: follow the upload's SHA-256 as its blocks arrive (src/server/artifacts/upload-digests.ts). */
  readonly digest?: boolean;
}

interface GrantJson {
  readonly b: string;
  readonly a: "r" | "w";
  readonly e: number;
  readonly l?: number;
  readonly t?: string;
  readonly n?: string;
  readonly d?: 1;
}

export class BlobUrls {
  constructor(private readonly key: Buffer) {}

  /** The path (under the server's public URL) granting `grant`; `fileName` is only for people and SDKs. */
  path(grant: BlobGrant, fileName: string): string {
    const json: GrantJson = {
      b: grant.blob,
      a: grant.access === "read" ? "r" : "w",
      e: Math.floor(grant.expiresAt / 1000),
      ...(grant.limit !== undefined ? { l: grant.limit } : {}),
      ...(grant.contentType !== undefined ? { t: grant.contentType } : {}),
      ...(grant.fileName !== undefined ? { n: grant.fileName } : {}),
      ...(grant.digest === true ? { d: 1 as const } : {}),
    };
    const body = Buffer.from(JSON.stringify(json)).toString("base64url");
    return `${BLOB_URL_PREFIX}/${body}/${encodeURIComponent(fileName)}?sig=${this.sign(body)}`;
  }

  /** The grant of a URL's `body` and `sig` this server signed and that has not expired; undefined otherwise. */
  verify(body: string, signature: string | undefined, now: number = Date.now()): BlobGrant | undefined {
    if (!body || !signature) return undefined;
    const expected = Buffer.from(this.sign(body), "base64url");
    const given = Buffer.from(signature, "base64url");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const json = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Partial<GrantJson>;
      if (typeof json.b !== "string" || (json.a !== "r" && json.a !== "w") || typeof json.e !== "number")
        return undefined;
      if (json.e * 1000 < now) return undefined;
      return {
        blob: json.b,
        access: json.a === "r" ? "read" : "write",
        expiresAt: json.e * 1000,
        ...(typeof json.l === "number" ? { limit: json.l } : {}),
        ...(typeof json.t === "string" ? { contentType: json.t } : {}),
        ...(typeof json.n === "string" ? { fileName: json.n } : {}),
        ...(json.d === 1 ? { digest: true } : {}),
      };
    } catch {
      return undefined;
    }
  }

  private sign(body: string): string {
    return createHmac("sha256", this.key).update(`blob-url:${body}`).digest("base64url");
  }
}
