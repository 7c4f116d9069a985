import { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } from "@actions/workflow-parser";
import type { EventsConfig } from "@actions/workflow-parser/model/workflow-template";
import { describe, expect, it } from "vitest";
import { type TriggerEvent, type TriggerMatch, matchTrigger, validateEvents } from "./triggers.js";

const runs: TriggerMatch = { runs: true };
const skipped = (reason: string): TriggerMatch => ({ runs: false, reason });

function push(
  ref: string,
  changedFiles?: readonly string[],
  extra: Record<string, unknown> = {},
): TriggerEvent {
  return { name: "push", payload: { ref, ...extra }, ...(changedFiles ? { changedFiles } : {}) };
}

function branchPush(branch: string, changedFiles?: readonly string[]): TriggerEvent {
  return push(`refs/heads/${branch}`, changedFiles);
}

function tagPush(tag: string, changedFiles?: readonly string[]): TriggerEvent {
  return push(`refs/tags/${tag}`, changedFiles);
}

function pullRequest(
  action: string,
  base = "main",
  changedFiles?: readonly string[],
  name = "pull_request",
  extra: Record<string, unknown> = {},
): TriggerEvent {
  return {
    name,
    payload: { action, pull_request: { base: { ref: base }, head: { ref: "feature" }, ...extra } },
    ...(changedFiles ? { changedFiles } : {}),
  };
}

function workflowRun(
  workflow: string,
  action: string,
  headBranch = "main",
  run: Record<string, unknown> = {},
): TriggerEvent {
  return {
    name: "workflow_run",
    payload: { action, workflow_run: { name: workflow, head_branch: headBranch, ...run } },
  };
}

function event(name: string, payload: Record<string, unknown> = {}): TriggerEvent {
  return { name, payload };
}

