/**
 * The server key: 32 random bytes in `<data dir>/server.key`, made on first start and readable by
 * its owner only. Job tokens and runtime tokens are signed with it (each under its own label), so
 * every server process sharing the data directory accepts them.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export function readServerKey(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
    } catch (e) {
      // Another process made it first: use theirs.
      if (!(e instanceof Error && "code" in e && e.code === "EEXIST")) throw e;
    }
  }
  return Buffer.from(readFileSync(path, "utf8").trim(), "hex");
}
