import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../json.js";
import { evaluateExpression } from "../expressions/evaluate.js";
import { NULL_SHA, placeholderId, readRepositoryState } from "../git/repository-state.js";
import type { RepositoryState } from "../git/repository-state.js";
import { buildEventPayload, mergeEventPayload } from "../local/event-payload.js";
import {
  buildGithubContext,
  describeRef,
  githubContextForJob,
  githubContextForStep,
  githubEnvironmentVariables,
} from "./github-context.js";
import type { GithubContextInput } from "./github-context.js";

const HEAD = "3f786850e387550fdab836ed7e6dc881de23001b";
const PARENT = "89e6c98d92887913cadf06b2adb97f26cde4849b";
const MAIN = "2b66fd261ee5c6cfc8de7fa466bab600bcfe4f69";

const STATE: RepositoryState = {
  isGitRepository: true,
  root: "/work/hello-world",
  owner: "octo-org",
  name: "hello-world",
  remote: null,
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
    message: "Add the login form",
    author: { name: "Jane Doe", email: "jane@example.com", date: "2024-01-02T03:04:05+01:00" },
    committer: { name: "Jane Doe", email: "jane@example.com", date: "2024-01-02T03:04:05+01:00" },
    files: { added: ["src/login.ts"], removed: [], modified: [] },
  },
  branchesAtHead: ["feature/login"],
  defaultBranch: "main",
  defaultBranchSha: MAIN,
  changedFiles: ["src/login.ts"],
  user: { name: "Jane Doe", email: "jane@example.com", login: "jane" },
  warnings: [],
};

const WORKFLOW = { name: "CI", path: ".github/workflows/ci.yml" };

function context(eventName: string, payload: JsonObject, overrides: Partial<GithubContextInput> = {}) {
  return buildGithubContext({
    eventName,
    payload,
    state: STATE,
    runId: 1234,
    runNumber: 7,
    workflow: WORKFLOW,
    eventPath: "/tmp/run/event.json",
    ...overrides,
  });
}