describe("push", () => {
  it("runs for every branch and tag without filters", () => {
    expect(matchTrigger({ push: {} }, branchPush("main"))).toEqual(runs);
    expect(matchTrigger({ push: {} }, branchPush("feature/a/b"))).toEqual(runs);
    expect(matchTrigger({ push: {} }, tagPush("v1"))).toEqual(runs);
  });

  it("matches branch filters against the branch name without refs/heads/", () => {
    const on: EventsConfig = { push: { branches: ["main", "mona/octocat", "releases/**"] } };
    expect(matchTrigger(on, branchPush("main"))).toEqual(runs);
    expect(matchTrigger(on, branchPush("mona/octocat"))).toEqual(runs);
    expect(matchTrigger(on, branchPush("releases/10"))).toEqual(runs);
    expect(matchTrigger(on, branchPush("feature"))).toEqual(
      skipped("branch 'feature' does not match branches (main, mona/octocat, releases/**)"),
    );
  });

  it("does not run for tags when only branches are filtered, and the other way round", () => {
    expect(matchTrigger({ push: { branches: ["**"] } }, tagPush("v1"))).toEqual(
      skipped("the workflow filters only branches, so a tag does not start it"),
    );
    expect(matchTrigger({ push: { "branches-ignore": ["x"] } }, tagPush("v1"))).toEqual(
      skipped("the workflow filters only branches, so a tag does not start it"),
    );
    expect(matchTrigger({ push: { tags: ["v*"] } }, branchPush("main"))).toEqual(
      skipped("the workflow filters only tags, so a branch does not start it"),
    );
  });

  it("matches tag filters against the tag name (docs: v2, v1.*)", () => {
    const on: EventsConfig = { push: { branches: ["main"], tags: ["v2", "v1.*"] } };
    expect(matchTrigger(on, tagPush("v2"))).toEqual(runs);
    expect(matchTrigger(on, tagPush("v1.9.1"))).toEqual(runs);
    expect(matchTrigger(on, branchPush("main"))).toEqual(runs);
    expect(matchTrigger(on, tagPush("v3"))).toEqual(skipped("tag 'v3' does not match tags (v2, v1.*)"));
  });

  it("skips ignored branches and tags (docs: branches-ignore and tags-ignore)", () => {
    const on: EventsConfig = {
      push: { "branches-ignore": ["mona/octocat", "releases/**-alpha"], "tags-ignore": ["v2", "v1.*"] },
    };
    expect(matchTrigger(on, branchPush("main"))).toEqual(runs);
    expect(matchTrigger(on, branchPush("mona/octocat"))).toEqual(
      skipped("branch 'mona/octocat' is ignored by 'mona/octocat' in branches-ignore"),
    );
    expect(matchTrigger(on, branchPush("releases/beta/3-alpha"))).toEqual(
      skipped("branch 'releases/beta/3-alpha' is ignored by 'releases/**-alpha' in branches-ignore"),
    );
    expect(matchTrigger(on, tagPush("v3"))).toEqual(runs);
    expect(matchTrigger(on, tagPush("v1.9")).runs).toBe(false);
    expect(matchTrigger(on, tagPush("v2")).runs).toBe(false);
  });

  it("applies patterns in order (docs: releases/** then !releases/**-alpha)", () => {
    const on: EventsConfig = { push: { branches: ["releases/**", "!releases/**-alpha"] } };
    expect(matchTrigger(on, branchPush("releases/10"))).toEqual(runs);
    expect(matchTrigger(on, branchPush("releases/beta/mona"))).toEqual(runs);
    expect(matchTrigger(on, branchPush("releases/10-alpha"))).toEqual(
      skipped("branch 'releases/10-alpha' is excluded by '!releases/**-alpha' in branches"),
    );
    expect(matchTrigger(on, branchPush("releases/beta/3-alpha")).runs).toBe(false);
  });

  it("matches nothing with a branches list of only negative patterns, as GitHub does", () => {
    expect(matchTrigger({ push: { branches: ["!main"] } }, branchPush("feature"))).toEqual(
      skipped("branch 'feature' does not match branches (!main)"),
    );
  });

  it("runs when one changed file matches paths (docs: '**.js')", () => {
    const on: EventsConfig = { push: { paths: ["**.js"] } };
    expect(matchTrigger(on, branchPush("main", ["README.md", "src/app.js"]))).toEqual(runs);
    expect(matchTrigger(on, branchPush("main", ["README.md"]))).toEqual(
      skipped("the changed file 'README.md' does not match paths (**.js)"),
    );
    expect(matchTrigger(on, branchPush("main", ["README.md", "docs/x.md"]))).toEqual(
      skipped("none of the 2 changed files matches paths (**.js)"),
    );
  });

  it("runs unless every changed file is ignored (docs: paths-ignore 'docs/**')", () => {
    const on: EventsConfig = { push: { "paths-ignore": ["docs/**"] } };
    expect(matchTrigger(on, branchPush("main", ["docs/a.md", "src/x.ts"]))).toEqual(runs);
    expect(matchTrigger(on, branchPush("main", ["docs/a.md"]))).toEqual(
      skipped("the changed file 'docs/a.md' is ignored by 'docs/**' in paths-ignore"),
    );
    expect(matchTrigger(on, branchPush("main", ["docs/a.md", "docs/b.md"]))).toEqual(
      skipped("the 2 changed files are all ignored by paths-ignore (docs/**)"),
    );
  });

  it("applies '!' patterns inside paths-ignore in order too", () => {
    const on: EventsConfig = { push: { "paths-ignore": ["docs/**", "!docs/api/**"] } };
    expect(matchTrigger(on, branchPush("main", ["docs/api/openapi.yml"]))).toEqual(runs);
    expect(matchTrigger(on, branchPush("main", ["docs/guide.md"])).runs).toBe(false);
  });

  it("includes and excludes paths in order (docs: sub-project/** then !sub-project/docs/**)", () => {
    const on: EventsConfig = { push: { paths: ["sub-project/**", "!sub-project/docs/**"] } };
    expect(matchTrigger(on, branchPush("main", ["sub-project/index.js"]))).toEqual(runs);
    expect(matchTrigger(on, branchPush("main", ["sub-project/src/index.js"]))).toEqual(runs);
    expect(matchTrigger(on, branchPush("main", ["sub-project/docs/readme.md"]))).toEqual(
      skipped("the changed file 'sub-project/docs/readme.md' is excluded by '!sub-project/docs/**' in paths"),
    );
  });

  it("does not run a path-filtered workflow when no file changed", () => {
    expect(matchTrigger({ push: { paths: ["**"] } }, branchPush("main", []))).toEqual(
      skipped("no files changed, and the workflow filters paths"),
    );
    expect(matchTrigger({ push: { "paths-ignore": ["docs/**"] } }, branchPush("main", []))).toEqual(
      skipped("no files changed, and the workflow filters paths-ignore"),
    );
  });

  it("does not filter paths when the changed files are unknown", () => {
    expect(matchTrigger({ push: { paths: ["src/**"] } }, branchPush("main"))).toEqual(runs);
  });

  it("does not filter paths for tag pushes", () => {
    expect(matchTrigger({ push: { tags: ["v*"], paths: ["src/**"] } }, tagPush("v1", ["README.md"]))).toEqual(
      runs,
    );
    expect(matchTrigger({ push: { paths: ["src/**"] } }, tagPush("v1", []))).toEqual(runs);
  });

  it("needs both the branch and the path filter to pass", () => {
    const on: EventsConfig = { push: { branches: ["releases/**"], paths: ["**.js"] } };
    expect(matchTrigger(on, branchPush("releases/1", ["a.js"]))).toEqual(runs);
    expect(matchTrigger(on, branchPush("releases/1", ["README.md"])).runs).toBe(false);
    expect(matchTrigger(on, branchPush("main", ["a.js"]))).toEqual(
      skipped("branch 'main' does not match branches (releases/**)"),
    );
  });

  it("starts no push workflow for a push that deletes a branch or tag", () => {
    expect(matchTrigger({ push: {} }, push("refs/heads/gone", undefined, { deleted: true }))).toEqual(
      skipped("a push that deletes a branch or tag starts no push workflow (use the delete event)"),
    );
    expect(matchTrigger({ push: {} }, push("refs/tags/v1", undefined, { deleted: true })).runs).toBe(false);
    expect(
      matchTrigger({ push: {} }, push("refs/heads/new", undefined, { deleted: false, created: true })),
    ).toEqual(runs);
  });

  it("explains an invalid pattern instead of matching", () => {
    expect(matchTrigger({ push: { branches: ["v[1"] } }, branchPush("v1"))).toEqual(
      skipped("branches: invalid filter pattern 'v[1' at position 2: '[1' has no closing ']'"),
    );
  });
});

