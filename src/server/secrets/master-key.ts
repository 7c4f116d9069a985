/**
 * The master key secrets are encrypted under: CONVEYOR_MASTER_KEY (base64 of 32 bytes) when set,
 * else `<data dir>/master.key`, made on first start and readable by its owner only. Every server
 * process sharing a database must use the same key.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { error, failed, ok } from "../../diagnostic.js";
import type { Result } from "../../diagnostic.js";
import { MASTER_KEY_BYTES } from "./secret-cipher.js";

export const MASTER_KEY_VARIABLE = "CONVEYOR_MASTER_KEY";

/** The key from the variable's text (pure): base64 of exactly 32 bytes. */
export function parseMasterKey(text: string, source: string): Result<Buffer> {
  const trimmed = text.trim();
  const decoded = /^[A-Za-z0-9+/_-]+={0,2}$/u.test(trimmed)
    ? Buffer.from(trimmed, "base64")
    : Buffer.alloc(0);
  if (decoded.length !== MASTER_KEY_BYTES) {
    return failed([
      error(
        `${source} must be base64 of 32 random bytes (make one with \`openssl rand -base64 32\`); it holds ${decoded.length === 0 ? "no valid base64" : `${decoded.length} bytes`}.`,
      ),
    ]);
  }
  return ok(decoded);
}

/** The master key from the environment or the key file, the file made when neither exists. */
export function loadMasterKey(path: string, environment: NodeJS.ProcessEnv = process.env): Result<Buffer> {
  const fromEnvironment = environment[MASTER_KEY_VARIABLE];
  if (fromEnvironment !== undefined && fromEnvironment !== "") {
    return parseMasterKey(fromEnvironment, `the environment variable ${MASTER_KEY_VARIABLE}`);
  }
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, randomBytes(MASTER_KEY_BYTES).toString("base64") + "\n", {
        mode: 0o600,
        flag: "wx",
      });
    } catch (e) {
      // Another process made it first: use theirs.
      if (!(e instanceof Error && "code" in e && e.code === "EEXIST")) throw e;
    }
  }
  return parseMasterKey(readFileSync(path, "utf8"), `the master key file ${path}`);
}