describe("the github context of a push", () => {
  const payload = buildEventPayload("push", STATE);
  const github = context("push", payload, { job: "build", workspace: "/tmp/run/build/workspace" });

  it("holds every field GitHub's does, with numbers as strings", () => {
    const { event, ...fields } = github;
    expect(event).toEqual(payload);
    expect(fields).toEqual({
      action: "",
      action_path: "",
      action_ref: "",
      action_repository: "",
      action_status: "",
      actor: "jane",
      actor_id: String(placeholderId("jane")),
      api_url: "https://api.github.com",
      base_ref: "",
      event_name: "push",
      event_path: "/tmp/run/event.json",
      graphql_url: "https://api.github.com/graphql",
      head_ref: "",
      job: "build",
      ref: "refs/heads/feature/login",
      ref_name: "feature/login",
      ref_protected: false,
      ref_type: "branch",
      repository: "octo-org/hello-world",
      repository_id: String(placeholderId("octo-org/hello-world")),
      repository_owner: "octo-org",
      repository_owner_id: String(placeholderId("octo-org")),
      repositoryUrl: "git://github.com/octo-org/hello-world.git",
      retention_days: "90",
      run_attempt: "1",
      run_id: "1234",
      run_number: "7",
      server_url: "https://github.com",
      sha: HEAD,
      token: "",
      triggering_actor: "jane",
      workflow: "CI",
      workflow_ref: "octo-org/hello-world/.github/workflows/ci.yml@refs/heads/feature/login",
      workflow_sha: HEAD,
      workspace: "/tmp/run/build/workspace",
    });
  });

  it("is a context the expression evaluator reads, event included", () => {
    const read = (expression: string) => evaluateExpression(expression, { github });
    expect(read("github.event.head_commit.message")).toEqual({ ok: true, value: "Add the login form" });
    expect(read("github.REF_NAME")).toEqual({ ok: true, value: "feature/login" });
    expect(read("github.event.commits[0].author.username")).toEqual({ ok: true, value: "jane" });
  });

  it("gives a step the GITHUB_* variables, empty base and head refs included", () => {
    const variables = githubEnvironmentVariables(github);
    expect(variables).toMatchObject({
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_BASE_REF: "",
      GITHUB_HEAD_REF: "",
      GITHUB_REF: "refs/heads/feature/login",
      GITHUB_REF_NAME: "feature/login",
      GITHUB_REF_PROTECTED: "false",
      GITHUB_REF_TYPE: "branch",
      GITHUB_RUN_ID: "1234",
      GITHUB_SHA: HEAD,
      GITHUB_WORKFLOW_REF: "octo-org/hello-world/.github/workflows/ci.yml@refs/heads/feature/login",
      GITHUB_WORKSPACE: "/tmp/run/build/workspace",
      GITHUB_EVENT_PATH: "/tmp/run/event.json",
    });
    expect(Object.keys(variables).sort()).toEqual(
      [
        "CI",
        "GITHUB_ACTION",
        "GITHUB_ACTION_REF",
        "GITHUB_ACTION_REPOSITORY",
        "GITHUB_ACTIONS",
        "GITHUB_ACTOR",
        "GITHUB_ACTOR_ID",
        "GITHUB_API_URL",
        "GITHUB_BASE_REF",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_GRAPHQL_URL",
        "GITHUB_HEAD_REF",
        "GITHUB_JOB",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITHUB_REF_PROTECTED",
        "GITHUB_REF_TYPE",
        "GITHUB_REPOSITORY",
        "GITHUB_REPOSITORY_ID",
        "GITHUB_REPOSITORY_OWNER",
        "GITHUB_REPOSITORY_OWNER_ID",
        "GITHUB_RETENTION_DAYS",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_NUMBER",
        "GITHUB_SERVER_URL",
        "GITHUB_SHA",
        "GITHUB_TRIGGERING_ACTOR",
        "GITHUB_WORKFLOW",
        "GITHUB_WORKFLOW_REF",
        "GITHUB_WORKFLOW_SHA",
        "GITHUB_WORKSPACE",
      ].sort(),
    );
  });

  it("names a tag push's ref by its tag", () => {
    const tag: RepositoryState = { ...STATE, ref: "refs/tags/v1.2.0", refType: "tag", refName: "v1.2.0" };
    const github = context("push", buildEventPayload("push", tag));
    expect([github.ref, github.ref_name, github.ref_type]).toEqual(["refs/tags/v1.2.0", "v1.2.0", "tag"]);
    expect(github.workflow_ref).toBe("octo-org/hello-world/.github/workflows/ci.yml@refs/tags/v1.2.0");
    expect(githubEnvironmentVariables(github)).toMatchObject({
      GITHUB_REF_TYPE: "tag",
      GITHUB_REF_NAME: "v1.2.0",
    });
  });

  it("takes ref and sha from a user's payload, and HEAD when `after` is missing or null", () => {
    const given = context("push", { ref: "refs/heads/release", after: MAIN });
    expect([given.ref, given.sha]).toEqual(["refs/heads/release", MAIN]);
    expect(context("push", { ref: "refs/heads/release" }).sha).toBe(HEAD);
    expect(context("push", { after: NULL_SHA, deleted: true }).sha).toBe(HEAD);
  });
});

describe("the github context of a pull request", () => {
  const payload = buildEventPayload("pull_request", STATE, { pullRequestNumber: 12 });

  it("runs on the merge ref, at the head sha (there is no merge commit locally)", () => {
    const github = context("pull_request", payload);
    expect(github.ref).toBe("refs/pull/12/merge");
    expect(github.ref_name).toBe("12/merge");
    expect(github.ref_type).toBe("branch");
    expect(github.sha).toBe(HEAD);
    expect(github.head_ref).toBe("feature/login");
    expect(github.base_ref).toBe("main");
    expect(github.workflow_ref).toBe("octo-org/hello-world/.github/workflows/ci.yml@refs/pull/12/merge");
    expect(githubEnvironmentVariables(github)).toMatchObject({
      GITHUB_HEAD_REF: "feature/login",
      GITHUB_BASE_REF: "main",
    });
  });

  it("runs pull_request_target on the base branch at its tip", () => {
    const github = context("pull_request_target", payload);
    expect([github.ref, github.ref_name, github.sha]).toEqual(["refs/heads/main", "main", MAIN]);
    expect([github.head_ref, github.base_ref]).toEqual(["feature/login", "main"]);
  });

  it("uses the pull request's own number and head sha from a user's payload", () => {
    const github = context("pull_request_review", { pull_request: { number: 5, head: { sha: PARENT } } });
    expect([github.ref, github.sha]).toEqual(["refs/pull/5/merge", PARENT]);
    // Only pull_request and pull_request_target set head_ref and base_ref.
    expect(github.head_ref).toBe("");
  });
});

