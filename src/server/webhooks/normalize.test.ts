import { readFileSync } from "node:fs";
import type { EventsConfig } from "@actions/workflow-parser/model/workflow-template";
import { describe, expect, it } from "vitest";
import type { JsonObject, JsonValue } from "../../json.js";
import { matchTrigger } from "../../workflow/triggers.js";
import type { Delivery, Provider } from "./deliveries.js";
import { normalizeDelivery, triggerEventOf } from "./normalize.js";
import type { Normalized, NormalizedEvent } from "./normalized-event.js";

type Kind = "push" | "pull_request";

const EVENT_HEADERS: Readonly<Record<Provider, Readonly<Record<Kind, string>>>> = {
  github: { push: "push", pull_request: "pull_request" },
  gitea: { push: "push", pull_request: "pull_request" },
  forgejo: { push: "push", pull_request: "pull_request" },
  gitlab: { push: "Push Hook", pull_request: "Merge Request Hook" },
};

function fixture(path: string): JsonObject {
  return JSON.parse(readFileSync(new URL(`./fixtures/${path}`, import.meta.url), "utf8")) as JsonObject;
}

function delivery(provider: Provider, kind: Kind): Pick<Delivery, "provider" | "kind" | "event"> {
  return { provider, kind, event: EVENT_HEADERS[provider][kind] };
}

function normalize(provider: Provider, kind: Kind, body: JsonObject | string): Normalized {
  const result = normalizeDelivery(
    delivery(provider, kind),
    typeof body === "string" ? body : JSON.stringify(body),
  );
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result.value;
}

function event(provider: Provider, kind: Kind, body: JsonObject): NormalizedEvent {
  const normalized = normalize(provider, kind, body);
  if (normalized.kind !== "event") throw new Error(`ignored: ${normalized.reason}`);
  return normalized.event;
}

function errorsOf(provider: Provider, kind: Kind, body: JsonObject | string): string {
  const result = normalizeDelivery(
    delivery(provider, kind),
    typeof body === "string" ? body : JSON.stringify(body),
  );
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return result.errors.map((e) => e.message).join("\n");
}

function runs(on: Record<string, unknown>, normalized: NormalizedEvent): boolean | string {
  const match = matchTrigger(on as EventsConfig, triggerEventOf(normalized));
  return match.runs ? true : match.reason;
}

/**
 * A deep copy of a fixture with fields changed, by dotted path (`pull_request.head.sha`, `commits.0.added`);
 * undefined deletes the field.
 */
function edited(body: JsonObject, changes: Readonly<Record<string, JsonValue | undefined>>): JsonObject {
  const copy = structuredClone(body);
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split(".");
    const last = keys.pop() ?? "";
    // Arrays are indexed by the same string keys as objects.
    const parent = keys.reduce<JsonValue | undefined>(
      (node, key) =>
        typeof node === "object" && node !== null ? (node as Record<string, JsonValue>)[key] : undefined,
      copy,
    );
    if (typeof parent !== "object" || parent === null) throw new Error(`no object at ${path}`);
    const target = parent as Record<string, JsonValue>;
    if (value === undefined) Reflect.deleteProperty(target, last);
    else target[last] = value;
  }
  return copy;
}

