/**
 * The push payload for a ref update pushed to a hosted repository, shaped like GitHub's (docs:
 * "Webhook events and payloads", push) by the builder `conveyor run` uses too
 * (`pushEventPayload` in src/local/event-payload.ts). What git knows is read from the bare
 * repository; the server's URL and the repository's and pusher's accounts come in the context.
 *
 * As GitHub does it:
 * - `commits` holds at most the 20 newest pushed commits, oldest first: for a branch that moved,
 *   those `before..after`, `distinct` when no other ref had them already; for a new branch,
 *   only the commits no other ref has; for a tag, none;
 * - `head_commit` is the commit `after` names (a tag's commit for an annotated tag), null for a
 *   deletion; `base_ref` is, for a tag, the branch whose tip is that commit (the default one first).
 */
import { COMMIT_FORMAT, parseLogEntries, runGit } from "../../git/repository-state.js";
import type { HeadCommit } from "../../git/repository-state.js";
import { apiUrlFor } from "../../engine/github-context.js";
import type { JsonObject } from "../../json.js";
import { pushEventPayload, userPayload } from "../../local/event-payload.js";
import type { PushedCommit } from "../../local/event-payload.js";
import type { RefUpdate } from "./ref-updates.js";

/** GitHub's limit on a push payload's commits. */
export const MAX_PAYLOAD_COMMITS = 20;

export interface PushAccount {
  readonly login: string;
  readonly id?: number;
  /** The person's name and email, when the server knows them. */
  readonly name?: string;
  readonly email?: string;
}

export interface PushContext {
  /** The server's base URL (`http://127.0.0.1:8080`); a trailing slash is dropped. */
  readonly serverUrl: string;
  readonly repository: {
    readonly id: number;
    readonly owner: string;
    readonly ownerId?: number;
    readonly name: string;
    readonly defaultBranch: string;
    /** Default true: hosted repositories need a token to read. */
    readonly private?: boolean;
  };
  /** The signed-in user who pushed: `pusher` and `sender`. */
  readonly pusher: PushAccount;
  /** Environment for git. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export async function buildPushPayload(
  repositoryPath: string,
  update: RefUpdate,
  context: PushContext,
): Promise<JsonObject> {
  const git = (args: readonly string[]): Promise<string> => gitOutput(repositoryPath, args, context.env);
  // A tag may name a tree or a blob: then it has no commit and no branch, which is no error.
  const gitOrNothing = (args: readonly string[]): Promise<string> =>
    runGit(repositoryPath, args, context.env).then((output) => (output.ok ? output.stdout : ""));
  const isTag = update.ref.startsWith("refs/tags/");
  let commits: PushedCommit[] = [];
  let headCommit: HeadCommit | null = null;
  let baseRef: string | null = null;
  if (!update.deleted && isTag) {
    const [head, branches] = await Promise.all([
      gitOrNothing(["log", "-1", ...LOG_OPTIONS, update.after]),
      gitOrNothing([
        "for-each-ref",
        "--format=%(refname)",
        `--points-at=${update.after}^{commit}`,
        "refs/heads",
      ]),
    ]);
    headCommit = parseLogEntries(head)[0] ?? null;
    const tips = branches.split("\n").filter((ref) => ref !== "");
    const preferred = `refs/heads/${context.repository.defaultBranch}`;
    baseRef = tips.includes(preferred) ? preferred : (tips.sort()[0] ?? null);
  } else if (!update.deleted) {
    // Other refs: every ref but this one (HEAD is not under refs/, so it is not one).
    const otherRefs = ["--not", `--exclude=${update.ref}`, "--glob=refs/*"];
    const range = update.created ? [update.after, ...otherRefs] : [update.after, `^${update.before}`];
    const [log, distinct] = await Promise.all([
      git(["log", `--max-count=${MAX_PAYLOAD_COMMITS}`, "--reverse", ...LOG_OPTIONS, ...range]),
      update.created ? Promise.resolve(undefined) : git(["rev-list", ...range, ...otherRefs]),
    ]);
    const distinctIds = distinct === undefined ? undefined : new Set(distinct.split("\n"));
    commits = parseLogEntries(log).map((commit) => ({
      commit,
      distinct: distinctIds?.has(commit.id) ?? true,
    }));
    headCommit = commits.at(-1)?.commit ?? null;
    // A branch made at a commit it shares, or moved back: the head commit is not among the pushed ones.
    if (headCommit?.id !== update.after) {
      headCommit = parseLogEntries(await git(["log", "-1", ...LOG_OPTIONS, update.after]))[0] ?? null;
    }
  }

  const serverUrl = context.serverUrl.replace(/\/+$/, "");
  const { repository, pusher } = context;
  const ownerIsPusher = repository.owner.toLowerCase() === pusher.login.toLowerCase();
  return pushEventPayload({
    ...update,
    baseRef,
    commits,
    headCommit,
    repository: {
      id: repository.id,
      owner: repository.owner,
      ...(repository.ownerId === undefined ? {} : { ownerId: repository.ownerId }),
      name: repository.name,
      defaultBranch: repository.defaultBranch,
      private: repository.private ?? true,
      ownerName: (ownerIsPusher ? pusher.name : undefined) ?? repository.owner,
      ownerEmail: (ownerIsPusher ? pusher.email : undefined) ?? null,
    },
    serverUrl,
    pusher: { name: pusher.login, email: pusher.email ?? null },
    sender: userPayload(pusher.login, serverUrl, apiUrlFor(serverUrl), pusher.id),
    usernameOf: (email) => (email !== "" && email === pusher.email ? pusher.login : undefined),
  });
}

/** Commits with their files, first-parent diffs for merges, as `conveyor run` reads HEAD. */
const LOG_OPTIONS = [
  "-z",
  `--format=${COMMIT_FORMAT}`,
  "--name-status",
  "--no-renames",
  "--diff-merges=first-parent",
];

async function gitOutput(
  repositoryPath: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<string> {
  const output = await runGit(repositoryPath, args, env);
  if (output.ok) return output.stdout;
  throw new Error(`git ${args[0]} failed: ${output.missing ? "git is not installed" : output.stderr.trim()}`);
}