describe("pull_request and pull_request_target", () => {
  it("run for opened, synchronize and reopened by default", () => {
    for (const name of ["pull_request", "pull_request_target"]) {
      const on: EventsConfig = { [name]: {} };
      for (const action of ["opened", "synchronize", "reopened"]) {
        expect(matchTrigger(on, pullRequest(action, "main", undefined, name))).toEqual(runs);
      }
      expect(matchTrigger(on, pullRequest("closed", "main", undefined, name))).toEqual(
        skipped(
          `activity type 'closed' is not one of ${name}'s default types (opened, synchronize, reopened); list it under types to run for it`,
        ),
      );
      expect(matchTrigger(on, pullRequest("labeled", "main", undefined, name)).runs).toBe(false);
    }
  });

  it("run for the listed types only", () => {
    const on: EventsConfig = { pull_request: { types: ["closed", "review_requested"] } };
    expect(matchTrigger(on, pullRequest("closed"))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("review_requested"))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("opened"))).toEqual(
      skipped("activity type 'opened' is not in types (closed, review_requested)"),
    );
  });

  it("match types as filter patterns, as GitHub does", () => {
    const on: EventsConfig = { pull_request: { types: ["*labeled"] } };
    expect(matchTrigger(on, pullRequest("labeled"))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("unlabeled"))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("opened")).runs).toBe(false);
  });

  it("use the defaults when types is an empty list", () => {
    expect(matchTrigger({ pull_request: { types: [] } }, pullRequest("closed")).runs).toBe(false);
    expect(matchTrigger({ pull_request: { types: [] } }, pullRequest("opened"))).toEqual(runs);
  });

  it("match branch filters against the BASE branch", () => {
    const on: EventsConfig = { pull_request: { branches: ["main", "releases/**"] } };
    expect(matchTrigger(on, pullRequest("opened", "main"))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("opened", "releases/10"))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("opened", "develop"))).toEqual(
      skipped("base branch 'develop' does not match branches (main, releases/**)"),
    );
    expect(
      matchTrigger({ pull_request: { "branches-ignore": ["develop"] } }, pullRequest("opened", "develop")),
    ).toEqual(skipped("base branch 'develop' is ignored by 'develop' in branches-ignore"));
    expect(
      matchTrigger(
        { pull_request_target: { branches: ["main"] } },
        pullRequest("opened", "dev", undefined, "pull_request_target"),
      ).runs,
    ).toBe(false);
  });

  it("filter paths and need branches, types and paths to pass (docs: opened on releases/** with **.js)", () => {
    const on: EventsConfig = {
      pull_request: { types: ["opened"], branches: ["releases/**"], paths: ["**.js"] },
    };
    expect(matchTrigger(on, pullRequest("opened", "releases/1", ["src/a.js"]))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("opened", "releases/1", ["README.md"])).runs).toBe(false);
    expect(matchTrigger(on, pullRequest("opened", "main", ["src/a.js"])).runs).toBe(false);
    expect(matchTrigger(on, pullRequest("synchronize", "releases/1", ["src/a.js"])).runs).toBe(false);
    expect(
      matchTrigger(
        { pull_request_target: { paths: ["**.js"] } },
        pullRequest("opened", "main", ["a.md"], "pull_request_target"),
      ).runs,
    ).toBe(false);
  });

  it("skip pull_request, not pull_request_target, when the pull request has a merge conflict", () => {
    const conflict = { mergeable: false };
    expect(
      matchTrigger(
        { pull_request: {} },
        pullRequest("synchronize", "main", undefined, "pull_request", conflict),
      ),
    ).toEqual(
      skipped("the pull request has a merge conflict, and pull_request workflows need its merge commit"),
    );
    expect(
      matchTrigger(
        { pull_request_target: {} },
        pullRequest("synchronize", "main", undefined, "pull_request_target", conflict),
      ),
    ).toEqual(runs);
    expect(
      matchTrigger(
        { pull_request: {} },
        pullRequest("opened", "main", undefined, "pull_request", { mergeable: null }),
      ),
    ).toEqual(runs);
  });
});

