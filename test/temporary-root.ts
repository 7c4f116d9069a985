/**
 * Vitest's global setup: one temporary folder for the whole test run. Every test worker and every
 * process a test starts gets it as TMPDIR, so the folders tests make (repositories, servers' data,
 * runs' workspaces) all land in it, and it is removed when the run ends: repeated runs leave nothing
 * in /tmp. CONVEYOR_KEEP_TEST_FILES=1 keeps it, to look at after a failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "conveyor-tests-"));
  process.env.TMPDIR = root;
  return () => {
    if (process.env.CONVEYOR_KEEP_TEST_FILES === "1") {
      process.stderr.write(`Test files kept in ${root}\n`);
      return;
    }
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      // A process a test left running may still be writing there: a note, not a failed run.
      process.stderr.write(`Could not remove ${root}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };
}
