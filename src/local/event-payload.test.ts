import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import type { JsonObject, JsonValue } from "../json.js";
import { NULL_SHA, placeholderId } from "../git/repository-state.js";
import type { RepositoryState } from "../git/repository-state.js";
import { buildEventPayload, mergeEventPayload } from "./event-payload.js";

const HEAD = "3f786850e387550fdab836ed7e6dc881de23001b";
const PARENT = "89e6c98d92887913cadf06b2adb97f26cde4849b";
const MAIN = "2b66fd261ee5c6cfc8de7fa466bab600bcfe4f69";

function state(overrides: Partial<RepositoryState> = {}): RepositoryState {
  return {
    isGitRepository: true,
    root: "/work/hello-world",
    owner: "octo-org",
    name: "hello-world",
    remote: {
      url: "git@github.com:octo-org/hello-world.git",
      host: "github.com",
      owner: "octo-org",
      name: "hello-world",
    },
    ref: "refs/heads/feature/login",
    refType: "branch",
    refName: "feature/login",
    detached: false,
    headSha: HEAD,
    previousSha: PARENT,
    headCommit: {
      id: HEAD,
      treeId: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
      parents: [PARENT],
      message: "Add the login form\n\nIt posts to /session.\n",
      author: {
        name: "Mona Lisa",
        email: "7+mona@users.noreply.github.com",
        date: "2024-01-02T03:04:05+01:00",
      },
      committer: { name: "Jane Doe", email: "jane@example.com", date: "2024-01-02T04:05:06+01:00" },
      files: { added: ["src/login.ts"], removed: ["src/old.ts"], modified: ["README.md"] },
    },
    branchesAtHead: ["feature/login"],
    defaultBranch: "main",
    defaultBranchSha: MAIN,
    changedFiles: ["README.md", "src/login.ts", "src/old.ts", "wip.txt"],
    user: { name: "Jane Doe", email: "jane@example.com", login: "jane" },
    warnings: [],
    ...overrides,
  };
}

/** Reads a path in a payload, failing the test when a step is not an object. */
function at(value: JsonValue | undefined, ...path: string[]): JsonValue | undefined {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) {
      throw new Error(`no object at ${key}`);
    }
    current = current[key];
  }
  return current;
}

