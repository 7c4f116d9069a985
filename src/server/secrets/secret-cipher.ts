/**
 * Secrets at rest: AES-256-GCM under the master key, with the secret's scope and name as
 * additional authenticated data, so a ciphertext copied to another scope or name does not decrypt.
 * Stored as `v1:<iv>:<tag>:<ciphertext>` (base64). Pure apart from the random IV.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { ScopeKey } from "./secret-scope.js";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export const MASTER_KEY_BYTES = 32;

/** What binds a ciphertext to where it is stored. */
export function associatedData(scope: ScopeKey, name: string): Buffer {
  return Buffer.from(JSON.stringify([VERSION, scope.repositoryId, scope.environment, name]), "utf8");
}

export function encryptSecret(key: Buffer, scope: ScopeKey, name: string, value: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(scope, name));
  const body = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  return [
    VERSION,
    iv.toString("base64"),
    cipher.getAuthTag().toString("base64"),
    body.toString("base64"),
  ].join(":");
}

/** The plain value, or undefined when the text was tampered with, moved, or made under another key. */
export function decryptSecret(
  key: Buffer,
  scope: ScopeKey,
  name: string,
  stored: string,
): string | undefined {
  const parts = stored.split(":");
  if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
  const [, ivText, tagText, bodyText] = parts as [string, string, string, string];
  const iv = Buffer.from(ivText, "base64");
  const tag = Buffer.from(tagText, "base64");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(scope, name));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(bodyText, "base64")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    return undefined;
  }
}