describe("workflow_run", () => {
  const on: EventsConfig = { workflow_run: { workflows: ["Build"], types: ["completed"] } };

  it("runs when the named workflow reaches a listed type", () => {
    expect(matchTrigger(on, workflowRun("Build", "completed"))).toEqual(runs);
    expect(matchTrigger(on, workflowRun("Build", "requested"))).toEqual(
      skipped("activity type 'requested' is not in types (completed)"),
    );
    expect(matchTrigger(on, workflowRun("Deploy", "completed"))).toEqual(
      skipped("the triggering workflow 'Deploy' is not in workflows (Build)"),
    );
  });

  it("runs for every type by default", () => {
    const anyType: EventsConfig = { workflow_run: { workflows: ["Staging", "Lab"] } };
    for (const action of ["requested", "in_progress", "completed"]) {
      expect(matchTrigger(anyType, workflowRun("Lab", action))).toEqual(runs);
    }
  });

  it("matches workflow names ignoring case, as filter patterns", () => {
    expect(matchTrigger(on, workflowRun("build", "completed"))).toEqual(runs);
    expect(
      matchTrigger({ workflow_run: { workflows: ["Build *"] } }, workflowRun("Build and Test", "completed")),
    ).toEqual(runs);
  });

  it("falls back to payload.workflow.name", () => {
    expect(
      matchTrigger(on, {
        name: "workflow_run",
        payload: { action: "completed", workflow: { name: "Build" } },
      }),
    ).toEqual(runs);
  });

  it("matches branches against the triggering run's head branch (docs: releases/**, canary)", () => {
    const branches: EventsConfig = {
      workflow_run: { workflows: ["Build"], types: ["requested"], branches: ["releases/**"] },
    };
    expect(matchTrigger(branches, workflowRun("Build", "requested", "releases/10"))).toEqual(runs);
    expect(matchTrigger(branches, workflowRun("Build", "requested", "main"))).toEqual(
      skipped("the triggering run's branch 'main' does not match branches (releases/**)"),
    );
    const ignore: EventsConfig = { workflow_run: { workflows: ["Build"], "branches-ignore": ["canary"] } };
    expect(matchTrigger(ignore, workflowRun("Build", "requested", "canary")).runs).toBe(false);
    expect(matchTrigger(ignore, workflowRun("Build", "requested", "main"))).toEqual(runs);
  });

  it("never matches a fork's branch with a branches filter", () => {
    const fromFork = { repository: { id: 1 }, head_repository: { id: 2 } };
    const branches: EventsConfig = { workflow_run: { workflows: ["Build"], branches: ["**"] } };
    expect(matchTrigger(branches, workflowRun("Build", "completed", "main", fromFork))).toEqual(
      skipped("the triggering run comes from a fork, and a branches filter never matches a fork's branch"),
    );
    const sameRepo = { repository: { id: 1 }, head_repository: { id: 1 } };
    expect(matchTrigger(branches, workflowRun("Build", "completed", "main", sameRepo))).toEqual(runs);
    const ignore: EventsConfig = { workflow_run: { workflows: ["Build"], "branches-ignore": ["x"] } };
    expect(matchTrigger(ignore, workflowRun("Build", "completed", "main", fromFork))).toEqual(runs);
  });

  it("does not run without workflows, and explains invalid workflow patterns", () => {
    expect(matchTrigger({ workflow_run: {} }, workflowRun("Build", "completed"))).toEqual(
      skipped("on.workflow_run lists no workflows"),
    );
    expect(matchTrigger({ workflow_run: { workflows: ["C++"] } }, workflowRun("C++", "completed"))).toEqual(
      skipped("workflows: invalid filter pattern 'c++' at position 3: '+' cannot follow '+'"),
    );
  });
});