describe("the github context of other events", () => {
  it("workflow_dispatch: the payload's ref at HEAD", () => {
    const payload = buildEventPayload("workflow_dispatch", STATE, { inputs: { name: "x" } });
    const github = context("workflow_dispatch", { ...payload, ref: "refs/tags/v3" });
    expect([github.ref, github.ref_type, github.sha]).toEqual(["refs/tags/v3", "tag", HEAD]);
    expect(github.event.inputs).toEqual({ name: "x" });
  });

  it("schedule and workflow_run: the default branch, as on GitHub, at the working tree's HEAD", () => {
    for (const name of ["schedule", "workflow_run", "issues"]) {
      const github = context(name, buildEventPayload(name, STATE));
      expect([github.ref, github.sha, github.repository]).toEqual([
        "refs/heads/main",
        HEAD,
        "octo-org/hello-world",
      ]);
    }
  });

  it("release, create, deployment and merge_group: the ref and sha their payloads name", () => {
    expect(context("release", { release: { tag_name: "v2.0.0" } }).ref).toBe("refs/tags/v2.0.0");
    expect(context("create", { ref: "v2", ref_type: "tag" }).ref).toBe("refs/tags/v2");
    expect(context("create", { ref: "topic", ref_type: "branch" }).ref).toBe("refs/heads/topic");
    const deployment = context("deployment", { deployment: { ref: "refs/heads/prod", sha: MAIN } });
    expect([deployment.ref, deployment.sha]).toEqual(["refs/heads/prod", MAIN]);
    const group = context("merge_group", {
      merge_group: { head_ref: "refs/heads/gh-readonly-queue/main/pr-1", head_sha: MAIN },
    });
    expect([group.ref, group.sha]).toEqual(["refs/heads/gh-readonly-queue/main/pr-1", MAIN]);
  });

  it("reads repository, owner and ids from the payload when it names them", () => {
    const github = context("push", {
      ref: "refs/heads/main",
      repository: { full_name: "acme/rockets", id: 99, owner: { login: "acme", id: 5 } },
      sender: { login: "wile", id: 77 },
    });
    expect([
      github.repository,
      github.repository_id,
      github.repository_owner,
      github.repository_owner_id,
    ]).toEqual(["acme/rockets", "99", "acme", "5"]);
    expect([github.actor, github.actor_id]).toEqual(["wile", "77"]);
    expect(github.workflow_ref).toBe("acme/rockets/.github/workflows/ci.yml@refs/heads/main");
  });

  it("lets the caller name the actor, the server and the token", () => {
    const github = context("push", buildEventPayload("push", STATE), {
      actor: "octocat",
      triggeringActor: "hubot",
      serverUrl: "https://ghe.example.com/",
      token: "t0ken",
      runAttempt: 2,
    });
    expect(github).toMatchObject({
      actor: "octocat",
      actor_id: String(placeholderId("octocat")),
      triggering_actor: "hubot",
      server_url: "https://ghe.example.com",
      api_url: "https://ghe.example.com/api/v3",
      graphql_url: "https://ghe.example.com/api/graphql",
      repositoryUrl: "git://ghe.example.com/octo-org/hello-world.git",
      token: "t0ken",
      run_attempt: "2",
    });
  });
});

