/**
 * Secrets people and runners present: API tokens, runner credentials, registration tokens,
 * passwords. Only hashes are stored; comparisons take the same time whatever matches.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** A new random token: a readable prefix says what it is (`cvt_` API token, `cvr_` runner...). */
export function newSecretToken(prefix: string): string {
  return prefix + randomBytes(24).toString("base64url");
}

/** Tokens are 192 random bits, so one round of SHA-256 is enough to store them safely. */
export function hashSecretToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Compares two hex digests of equal length without an early exit. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}

const SCRYPT_KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, SCRYPT_KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$<salt hex>$<key hex>`: people's passwords are short, so they get a slow hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString("hex")}$${(await scryptAsync(password, salt)).toString("hex")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, key] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !key) return false;
  const derived = await scryptAsync(password, Buffer.from(salt, "hex"));
  return sameDigest(derived.toString("hex"), key);
}