describe("schedule", () => {
  const on: EventsConfig = { schedule: [{ cron: "0 * * * *" }, { cron: "15 4,5 * * *" }] };

  it("runs when the workflow has the cron that fired", () => {
    expect(matchTrigger(on, event("schedule", { schedule: "15 4,5 * * *" }))).toEqual(runs);
    expect(matchTrigger(on, event("schedule", { schedule: "0 0 * * *" }))).toEqual(
      skipped("schedule '0 0 * * *' is not one of the workflow's schedules ('0 * * * *', '15 4,5 * * *')"),
    );
  });

  it("needs the cron in the payload and a schedule in the workflow", () => {
    expect(matchTrigger(on, event("schedule")).runs).toBe(false);
    expect(matchTrigger({ push: {} }, event("schedule", { schedule: "0 * * * *" }))).toEqual(
      skipped("the workflow does not run on schedule"),
    );
  });
});

describe("workflow_dispatch, workflow_call and events not listed", () => {
  it("runs workflow_dispatch whenever it is defined", () => {
    expect(matchTrigger({ workflow_dispatch: {} }, event("workflow_dispatch", { inputs: {} }))).toEqual(runs);
    expect(matchTrigger({ push: {} }, event("workflow_dispatch"))).toEqual(
      skipped("the workflow does not run on workflow_dispatch"),
    );
  });

  it("never starts a workflow from a workflow_call event", () => {
    expect(matchTrigger({ workflow_call: {} }, event("workflow_call"))).toEqual(
      skipped("workflow_call runs only when another workflow calls this one"),
    );
  });

  it("reads event names as names, not as object properties", () => {
    expect(matchTrigger({ push: {} }, event("constructor"))).toEqual(
      skipped("the workflow does not run on constructor"),
    );
    expect(matchTrigger({ constructor: {} } as EventsConfig, event("constructor"))).toEqual(runs);
  });

  it("does not run for events the workflow does not list", () => {
    expect(matchTrigger({ push: {} }, event("issues", { action: "opened" }))).toEqual(
      skipped("the workflow does not run on issues"),
    );
  });
});