describe("per job and per step", () => {
  const github = context("push", buildEventPayload("push", STATE));

  it("sets the job and its workspace", () => {
    const job = githubContextForJob(github, { job: "test", workspace: "/w/test" });
    expect([job.job, job.workspace, job.sha]).toEqual(["test", "/w/test", HEAD]);
    expect(githubEnvironmentVariables(job)).toMatchObject({
      GITHUB_JOB: "test",
      GITHUB_WORKSPACE: "/w/test",
    });
  });

  it("sets a step's action fields, and GITHUB_ACTION_PATH only for an action with a path", () => {
    const script = githubContextForStep(github, { action: "__run_2" });
    expect(githubEnvironmentVariables(script)).toMatchObject({
      GITHUB_ACTION: "__run_2",
      GITHUB_ACTION_REF: "",
      GITHUB_ACTION_REPOSITORY: "",
    });
    expect(githubEnvironmentVariables(script)).not.toHaveProperty("GITHUB_ACTION_PATH");
    const composite = githubContextForStep(script, {
      action: "__octo_setup",
      actionPath: "/cache/octo/setup/v2",
      actionRef: "v2",
      actionRepository: "octo/setup",
      actionStatus: "success",
    });
    expect(composite).toMatchObject({
      action: "__octo_setup",
      action_path: "/cache/octo/setup/v2",
      action_ref: "v2",
      action_repository: "octo/setup",
      action_status: "success",
    });
    expect(githubEnvironmentVariables(composite)).toMatchObject({
      GITHUB_ACTION_PATH: "/cache/octo/setup/v2",
      GITHUB_ACTION_REPOSITORY: "octo/setup",
    });
    // The step variant starts from the run's fields, not the previous step's.
    expect(githubContextForStep(composite, { action: "__run" }).action_path).toBe("");
  });
});

describe("describeRef", () => {
  it.each([
    ["refs/heads/feature/a", "feature/a", "branch"],
    ["refs/tags/v1", "v1", "tag"],
    ["refs/pull/3/merge", "3/merge", "branch"],
    ["main", "main", ""],
  ])("%s", (ref, name, type) => {
    expect(describeRef(ref)).toEqual({ name, type });
  });
});

describe("from a real repository to a step's variables", () => {
  it("a tag checked out in git becomes GITHUB_REF_TYPE=tag and the tagged commit's message", async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "conveyor-github-context-")));
    const globalConfig = join(dir, "global.gitconfig");
    writeFileSync(globalConfig, "");
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      GIT_CONFIG_GLOBAL: globalConfig,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CEILING_DIRECTORIES: dir,
      GIT_AUTHOR_DATE: "2024-05-06T07:08:09+02:00",
      GIT_COMMITTER_DATE: "2024-05-06T07:08:09+02:00",
    };
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, env, encoding: "utf8" }).trim();
    try {
      git("init", "-q", "-b", "main");
      git("config", "user.name", "Jane Doe");
      git("config", "user.email", "jane@example.com");
      git("remote", "add", "origin", "https://github.com/octo-org/rocket.git");
      writeFileSync(join(dir, "a.txt"), "a");
      git("add", "a.txt");
      git("commit", "-q", "-m", "Release 1.2.0");
      git("tag", "-a", "v1.2.0", "-m", "v1.2.0");
      git("checkout", "-q", "--detach", "v1.2.0");

      const state = await readRepositoryState(dir, { env });
      const payload = mergeEventPayload({}, buildEventPayload("push", state));
      const github = buildGithubContext({
        eventName: "push",
        payload,
        state,
        runId: "1",
        runNumber: 1,
        workflow: WORKFLOW,
      });
      expect(github.ref_name).toBe("v1.2.0");
      expect(github.sha).toBe(git("rev-parse", "HEAD"));
      expect(github.repository).toBe("octo-org/rocket");
      expect(github.workspace).toBe(dir);
      expect(evaluateExpression("github.event.head_commit.message", { github })).toEqual({
        ok: true,
        value: "Release 1.2.0",
      });
      expect(evaluateExpression("github.event.base_ref", { github })).toEqual({
        ok: true,
        value: "refs/heads/main",
      });
      expect(githubEnvironmentVariables(github)).toMatchObject({
        GITHUB_REF: "refs/tags/v1.2.0",
        GITHUB_REF_TYPE: "tag",
        GITHUB_ACTOR: "Jane-Doe",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
