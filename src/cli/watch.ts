/**
 * `conveyor run --watch`: runs, then runs again whenever a file changes. Changes git ignores
 * (and `.git/`, `.conveyor/`) do not count. A change during a run cancels it and starts afresh.
 */
import { watch } from "node:fs";
import { runCommand as run } from "../local/run-command.js";

/** How long to wait for a burst of changes (an editor saving several files) to settle. */
const SETTLE_MS = 300;

export async function watchAndRerun(
  root: string,
  once: (signal: AbortSignal) => Promise<number>,
): Promise<void> {
  let current: AbortController | undefined;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const changed = new Set<string>();

  const start = (): void => {
    current = new AbortController();
    const mine = current;
    running = once(mine.signal).finally(() => {
      if (current === mine) process.stderr.write("\nWatching for changes (Ctrl-C to stop)…\n");
    });
  };

  const rerun = async (): Promise<void> => {
    const files = [...changed];
    changed.clear();
    const relevant = await notIgnored(root, files);
    if (relevant.length === 0) return;
    process.stderr.write(
      `\nChanged: ${relevant.slice(0, 5).join(", ")}${relevant.length > 5 ? ", …" : ""} — running again\n`,
    );
    current?.abort();
    await running;
    start();
  };

  const watcher = watch(root, { recursive: true }, (_event, file) => {
    if (!file) return;
    const path = String(file);
    if (/^(\.git|\.conveyor)(\/|$)/.test(path)) return;
    changed.add(path);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void rerun(), SETTLE_MS);
  });

  start();
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => {
      watcher.close();
      current?.abort();
      void Promise.resolve(running).finally(() => {
        process.exitCode = 130;
        resolve();
      });
    });
  });
}

/** The paths git does not ignore (all of them outside a git repository). */
async function notIgnored(root: string, paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  try {
    const { stdout } = await run("git", ["check-ignore", "--no-index", "--", ...paths], { cwd: root });
    const ignored = new Set(stdout.split("\n").filter(Boolean));
    return paths.filter((p) => !ignored.has(p));
  } catch {
    // Exit status 1 means none is ignored; outside a repository every change counts too.
    return [...paths];
  }
}