describe("other events", () => {
  it("match repository_dispatch types against the event type in payload.action", () => {
    const on: EventsConfig = { repository_dispatch: { types: ["test_result"] } };
    expect(matchTrigger(on, event("repository_dispatch", { action: "test_result" }))).toEqual(runs);
    expect(matchTrigger(on, event("repository_dispatch", { action: "deploy" }))).toEqual(
      skipped("activity type 'deploy' is not in types (test_result)"),
    );
    expect(
      matchTrigger({ repository_dispatch: {} }, event("repository_dispatch", { action: "anything" })),
    ).toEqual(runs);
  });

  it("run for every activity type unless types narrows them", () => {
    expect(matchTrigger({ issues: {} }, event("issues", { action: "milestoned" }))).toEqual(runs);
    expect(
      matchTrigger({ issues: { types: ["opened", "edited"] } }, event("issues", { action: "labeled" })).runs,
    ).toBe(false);
    expect(matchTrigger({ label: { types: ["created"] } }, event("label", { action: "created" }))).toEqual(
      runs,
    );
    expect(matchTrigger({ issue_comment: {} }, event("issue_comment", { action: "deleted" }))).toEqual(runs);
  });

  it("explain an event without activity type that types cannot match", () => {
    expect(matchTrigger({ watch: { types: ["started"] } }, event("watch"))).toEqual(
      skipped("an event without activity type is not in types (started)"),
    );
  });

  it("run merge_group for checks_requested by default and filter its base branch", () => {
    const mergeGroup = (action: string, base: string) =>
      event("merge_group", { action, merge_group: { base_ref: base } });
    expect(matchTrigger({ merge_group: {} }, mergeGroup("checks_requested", "refs/heads/main"))).toEqual(
      runs,
    );
    expect(matchTrigger({ merge_group: {} }, mergeGroup("destroyed", "refs/heads/main")).runs).toBe(false);
    // GitHub's schema allows branches here; the parser's EventsConfig type does not list them.
    const onMain = { merge_group: { branches: ["main"] } } as EventsConfig;
    expect(matchTrigger(onMain, mergeGroup("checks_requested", "refs/heads/main"))).toEqual(runs);
    expect(matchTrigger(onMain, mergeGroup("checks_requested", "refs/heads/dev"))).toEqual(
      skipped("base branch 'dev' does not match branches (main)"),
    );
  });

  it("skip created, edited and deleted draft releases", () => {
    const release = (action: string, draft: boolean) => event("release", { action, release: { draft } });
    expect(matchTrigger({ release: {} }, release("created", true))).toEqual(
      skipped("GitHub does not run workflows when a draft release is created"),
    );
    expect(matchTrigger({ release: {} }, release("edited", true)).runs).toBe(false);
    expect(matchTrigger({ release: {} }, release("published", true))).toEqual(runs);
    expect(matchTrigger({ release: {} }, release("created", false))).toEqual(runs);
  });

  it("skip a deployment status that becomes inactive", () => {
    const status = (state: string) => event("deployment_status", { deployment_status: { state } });
    expect(matchTrigger({ deployment_status: {} }, status("inactive"))).toEqual(
      skipped("GitHub does not run workflows when a deployment status becomes inactive"),
    );
    expect(matchTrigger({ deployment_status: {} }, status("success"))).toEqual(runs);
  });

  it("ignore branch filters on events that have no ref to filter", () => {
    expect(
      matchTrigger({ create: { branches: ["main"] } } as EventsConfig, event("create", { ref: "dev" })),
    ).toEqual(runs);
  });
});