describe("push payload", () => {
  it("describes a push of HEAD to its branch", () => {
    const payload = buildEventPayload("push", state());
    expect(payload).toMatchObject({
      ref: "refs/heads/feature/login",
      before: PARENT,
      after: HEAD,
      created: false,
      deleted: false,
      forced: false,
      base_ref: null,
      compare: `https://github.com/octo-org/hello-world/compare/${PARENT.slice(0, 12)}...${HEAD.slice(0, 12)}`,
      pusher: { name: "jane", email: "jane@example.com" },
    });
    const headCommit = {
      id: HEAD,
      tree_id: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
      distinct: true,
      message: "Add the login form\n\nIt posts to /session.\n",
      timestamp: "2024-01-02T04:05:06+01:00",
      url: `https://github.com/octo-org/hello-world/commit/${HEAD}`,
      author: { name: "Mona Lisa", email: "7+mona@users.noreply.github.com", username: "mona" },
      committer: { name: "Jane Doe", email: "jane@example.com", username: "jane" },
      added: ["src/login.ts"],
      removed: ["src/old.ts"],
      modified: ["README.md"],
    };
    expect(payload.head_commit).toEqual(headCommit);
    expect(payload.commits).toEqual([headCommit]);
  });

  it("describes the repository as a push event does, its web page as `url`", () => {
    const repository = buildEventPayload("push", state()).repository;
    expect(repository).toMatchObject({
      id: placeholderId("octo-org/hello-world"),
      name: "hello-world",
      full_name: "octo-org/hello-world",
      private: false,
      owner: {
        login: "octo-org",
        name: "octo-org",
        email: null,
        id: placeholderId("octo-org"),
        type: "User",
      },
      html_url: "https://github.com/octo-org/hello-world",
      url: "https://github.com/octo-org/hello-world",
      clone_url: "https://github.com/octo-org/hello-world.git",
      ssh_url: "git@github.com:octo-org/hello-world.git",
      default_branch: "main",
      master_branch: "main",
    });
    expect(at(repository, "node_id")).toBe(
      Buffer.from(`010:Repository${placeholderId("octo-org/hello-world")}`).toString("base64"),
    );
  });

  it("gives the owner the user's name and email when the owner is the user", () => {
    const payload = buildEventPayload("push", state({ owner: "jane", remote: null }));
    expect(at(payload, "repository", "owner")).toMatchObject({
      login: "jane",
      name: "Jane Doe",
      email: "jane@example.com",
    });
  });

  it("describes a tag push as GitHub does: created, no before, no commits, the branch it is on", () => {
    const payload = buildEventPayload(
      "push",
      state({
        ref: "refs/tags/v1.2.0",
        refType: "tag",
        refName: "v1.2.0",
        detached: true,
        branchesAtHead: ["main", "x"],
      }),
    );
    expect(payload).toMatchObject({
      ref: "refs/tags/v1.2.0",
      before: NULL_SHA,
      after: HEAD,
      created: true,
      base_ref: "refs/heads/main",
      compare: "https://github.com/octo-org/hello-world/compare/v1.2.0",
      commits: [],
    });
    expect(at(payload, "head_commit", "message")).toBe("Add the login form\n\nIt posts to /session.\n");
  });

  it("marks a first commit as creating the branch", () => {
    const payload = buildEventPayload("push", state({ previousSha: NULL_SHA }));
    expect(payload).toMatchObject({ before: NULL_SHA, created: true });
    expect(payload.compare).toBe("https://github.com/octo-org/hello-world/compare/feature/login");
  });

  it("has no head commit in a repository without commits", () => {
    const payload = buildEventPayload(
      "push",
      state({ headSha: NULL_SHA, previousSha: NULL_SHA, headCommit: null }),
    );
    expect(payload).toMatchObject({ created: false, head_commit: null, commits: [] });
  });

  it("uses the server URL it is given, with GitHub Enterprise's API root", () => {
    const payload = buildEventPayload("push", state(), { serverUrl: "https://ghe.example.com/" });
    expect(at(payload, "repository", "html_url")).toBe("https://ghe.example.com/octo-org/hello-world");
    expect(at(payload, "repository", "ssh_url")).toBe("git@ghe.example.com:octo-org/hello-world.git");
    expect(at(payload, "sender", "url")).toBe("https://ghe.example.com/api/v3/users/jane");
  });
});

describe("pull_request payload", () => {
  it("opens pull request 1 from the current branch into the default branch", () => {
    const payload = buildEventPayload("pull_request", state());
    expect(payload).toMatchObject({ action: "opened", number: 1 });
    expect(payload.pull_request).toMatchObject({
      number: 1,
      state: "open",
      title: "Add the login form",
      body: "It posts to /session.",
      draft: false,
      merged: false,
      mergeable: null,
      html_url: "https://github.com/octo-org/hello-world/pull/1",
      user: { login: "jane" },
      head: {
        ref: "feature/login",
        sha: HEAD,
        label: "octo-org:feature/login",
        repo: { full_name: "octo-org/hello-world" },
      },
      base: { ref: "main", sha: MAIN, label: "octo-org:main", repo: { full_name: "octo-org/hello-world" } },
      created_at: "2024-01-02T03:05:06Z",
      changed_files: 4,
    });
    expect(at(payload, "repository", "url")).toBe("https://api.github.com/repos/octo-org/hello-world");
    expect(at(payload, "sender", "login")).toBe("jane");
  });

  it("takes the action and number asked for; synchronize says where the head moved", () => {
    const payload = buildEventPayload("pull_request", state(), {
      action: "synchronize",
      pullRequestNumber: 42,
    });
    expect(payload).toMatchObject({ action: "synchronize", number: 42, before: PARENT, after: HEAD });
    expect(at(payload, "pull_request", "number")).toBe(42);
    expect(
      at(buildEventPayload("pull_request", state(), { action: "closed" }), "pull_request", "state"),
    ).toBe("closed");
  });

  it("bases on HEAD when the default branch is not known, and titles an empty message by the branch", () => {
    const payload = buildEventPayload(
      "pull_request_target",
      state({ defaultBranchSha: null, headCommit: null }),
    );
    expect(at(payload, "pull_request", "base", "sha")).toBe(HEAD);
    expect(at(payload, "pull_request", "title")).toBe("feature/login");
    expect(at(payload, "pull_request", "body")).toBeNull();
  });
});

