/**
 * Whether a webhook delivery comes from the forge that shares the webhook's secret. Pure.
 *
 * - GitHub: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the secret.
 * - Gitea: `X-Gitea-Signature: <hex>`, the same HMAC without the prefix; Forgejo sends it as
 *   `X-Forgejo-Signature` (and as Gitea's header, read when Forgejo's is absent).
 * - GitLab: `X-Gitlab-Token: <secret>`, the secret itself. It is compared through SHA-256 digests,
 *   which always have the same length, so the time taken says nothing about the secret's length.
 *
 * Every comparison is constant-time over bytes of equal length, and over the body's raw bytes:
 * JSON parsed and printed again would not be the bytes the forge signed. A verdict never holds
 * the secret or the header's value (for GitLab the header's value is a secret).
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { PROVIDER_NAMES, type Provider } from "./deliveries.js";
import { type WebhookHeaders, readHeader } from "./headers.js";

export type SignatureFailure = "no-secret" | "missing-header" | "malformed" | "mismatch";

export type SignatureCheck =
  | { readonly valid: true; readonly header: string }
  | {
      readonly valid: false;
      readonly failure: SignatureFailure;
      /** The header that was checked (or expected). */
      readonly header: string;
      /** For the forge's delivery log and ours: what failed and what to do. */
      readonly message: string;
    };

const HEX_SHA256 = /^[0-9a-f]{64}$/iu;

export function verifyDeliverySignature(
  provider: Provider,
  headers: WebhookHeaders,
  body: Uint8Array,
  secret: string,
): SignatureCheck {
  switch (provider) {
    case "github":
      return verifyHmac(provider, headers, ["X-Hub-Signature-256"], "sha256=", body, secret);
    case "gitea":
      return verifyHmac(provider, headers, ["X-Gitea-Signature"], "", body, secret);
    case "forgejo":
      return verifyHmac(provider, headers, ["X-Forgejo-Signature", "X-Gitea-Signature"], "", body, secret);
    case "gitlab":
      return verifyGitLabToken(headers, secret);
  }
}

function verifyHmac(
  provider: Provider,
  headers: WebhookHeaders,
  names: readonly string[],
  prefix: string,
  body: Uint8Array,
  secret: string,
): SignatureCheck {
  const forge = PROVIDER_NAMES[provider];
  const found = names
    .map((name) => ({ name, read: readHeader(headers, name.toLowerCase()) }))
    .find(({ read }) => read.kind !== "absent");
  const header = found?.name ?? (names[0] as string);
  if (secret === "") return noSecret(header);
  if (!found || found.read.kind === "absent") {
    return failure(
      "missing-header",
      header,
      `the delivery has no ${header} header: give the ${forge} webhook a secret, the same one Conveyor has for this repository`,
    );
  }
  if (found.read.kind === "repeated") {
    return failure("malformed", header, `the delivery sends the ${header} header more than once`);
  }
  const value = found.read.value;
  const hex = value.startsWith(prefix) ? value.slice(prefix.length) : undefined;
  if (hex === undefined || !HEX_SHA256.test(hex)) {
    const shape = prefix === "" ? "64 hexadecimal digits" : `'${prefix}' followed by 64 hexadecimal digits`;
    return failure("malformed", header, `the ${header} header is not ${shape} (an HMAC-SHA256)`);
  }
  const expected = createHmac("sha256", secret).update(body).digest();
  if (timingSafeEqual(Buffer.from(hex, "hex"), expected)) return { valid: true, header };
  return failure(
    "mismatch",
    header,
    `the ${header} header does not match the body signed with this repository's webhook secret: the ${forge} webhook has another secret, or the body changed on the way`,
  );
}

function verifyGitLabToken(headers: WebhookHeaders, secret: string): SignatureCheck {
  const header = "X-Gitlab-Token";
  if (secret === "") return noSecret(header);
  const read = readHeader(headers, header.toLowerCase());
  if (read.kind === "absent") {
    return failure(
      "missing-header",
      header,
      `the delivery has no ${header} header: set the GitLab webhook's secret token to this repository's webhook secret`,
    );
  }
  if (read.kind === "repeated")
    return failure("malformed", header, `the delivery sends the ${header} header more than once`);
  if (timingSafeEqual(sha256(read.value), sha256(secret))) return { valid: true, header };
  return failure(
    "mismatch",
    header,
    `the ${header} header is not this repository's webhook secret: set the GitLab webhook's secret token to it`,
  );
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function noSecret(header: string): SignatureCheck {
  return failure(
    "no-secret",
    header,
    "this repository has no webhook secret, and Conveyor accepts only signed deliveries: set a secret in Conveyor and the same one on the forge's webhook",
  );
}

function failure(kind: SignatureFailure, header: string, message: string): SignatureCheck {
  return { valid: false, failure: kind, header, message };
}
