import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NULL_SHA } from "../../git/repository-state.js";
import type { JsonObject, JsonValue } from "../../json.js";
import { RepositoryFolders } from "./bare-repositories.js";
import { gitSandbox } from "./git-test-sandbox.js";
import { buildPushPayload } from "./push-payload.js";
import type { PushContext } from "./push-payload.js";
import type { RefUpdate } from "./ref-updates.js";

const sandbox = gitSandbox();
const folders = new RepositoryFolders(join(sandbox.root, "repositories"), { env: sandbox.env });
afterAll(() => sandbox.remove());

const context: PushContext = {
  serverUrl: "http://127.0.0.1:8080/",
  repository: { id: 42, owner: "alice", ownerId: 7, name: "app", defaultBranch: "main" },
  pusher: { login: "alice", id: 7, name: "Alice Liddell", email: "t@example.com" },
  env: sandbox.env,
};

let bare = "";
let work = "";
beforeAll(async () => {
  await folders.create("alice", "app");
  bare = folders.pathOf("alice", "app");
  work = sandbox.folder();
  await sandbox.git(work, "init", "-q", "-b", "main");
});

async function push(...refspecs: string[]): Promise<void> {
  await sandbox.git(work, "push", "-q", "--force", bare, ...refspecs);
}

function update(ref: string, before: string, after: string, forced = false): RefUpdate {
  return { ref, before, after, created: before === NULL_SHA, deleted: after === NULL_SHA, forced };
}

function ids(payload: JsonObject): JsonValue[] {
  return (payload.commits as JsonObject[]).map((c) => c.id ?? null);
}