describe("GitHub", () => {
  it("passes a push through and lists its changed files", () => {
    const push = event("github", "push", fixture("github/push.json"));
    expect(push).toMatchObject({
      eventName: "push",
      ref: "refs/heads/main",
      sha: "a10867b14bb761a232cd80139fbd4c0d33264240",
      fromFork: false,
      repository: {
        fullName: "Codertocat/Hello-World",
        cloneUrl: "https://github.com/Codertocat/Hello-World.git",
        defaultBranch: "main",
      },
    });
    expect(push.payload.pusher).toEqual({
      name: "Codertocat",
      email: "21031067+Codertocat@users.noreply.github.com",
    });
    expect(push.changedFiles).toEqual([
      ".github/workflows/build.yml",
      "README.md",
      "src/index.js",
      "index.js",
    ]);
    expect(runs({ push: { branches: ["main"], paths: ["src/**"] } }, push)).toBe(true);
    expect(runs({ push: { paths: ["docs/**"] } }, push)).toMatch(
      /none of the 4 changed files matches paths/u,
    );
  });

  it("runs a tag push at the tagged commit, without paths filtering", () => {
    const tag = event("github", "push", fixture("github/push-tag.json"));
    expect(tag).toMatchObject({ ref: "refs/tags/v1.0.0", sha: "a10867b14bb761a232cd80139fbd4c0d33264240" });
    expect(tag.payload.created).toBe(true);
    expect(tag.changedFiles).toBeUndefined();
    expect(tag.changedFilesUnknown).toMatch(/tag push/u);
    expect(runs({ push: { tags: ["v*"] } }, tag)).toBe(true);
  });

  it("marks a branch deletion deleted, which starts no push workflow", () => {
    const deletion = event("github", "push", fixture("github/push-delete.json"));
    expect(deletion.payload.deleted).toBe(true);
    expect(runs({ push: {} }, deletion)).toMatch(/deletes a branch/u);
  });

  it("fills created, deleted and forced when a push leaves them out", () => {
    const bare = edited(fixture("github/push-tag.json"), {
      created: undefined,
      deleted: undefined,
      forced: undefined,
    });
    expect(event("github", "push", bare).payload).toMatchObject({
      created: true,
      deleted: false,
      forced: false,
    });
  });

  it("says a forced push's files are unknown", () => {
    const forced = event("github", "push", edited(fixture("github/push.json"), { forced: true }));
    expect(forced.changedFiles).toBeUndefined();
    expect(forced.changedFilesUnknown).toMatch(/forced push/u);
  });

  it("recognises a pull request from a fork", () => {
    const opened = event("github", "pull_request", fixture("github/pull-request-opened.json"));
    expect(opened).toMatchObject({
      eventName: "pull_request",
      ref: "refs/pull/2/merge",
      sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
      fromFork: true,
      repository: { fullName: "Codertocat/Hello-World" },
      pullRequest: {
        number: 2,
        headBranch: "changes",
        baseBranch: "main",
        baseSha: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        headFetchRef: "refs/pull/2/head",
        headRepository: { fullName: "Octocat/Hello-World" },
        merged: false,
      },
    });
    expect(opened.changedFilesUnknown).toMatch(/merge base/u);
    expect(runs({ pull_request: { branches: ["main"] } }, opened)).toBe(true);
  });

  it("treats a pull request whose head repository is gone as a fork", () => {
    const gone = edited(fixture("github/pull-request-synchronize.json"), { "pull_request.head.repo": null });
    const normalized = event("github", "pull_request", gone);
    expect(normalized.fromFork).toBe(true);
    expect(normalized.pullRequest?.headRepository).toBeUndefined();
  });

  it("keeps synchronize and closed as they are", () => {
    const sync = event("github", "pull_request", fixture("github/pull-request-synchronize.json"));
    expect(sync).toMatchObject({ fromFork: false, payload: { action: "synchronize" } });
    expect(runs({ pull_request: {} }, sync)).toBe(true);
    const closed = event("github", "pull_request", fixture("github/pull-request-closed.json"));
    expect(closed.pullRequest?.merged).toBe(true);
    expect(runs({ pull_request: {} }, closed)).toMatch(/not one of pull_request's default types/u);
    expect(runs({ pull_request: { types: ["closed"] } }, closed)).toBe(true);
  });

  it("names each missing or mistyped field", () => {
    const broken = edited(fixture("github/pull-request-opened.json"), {
      "pull_request.head.sha": undefined,
      number: "2",
      "repository.clone_url": 7,
    });
    const message = errorsOf("github", "pull_request", broken);
    expect(message).toMatch(/GitHub pull_request payload: `pull_request\.head\.sha` is missing/u);
    expect(message).toMatch(/`number` should be a whole number from 1, not the string '2'/u);
    expect(message).toMatch(/`repository\.clone_url` should be a non-empty string, not number 7/u);
  });

  it("refuses a ref or branch git would not accept", () => {
    const badRef = edited(fixture("github/push.json"), { ref: "refs/heads/x..y" });
    expect(errorsOf("github", "push", badRef)).toMatch(/`ref` should be a full git ref/u);
    const option = edited(fixture("github/pull-request-opened.json"), {
      "pull_request.head.ref": "--upload-pack=x",
    });
    expect(errorsOf("github", "pull_request", option)).toMatch(
      /`pull_request\.head\.ref` should be a branch name/u,
    );
  });
});

describe("Gitea and Forgejo", () => {
  for (const provider of ["gitea", "forgejo"] as const) {
    it(`${provider}: makes a push GitHub's and lists its changed files`, () => {
      const push = event(provider, "push", fixture("gitea/push.json"));
      expect(push).toMatchObject({
        ref: "refs/heads/develop",
        sha: "bffeb74224043ba2feb48d137756c8a9331c449a",
        repository: {
          fullName: "gitea/webhooks",
          cloneUrl: "http://localhost:3000/gitea/webhooks.git",
          defaultBranch: "master",
        },
      });
      expect(push.payload).toMatchObject({
        created: false,
        deleted: false,
        forced: false,
        compare: expect.stringContaining("/compare/") as unknown,
        pusher: { name: "gitea", email: "someone@gitea.io" },
        sender: { login: "gitea", name: "Gitea", type: "User", site_admin: false },
        repository: {
          full_name: "gitea/webhooks",
          owner: { login: "gitea", name: "Gitea" },
          visibility: "public",
        },
      });
      expect(push.changedFiles).toEqual(["docs/index.md", "old.txt", "README.md"]);
      expect(runs({ push: { branches: ["develop"], paths: ["docs/**"] } }, push)).toBe(true);
    });
  }

  it("says the files are unknown when Gitea cut the commit list short", () => {
    const cut = edited(fixture("gitea/push.json"), { total_commits: 9 });
    const push = event("gitea", "push", cut);
    expect(push.changedFiles).toBeUndefined();
    expect(push.changedFilesUnknown).toBe("the payload lists 2 of the push's 9 commits");
    // Unknown files do not filter: the workflow runs.
    expect(runs({ push: { paths: ["nothing/**"] } }, push)).toBe(true);
  });

  it("runs a tag push and not a branch deletion", () => {
    const tag = event("gitea", "push", fixture("gitea/push-tag.json"));
    expect(tag.payload).toMatchObject({ ref: "refs/tags/v1.2.0", created: true, deleted: false });
    expect(runs({ push: { tags: ["v1.*"] } }, tag)).toBe(true);
    const deletion = event("gitea", "push", fixture("gitea/push-delete.json"));
    expect(deletion.payload).toMatchObject({ created: false, deleted: true, head_commit: null });
    expect(runs({ push: {} }, deletion)).toMatch(/deletes/u);
  });

  it("recognises a pull request from a fork, and drops Gitea's unreliable mergeable", () => {
    const opened = event("gitea", "pull_request", fixture("gitea/pull-request-opened.json"));
    expect(opened).toMatchObject({
      fromFork: true,
      sha: "2d3a59c28c9a4a9a2c5cde5c0d8f4e1ab9f3e0c1",
      pullRequest: {
        number: 4,
        headBranch: "readme",
        baseBranch: "master",
        headFetchRef: "refs/pull/4/head",
      },
    });
    expect(opened.payload).toMatchObject({
      action: "opened",
      pull_request: {
        mergeable: null,
        head: { repo: { full_name: "alice/webhooks" }, user: { login: "alice" } },
        base: { ref: "master", repo: { full_name: "gitea/webhooks" } },
        user: { login: "alice", name: "Alice" },
      },
    });
    expect(runs({ pull_request: { branches: ["master"] } }, opened)).toBe(true);
  });

  it("renames synchronized to synchronize, and keeps a merge as closed and merged", () => {
    const sync = event("forgejo", "pull_request", fixture("gitea/pull-request-synchronized.json"));
    expect(sync).toMatchObject({ fromFork: false, payload: { action: "synchronize" } });
    expect(runs({ pull_request: { types: ["synchronize"] } }, sync)).toBe(true);
    const closed = event("gitea", "pull_request", fixture("gitea/pull-request-closed.json"));
    expect(closed.payload).toMatchObject({
      action: "closed",
      pull_request: { merged: true, state: "closed" },
    });
    expect(closed.pullRequest?.merged).toBe(true);
  });

  it("names Forgejo in errors about a Forgejo payload", () => {
    const broken = edited(fixture("gitea/push.json"), { repository: undefined });
    expect(errorsOf("forgejo", "push", broken)).toMatch(/^Forgejo push payload: `repository` is missing/mu);
  });
});

describe("GitLab", () => {
  it("makes a push GitHub's, and says the files are unknown when commits were left out", () => {
    const push = event("gitlab", "push", fixture("gitlab/push.json"));
    expect(push).toMatchObject({
      ref: "refs/heads/master",
      sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      repository: {
        fullName: "mike/diaspora",
        cloneUrl: "http://example.com/mike/diaspora.git",
        defaultBranch: "master",
      },
    });
    expect(push.payload).toMatchObject({
      created: false,
      deleted: false,
      pusher: { name: "jsmith", email: "john@example.com" },
      sender: { login: "jsmith", id: 4, name: "John Smith" },
      repository: {
        id: 15,
        name: "diaspora",
        full_name: "mike/diaspora",
        owner: { login: "mike", name: "Mike" },
        private: true,
        visibility: "private",
        clone_url: "http://example.com/mike/diaspora.git",
      },
      head_commit: { id: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", committer: { name: "GitLab dev user" } },
    });
    expect(push.changedFilesUnknown).toBe("the payload lists 2 of the push's 4 commits");
  });

  it("lists the changed files when every commit is there", () => {
    const whole = edited(fixture("gitlab/push.json"), { total_commits_count: 2 });
    const push = event("gitlab", "push", whole);
    expect(push.changedFiles).toEqual(["CHANGELOG", "app/controller/application.rb", "doc/old.md"]);
    expect(runs({ push: { branches: ["master"], paths: ["doc/**"] } }, push)).toBe(true);
    expect(runs({ push: { paths: ["src/**"] } }, push)).toMatch(/none of the 3 changed files/u);
  });

  it("says so when commits do not list their files (older GitLab)", () => {
    const old = edited(fixture("gitlab/push.json"), {
      total_commits_count: 2,
      "commits.0.added": undefined,
      "commits.1.added": undefined,
    });
    expect(event("gitlab", "push", old).changedFilesUnknown).toMatch(/do not list their added, removed/u);
  });

  it("runs a tag push at checkout_sha, the tagged commit", () => {
    const tag = event("gitlab", "push", fixture("gitlab/tag-push.json"));
    expect(tag).toMatchObject({ ref: "refs/tags/v1.0.0", sha: "5937ac0a7beb003549fc5fd26fc247adbce4a52e" });
    expect(tag.payload).toMatchObject({ created: true, after: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7" });
    expect(runs({ push: { tags: ["v*"] } }, tag)).toBe(true);
  });

  it("marks a branch deletion (after is zeros) deleted", () => {
    const deletion = event("gitlab", "push", fixture("gitlab/push-delete.json"));
    expect(deletion.payload).toMatchObject({ deleted: true, created: false, compare: null });
    expect(runs({ push: {} }, deletion)).toMatch(/deletes/u);
  });

  it("makes an opened merge request from a fork an opened pull request", () => {
    const opened = event("gitlab", "pull_request", fixture("gitlab/merge-request-open.json"));
    expect(opened).toMatchObject({
      eventName: "pull_request",
      ref: "refs/pull/1/merge",
      sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      fromFork: true,
      repository: {
        fullName: "gitlabhq/gitlab-test",
        cloneUrl: "http://example.com/gitlabhq/gitlab-test.git",
      },
      pullRequest: {
        number: 1,
        headBranch: "ms-viewport",
        baseBranch: "master",
        headFetchRef: "refs/merge-requests/1/head",
        headRepository: { fullName: "awesome_space/awesome_project" },
      },
    });
    expect(opened.pullRequest?.baseSha).toBeUndefined();
    expect(opened.payload).toMatchObject({
      action: "opened",
      number: 1,
      sender: { login: "root", name: "Administrator" },
      pull_request: {
        state: "open",
        merged: false,
        labels: [{ name: "API", color: "ffffff" }],
        head: {
          label: "awesome_space:ms-viewport",
          repo: { full_name: "awesome_space/awesome_project", fork: true },
        },
        base: { ref: "master", sha: null, repo: { full_name: "gitlabhq/gitlab-test", visibility: "public" } },
      },
    });
    expect(runs({ pull_request: { branches: ["master"] } }, opened)).toBe(true);
  });

  it("makes an update with new commits a synchronize, with before and after", () => {
    const update = event("gitlab", "pull_request", fixture("gitlab/merge-request-update.json"));
    expect(update).toMatchObject({ fromFork: false, sha: "4f2c2e8d8e6f0e2a2b8f9a3c1d0e7b6a5c4d3e2f" });
    expect(update.payload).toMatchObject({
      action: "synchronize",
      before: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      after: "4f2c2e8d8e6f0e2a2b8f9a3c1d0e7b6a5c4d3e2f",
    });
    expect(runs({ pull_request: {} }, update)).toBe(true);
  });

  it("makes an update without new commits an edit, which the default types skip", () => {
    const retitled = edited(fixture("gitlab/merge-request-update.json"), {
      "object_attributes.oldrev": undefined,
    });
    const edit = event("gitlab", "pull_request", retitled);
    expect(edit.payload.action).toBe("edited");
    expect(runs({ pull_request: {} }, edit)).toMatch(/activity type 'edited'/u);
  });

  it("makes a merge closed and merged, and a close closed and not merged", () => {
    const merge = event("gitlab", "pull_request", fixture("gitlab/merge-request-merge.json"));
    expect(merge.payload).toMatchObject({
      action: "closed",
      pull_request: {
        merged: true,
        state: "closed",
        merge_commit_sha: "8d3c1a0f6e2b4c5d9e7f0a1b2c3d4e5f6a7b8c9d",
      },
    });
    expect(merge.pullRequest?.merged).toBe(true);
    const close = edited(fixture("gitlab/merge-request-open.json"), {
      "object_attributes.action": "close",
      "object_attributes.state": "closed",
    });
    expect(event("gitlab", "pull_request", close).payload).toMatchObject({
      action: "closed",
      pull_request: { merged: false },
    });
    const reopen = edited(fixture("gitlab/merge-request-open.json"), {
      "object_attributes.action": "reopen",
    });
    expect(event("gitlab", "pull_request", reopen).payload.action).toBe("reopened");
  });

  it("sets approvals aside: they are not pull request activity", () => {
    const approved = edited(fixture("gitlab/merge-request-open.json"), {
      "object_attributes.action": "approved",
    });
    expect(normalize("gitlab", "pull_request", approved)).toEqual({
      kind: "ignored",
      reason:
        "merge request action 'approved' is not a pull request activity; it starts no pull_request workflows",
    });
  });

  it("refuses a merge request body under a Push Hook header", () => {
    const message = errorsOf("gitlab", "push", fixture("gitlab/merge-request-open.json"));
    expect(message).toMatch(
      /`object_kind` should be one of 'push', 'tag_push', not the string 'merge_request'/u,
    );
    expect(message).toMatch(/`ref` is missing/u);
  });
});

describe("what is not an event", () => {
  it("sets pings and other events aside with the reason", () => {
    const ping = normalizeDelivery({ provider: "github", kind: "ping", event: "ping" }, "{}");
    expect(ping).toEqual({
      ok: true,
      value: { kind: "ignored", reason: "a GitHub ping: the webhook reaches Conveyor" },
    });
    const issues = normalizeDelivery({ provider: "gitea", kind: "other", event: "issues" }, "not even json");
    expect(issues.ok && issues.value.kind === "ignored" && issues.value.reason).toMatch(
      /Gitea event 'issues'/u,
    );
  });

  it("says what to do about a body that is not JSON", () => {
    expect(errorsOf("github", "push", "{not json")).toMatch(
      /^the webhook body is not JSON \(.*\): set the GitHub webhook's content type to application\/json$/u,
    );
    expect(errorsOf("gitea", "push", "payload=%7B%7D")).toMatch(
      /form-encoded: set the Gitea webhook's content type/u,
    );
    expect(errorsOf("gitlab", "push", "[1,2]")).toMatch(/not an object/u);
    const latin1 = normalizeDelivery(delivery("github", "push"), new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(latin1.ok ? "" : latin1.errors[0]?.message).toMatch(/not UTF-8/u);
  });

  it("reads the raw bytes the server hands over", () => {
    const bytes = new TextEncoder().encode(JSON.stringify(fixture("github/push.json")));
    const result = normalizeDelivery(delivery("github", "push"), bytes);
    expect(result.ok && result.value.kind).toBe("event");
  });
});