describe("with GitHub's own parser", () => {
  async function eventsOf(on: string): Promise<EventsConfig> {
    const content = `on:\n${on}\njobs:\n  a: { runs-on: x, steps: [{ run: echo }] }\n`;
    const parsed = parseWorkflow({ name: "w.yml", content }, new NoOperationTraceWriter());
    if (!parsed.value) throw new Error("the test workflow did not parse");
    return (await convertWorkflowTemplate(parsed.context, parsed.value)).events;
  }

  it("matches the EventsConfig the parser produces", async () => {
    const on = await eventsOf(
      [
        "  push:",
        "    branches: [main]",
        "    paths-ignore: ['docs/**']",
        "  pull_request:",
        "  schedule:",
        "    - cron: '30 5 * * 1'",
        "  workflow_dispatch:",
      ].join("\n"),
    );
    expect(matchTrigger(on, branchPush("main", ["src/x.ts"]))).toEqual(runs);
    expect(matchTrigger(on, branchPush("main", ["docs/x.md"])).runs).toBe(false);
    expect(matchTrigger(on, branchPush("dev", ["src/x.ts"])).runs).toBe(false);
    expect(matchTrigger(on, pullRequest("opened"))).toEqual(runs);
    expect(matchTrigger(on, pullRequest("closed")).runs).toBe(false);
    expect(matchTrigger(on, event("schedule", { schedule: "30 5 * * 1" }))).toEqual(runs);
    expect(matchTrigger(on, event("workflow_dispatch"))).toEqual(runs);
  });

  it("reads `on: [push, pull_request]` and a single-string filter", async () => {
    const list = await eventsOf("  [push, pull_request]");
    expect(matchTrigger(list, tagPush("v1"))).toEqual(runs);
    const single = await eventsOf("  push:\n    branches: main");
    expect(matchTrigger(single, branchPush("main"))).toEqual(runs);
    expect(matchTrigger(single, branchPush("dev")).runs).toBe(false);
  });
});

