/**
 * What a push changed: the commands it sent (`receive-commands.ts`), kept only where git carried
 * them out. Read after the backend exits, from the repository itself, so a command git refused
 * (a non-fast-forward under `receive.denyNonFastForwards`, a failed lock, a hook's veto, an
 * atomic push that failed as a whole) starts nothing.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runGit } from "../../git/repository-state.js";
import { isNullObjectId } from "./receive-commands.js";
import type { RefCommand } from "./receive-commands.js";
import type { RefUpdate } from "../../local/event-payload.js";

/** The push payload's shape of a ref update, shared with `conveyor run`'s push event. */
export type { RefUpdate } from "../../local/event-payload.js";

/** At most this many `merge-base` checks run at once (a mirror push can update thousands of refs). */
const PARALLEL_CHECKS = 8;

/**
 * The commands whose ref now holds the value asked for (deleted ones: the ref is gone), in the
 * order sent. The only processes are one `merge-base` per ref that moved (not created or deleted).
 */
export async function confirmRefUpdates(
  repositoryPath: string,
  commands: readonly RefCommand[],
  env?: NodeJS.ProcessEnv,
): Promise<RefUpdate[]> {
  // Git updates only well-formed refs under refs/; only those become file paths and arguments below.
  const candidates = commands.filter((c) => isWellFormedRef(c.ref));
  if (candidates.length === 0) return [];
  const moved = candidates.filter((c) => !isNullObjectId(c.before) && !isNullObjectId(c.after));
  const [refs, forcedRefs] = await Promise.all([
    currentValues(repositoryPath, candidates, env),
    forcedAmong(repositoryPath, moved, env),
  ]);
  const updates: RefUpdate[] = [];
  for (const command of candidates) {
    const deleted = isNullObjectId(command.after);
    const now = refs.get(command.ref);
    if (deleted ? now !== undefined : now !== command.after) continue;
    updates.push({
      ref: command.ref,
      before: command.before,
      after: command.after,
      created: isNullObjectId(command.before),
      deleted,
      forced: forcedRefs.has(command.ref),
    });
  }
  return updates;
}

/** git-check-ref-format(1)'s rules, for a full name under `refs/`. */
export function isWellFormedRef(ref: string): boolean {
  return (
    ref.startsWith("refs/") &&
    // eslint-disable-next-line no-control-regex
    !/[\x00-\x20~^:?*[\\\x7f]|\.\.|\/\/|\/\.|@\{|\.lock(\/|$)|[/.]$/.test(ref)
  );
}

/**
 * The refs' values, read from the files git keeps them in (a loose ref file, else the
 * `packed-refs` list): no process, so a push's answer is not held up. Git replaces both files
 * atomically, so a read sees the old value or the new one. Anything unusual (a symbolic ref)
 * is left to `git for-each-ref`.
 */
async function currentValues(
  repositoryPath: string,
  commands: readonly RefCommand[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  let packed: Promise<Map<string, string>> | undefined;
  for (const { ref } of commands) {
    const loose = await readFile(join(repositoryPath, ref), "latin1").catch(() => undefined);
    if (loose !== undefined && !OBJECT_ID_LINE.test(loose))
      return valuesFromGit(repositoryPath, commands, env);
    packed ??= readFile(join(repositoryPath, "packed-refs"), "latin1").then(parsePackedRefs, () => new Map());
    const value = loose?.trim() ?? (await packed).get(ref);
    if (value !== undefined) values.set(ref, value);
  }
  return values;
}

const OBJECT_ID_LINE = /^([0-9a-f]{40}|[0-9a-f]{64})\n?$/;

/** `packed-refs`: `<oid> <ref>` lines, after a `#` header; `^<oid>` lines peel the tag above. */
export function parsePackedRefs(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/.exec(line);
    if (match) values.set(match[2] as string, match[1] as string);
  }
  return values;
}

async function valuesFromGit(
  repositoryPath: string,
  commands: readonly RefCommand[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<Map<string, string>> {
  // Ref names cannot hold glob characters, so each pattern matches its ref (and refs below it).
  const output = await runGit(
    repositoryPath,
    ["for-each-ref", "--format=%(objectname) %(refname)", ...commands.map((c) => c.ref)],
    env,
  );
  if (!output.ok)
    throw new Error(
      `git for-each-ref failed: ${output.missing ? "git is not installed" : output.stderr.trim()}`,
    );
  const values = new Map<string, string>();
  for (const line of output.stdout.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) values.set(line.slice(space + 1), line.slice(0, space));
  }
  return values;
}

/** The refs of `commands` whose old value is not an ancestor of the new one. */
async function forcedAmong(
  repositoryPath: string,
  commands: readonly RefCommand[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<Set<string>> {
  const forced = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < commands.length) {
      const command = commands[next++] as RefCommand;
      // Exit 1: not an ancestor. Any failure (an old value that is not a commit) counts as forced too.
      const check = await runGit(
        repositoryPath,
        ["merge-base", "--is-ancestor", command.before, command.after],
        env,
      );
      if (!check.ok) forced.add(command.ref);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_CHECKS, commands.length) }, worker));
  return forced;
}