describe("other payloads", () => {
  it("workflow_dispatch holds the inputs as strings, the ref and the workflow's path", () => {
    const payload = buildEventPayload("workflow_dispatch", state(), {
      inputs: { environment: "staging", dry_run: true, replicas: 3 },
      workflowPath: ".github/workflows/deploy.yml",
    });
    expect(payload).toMatchObject({
      inputs: { environment: "staging", dry_run: "true", replicas: "3" },
      ref: "refs/heads/feature/login",
      workflow: ".github/workflows/deploy.yml",
      repository: { full_name: "octo-org/hello-world" },
      sender: { login: "jane" },
    });
  });

  it("schedule holds only the cron expression, as GitHub's does", () => {
    expect(buildEventPayload("schedule", state(), { cron: "30 5 * * 1" })).toEqual({
      schedule: "30 5 * * 1",
    });
    expect(buildEventPayload("schedule", state())).toEqual({});
  });

  it("workflow_run describes the triggering run on the current branch", () => {
    const payload = buildEventPayload("workflow_run", state(), {
      workflowRun: { name: "CI", path: ".github/workflows/ci.yml" },
    });
    expect(payload).toMatchObject({
      action: "completed",
      workflow_run: {
        name: "CI",
        path: ".github/workflows/ci.yml",
        head_branch: "feature/login",
        head_sha: HEAD,
        display_title: "Add the login form",
        event: "push",
        status: "completed",
        conclusion: "success",
        head_repository: { full_name: "octo-org/hello-world" },
      },
      workflow: { name: "CI", path: ".github/workflows/ci.yml", state: "active" },
    });
    expect(at(payload, "workflow_run", "repository", "id")).toBe(
      at(payload, "workflow_run", "head_repository", "id"),
    );
  });

  it("workflow_run names no workflow unless told, so `workflows` filters do not apply", () => {
    const run = at(buildEventPayload("workflow_run", state()), "workflow_run") as JsonObject;
    expect(Object.hasOwn(run, "name")).toBe(false);
  });

  it("any other event gets the repository, the sender and the action when one is given", () => {
    expect(Object.keys(buildEventPayload("issues", state()))).toEqual(["repository", "sender"]);
    const payload = buildEventPayload("release", state(), { action: "published", actor: "octocat" });
    expect(payload).toMatchObject({ action: "published", sender: { login: "octocat" } });
  });
});

describe("mergeEventPayload", () => {
  const defaults = buildEventPayload("push", state());

  it("gives the built payload when the user gives none", () => {
    expect(mergeEventPayload({}, defaults)).toEqual(defaults);
  });

  it("lets the user's top-level values win whole and keeps the rest", () => {
    const merged = mergeEventPayload({ ref: "refs/tags/v9", head_commit: { message: "mine" } }, defaults);
    expect(merged.ref).toBe("refs/tags/v9");
    expect(merged.head_commit).toEqual({ message: "mine" });
    expect(merged.after).toBe(HEAD);
    expect(merged.sender).toEqual(defaults.sender);
  });

  it("fills a user's repository without default_branch with the local one, as act does", () => {
    const merged = mergeEventPayload({ repository: { full_name: "other/repo" } }, defaults);
    expect(merged.repository).toEqual({ full_name: "other/repo", default_branch: "main" });
    const kept = mergeEventPayload(
      { repository: { full_name: "other/repo", default_branch: "trunk" } },
      defaults,
    );
    expect(at(kept, "repository", "default_branch")).toBe("trunk");
  });

  it("keeps a `__proto__` key as a key and drops values that are not JSON", () => {
    const user = JSON.parse('{"__proto__": {"polluted": true}, "count": 1}') as Record<string, unknown>;
    const merged = mergeEventPayload({ ...user, skipped: () => 1 }, {});
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged).sort()).toEqual(["__proto__", "count"]);
  });
});