describe("validateEvents", () => {
  /** Puts the located path in `file`, so tests can see where each diagnostic points. */
  const locate = (path: readonly (string | number)[]) => ({ file: path.join("."), line: 1, column: 1 });

  function problems(
    events: EventsConfig,
    workflowName?: string,
  ): Array<[string, string, string | undefined]> {
    return validateEvents(events, { locate, ...(workflowName ? { workflowName } : {}) }).map((d) => [
      d.severity,
      d.message,
      d.location?.file,
    ]);
  }

  it("accepts a valid configuration", () => {
    expect(
      problems({
        push: { branches: ["main", "releases/**", "!releases/**-alpha"], tags: ["v*"], paths: ["src/**"] },
        pull_request: { types: ["opened"], "branches-ignore": ["wip/**"], "paths-ignore": ["docs/**"] },
        schedule: [{ cron: "0 4 * * MON-FRI", timezone: "Europe/Paris" }],
        workflow_run: { workflows: ["Build"] },
      }),
    ).toEqual([]);
  });

  it("reports a filter together with its -ignore twin, as GitHub does", () => {
    expect(problems({ push: { branches: ["main"], "branches-ignore": ["dev"] } })).toEqual([
      [
        "error",
        "you may only define one of `branches` and `branches-ignore` for a single event; use `branches` with '!' patterns to exclude",
        "push.branches-ignore",
      ],
    ]);
    expect(problems({ pull_request: { paths: ["a"], "paths-ignore": ["b"] } })[0]?.[2]).toBe(
      "pull_request.paths-ignore",
    );
    expect(problems({ push: { tags: ["a"], "tags-ignore": ["b"] } })).toHaveLength(1);
  });

  it("reports invalid patterns at the pattern", () => {
    expect(problems({ push: { branches: ["main", "v[12"] } })).toEqual([
      [
        "error",
        "on.push.branches: invalid filter pattern 'v[12' at position 2: '[12' has no closing ']'",
        "push.branches.1",
      ],
    ]);
  });

  it("warns about invalid types and workflows patterns, which fail runs rather than the file", () => {
    expect(problems({ workflow_run: { workflows: ["C++ Build"] } })).toEqual([
      [
        "warning",
        "on.workflow_run.workflows: invalid filter pattern 'C++ Build' at position 3: '+' cannot follow '+' (GitHub accepts the file but fails every run this event starts)",
        "workflow_run.workflows.0",
      ],
    ]);
  });

  it("warns about lists of only negative patterns", () => {
    expect(problems({ push: { branches: ["!main", "!beta"] } })).toEqual([
      [
        "warning",
        "on.push.branches: every pattern starts with '!', so no branch matches and the workflow never runs for it; put a positive pattern such as '**' first, or use branches-ignore",
        "push.branches",
      ],
    ]);
    expect(problems({ push: { "paths-ignore": ["!src/**"] } })).toEqual([
      [
        "warning",
        "on.push.paths-ignore: every pattern starts with '!', so the list ignores nothing",
        "push.paths-ignore",
      ],
    ]);
  });

  it("reports cron mistakes with the field and value, at the cron", () => {
    expect(problems({ schedule: [{ cron: "0 * * * *" }, { cron: "61 * * * *" }] })).toEqual([
      [
        "error",
        "invalid cron expression '61 * * * *': minute value 61 is out of range 0-59",
        "schedule.1.cron",
      ],
    ]);
  });

  it("reports an unknown time zone at the timezone", () => {
    expect(problems({ schedule: [{ cron: "0 * * * *", timezone: "Europe/Atlantis" }] })).toEqual([
      [
        "error",
        "unknown time zone 'Europe/Atlantis': use an IANA name such as 'UTC', 'Europe/Paris' or 'America/New_York'",
        "schedule.0.timezone",
      ],
    ]);
  });

  it("reports a workflow_run without workflows, or following itself", () => {
    expect(problems({ workflow_run: {} })).toEqual([
      [
        "error",
        "`on.workflow_run` does not reference any workflows: list them under `workflows`",
        "workflow_run",
      ],
    ]);
    expect(problems({ workflow_run: { workflows: ["Deploy", "ci"] } }, "CI")).toEqual([
      ["error", "Workflow 'CI' cannot listen to itself", "workflow_run.workflows.1"],
    ]);
  });

  it("checks input definitions and locates them inside on", () => {
    const events = {
      workflow_dispatch: { inputs: { level: { type: "choice", options: ["info"], default: "warn" } } },
      workflow_call: { inputs: { flag: { type: "boolean", default: "yes" } } },
    } as unknown as EventsConfig;
    expect(problems(events)).toEqual([
      [
        "error",
        "the default of choice input 'level' must be one of its options ('info'), got 'warn'",
        "workflow_dispatch.inputs.level.default",
      ],
      [
        "error",
        "the default of boolean input 'flag' must be true or false (unquoted), got 'yes'",
        "workflow_call.inputs.flag.default",
      ],
    ]);
  });
});