describe("buildPushPayload", () => {
  let first = "";
  let second = "";
  it("describes a new branch: its commits oldest first, files, repository, pusher and sender", async () => {
    first = await sandbox.commit(work, "first", { "a.txt": "a", "b.txt": "b" });
    second = await sandbox.commit(work, "Second\n\nwith a body", { "a.txt": "a2", "c.txt": "c" });
    await sandbox.git(work, "rm", "-q", "b.txt");
    const third = await sandbox.commit(work, "third");
    await push("main");
    const payload = await buildPushPayload(bare, update("refs/heads/main", NULL_SHA, third), context);
    expect(payload).toMatchObject({
      ref: "refs/heads/main",
      before: NULL_SHA,
      after: third,
      created: true,
      deleted: false,
      forced: false,
      base_ref: null,
      compare: "http://127.0.0.1:8080/alice/app/compare/main",
      pusher: { name: "alice", email: "t@example.com" },
      sender: { login: "alice", id: 7, type: "User" },
      repository: {
        id: 42,
        name: "app",
        full_name: "alice/app",
        private: true,
        owner: { login: "alice", id: 7, name: "Alice Liddell", email: "t@example.com" },
        html_url: "http://127.0.0.1:8080/alice/app",
        clone_url: "http://127.0.0.1:8080/alice/app.git",
        default_branch: "main",
      },
    });
    expect(ids(payload)).toEqual([first, second, third]);
    const commits = payload.commits as JsonObject[];
    expect(commits[1]).toMatchObject({
      id: second,
      distinct: true,
      message: "Second\n\nwith a body",
      url: `http://127.0.0.1:8080/alice/app/commit/${second}`,
      author: { name: "t", email: "t@example.com", username: "alice" },
      committer: { name: "t", email: "t@example.com", username: "alice" },
      added: ["c.txt"],
      removed: [],
      modified: ["a.txt"],
    });
    expect(commits[2]).toMatchObject({ removed: ["b.txt"] });
    expect(typeof commits[0]?.tree_id).toBe("string");
    expect(commits[0]?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(payload.head_commit).toEqual(commits[2]);
  });

  it("lists a fast-forward's commits, not distinct where another branch had them", async () => {
    const base = await sandbox.git(work, "rev-parse", "HEAD");
    await sandbox.git(work, "checkout", "-q", "-b", "feature");
    const feature = await sandbox.commit(work, "feature work", { "f.txt": "f" });
    await push("feature");
    await sandbox.git(work, "checkout", "-q", "main");
    await sandbox.git(work, "merge", "-q", "--ff-only", "feature");
    const own = await sandbox.commit(work, "on main");
    await push("main");
    const payload = await buildPushPayload(bare, update("refs/heads/main", base, own), context);
    expect(payload).toMatchObject({
      created: false,
      compare: `http://127.0.0.1:8080/alice/app/compare/${base.slice(0, 12)}...${own.slice(0, 12)}`,
    });
    expect((payload.commits as JsonObject[]).map((c) => [c.id, c.distinct])).toEqual([
      [feature, false],
      [own, true],
    ]);
  });

  it("gives a branch made at a commit other refs have no commits, but its head commit", async () => {
    const head = await sandbox.git(work, "rev-parse", "HEAD");
    await push("main:refs/heads/copy");
    const payload = await buildPushPayload(bare, update("refs/heads/copy", NULL_SHA, head), context);
    expect(payload.commits).toEqual([]);
    expect((payload.head_commit as JsonObject).id).toBe(head);
  });

  it("keeps the 20 newest commits, oldest first", async () => {
    const before = await sandbox.git(work, "rev-parse", "HEAD");
    // One shell for the 23 commits: much quicker than three git calls from here for each.
    await new Promise<void>((resolve, reject) =>
      execFile(
        "sh",
        ["-c", 'for i in $(seq 0 22); do git commit -q --allow-empty -m "commit $i" || exit 1; done'],
        { cwd: work, env: sandbox.env },
        (failure) => (failure ? reject(failure) : resolve()),
      ),
    );
    const made = (await sandbox.git(work, "rev-list", "--reverse", "-23", "HEAD")).split("\n");
    await push("main");
    const payload = await buildPushPayload(
      bare,
      update("refs/heads/main", before, made[22] as string),
      context,
    );
    expect(ids(payload)).toEqual(made.slice(3));
  });

  it("describes a force push back to an older commit", async () => {
    const before = await sandbox.git(work, "rev-parse", "HEAD");
    await sandbox.git(work, "reset", "-q", "--hard", second);
    await push("main");
    const payload = await buildPushPayload(bare, update("refs/heads/main", before, second, true), context);
    expect(payload).toMatchObject({ forced: true, commits: [] });
    expect((payload.head_commit as JsonObject).id).toBe(second);
  });

  it("describes an annotated tag: the tag object as after, its commit as head, the branch it is on", async () => {
    await sandbox.git(work, "tag", "-a", "v1", "-m", "release 1");
    await push("v1");
    const tag = await sandbox.git(work, "rev-parse", "v1");
    const payload = await buildPushPayload(bare, update("refs/tags/v1", NULL_SHA, tag), context);
    expect(payload).toMatchObject({
      ref: "refs/tags/v1",
      after: tag,
      created: true,
      base_ref: "refs/heads/main",
      compare: "http://127.0.0.1:8080/alice/app/compare/v1",
      commits: [],
    });
    expect((payload.head_commit as JsonObject).id).toBe(second);
  });

  it("describes a deletion: after is zeros, no head commit", async () => {
    const copy = await sandbox.git(bare, "rev-parse", "refs/heads/copy");
    await push(":refs/heads/copy");
    const payload = await buildPushPayload(bare, update("refs/heads/copy", copy, NULL_SHA), {
      ...context,
      pusher: { login: "bob" },
    });
    expect(payload).toMatchObject({
      deleted: true,
      created: false,
      after: NULL_SHA,
      commits: [],
      head_commit: null,
      compare: `http://127.0.0.1:8080/alice/app/compare/${copy.slice(0, 12)}...000000000000`,
      pusher: { name: "bob", email: null },
      sender: { login: "bob" },
      repository: { owner: { login: "alice", name: "alice", email: null } },
    });
  });
});
