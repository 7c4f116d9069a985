/**
 * Secrets, variables, the job token and the audit log on a real server with a real (in-process)
 * runner: values reach jobs but never logs (single-line, multi-line, pieces after add-mask), API
 * answers, error messages or the database file; precedence; fork pull requests get none; a
 * ciphertext moved to another scope does not decrypt; the job token stops working when its job
 * ends; `conveyor secret set` reads the value from stdin.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runner } from "../../src/agent/runner.js";
import { ConveyorServer } from "../../src/server/server.js";
import { CLI } from "../cli/helpers.js";
import { eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "./helpers.js";

interface JobView {
  id: number;
  key: string;
  status: string;
  conclusion: string | null;
}
interface RunSummary {
  id: number;
  event: string;
  status: string;
  conclusion: string | null;
}
interface AuditEvent {
  id: number;
  actor: string | null;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

const SINGLE = "s1ngle-Secret-Value-42";
const MULTI = "multi-first-line-77\nmulti-second-line-88";
const PIECES = "alphaPART1betaPART2x";
const [PIECE_A, PIECE_B] = [PIECES.slice(0, 9), PIECES.slice(9)];
const SHARED_ORG = "org-shared-value-1";
const SHARED_REPO = "repo-shared-value-2";
const SHARED_ENV = "env-shared-value-3";
const FROM_CLI = "cli-piped-value-99";
const SECRET_VALUES = [
  SINGLE,
  ...MULTI.split("\n"),
  MULTI,
  PIECES,
  SHARED_ORG,
  SHARED_REPO,
  SHARED_ENV,
  FROM_CLI,
];

/** The workflow compares digests: a value written into it would be stored with the run, as any file is. */
function digest(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 16);
}

const WORKFLOW = `name: Secrets
on: push
jobs:
  show:
    runs-on: ubuntu-latest
    env:
      SINGLE: \${{ secrets.SINGLE }}
      MULTI: \${{ secrets.MULTI }}
      PIECES: \${{ secrets.PIECES }}
      SHARED: \${{ secrets.SHARED }}
    steps:
      - run: |
          echo "single=$SINGLE"
          echo "inline=\${{ secrets.SINGLE }}"
          printf '%s\\n' "$MULTI"
          echo "multi-inline=\${{ secrets.MULTI }}"
      - shell: bash
        run: |
          A="\${PIECES:0:9}"
          B="\${PIECES:9}"
          echo "::add-mask::$A"
          echo "::add-mask::$B"
          echo "first=$A"
          echo "second=$B"
      - run: |
          if [ "$(printf %s "$SHARED" | sha256sum | cut -c1-16)" = "${digest(SHARED_REPO)}" ]; then echo "shared-from-repository"; fi
          echo "region=\${{ vars.REGION }} org-only=\${{ vars.ORG_ONLY }}"
          printf '%s' "\${{ github.token }}" > "$CONVEYOR_TEST_SECRETS_DIR/show-token"
          H="Authorization: Basic $(printf 'x-access-token:%s' '\${{ github.token }}' | base64 -w0)"
          git -c "http.extraHeader=$H" ls-remote "\${{ github.server_url }}/\${{ github.repository }}.git" > /dev/null && echo "fetch-ok"
          echo "default-run-read=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer \${{ github.token }}' "\${{ github.server_url }}/api/v1/runs/\${{ github.run_id }}")"
  reader:
    runs-on: ubuntu-latest
    permissions:
      actions: read
      contents: read
    steps:
      - run: |
          A="Authorization: Bearer \${{ github.token }}"
          API="\${{ github.server_url }}/api/v1"
          echo "own-run=$(curl -s -o /dev/null -w '%{http_code}' -H "$A" "$API/runs/\${{ github.run_id }}")"
          echo "own-artifacts=$(curl -s -o /dev/null -w '%{http_code}' -H "$A" "$API/runs/\${{ github.run_id }}/artifacts")"
          for path in repos/admin/other/runs user/tokens repos/admin/app/secrets repos/admin/app/environments/production/secrets runners audit; do
            echo "refused $path=$(curl -s -o /dev/null -w '%{http_code}' -H "$A" "$API/$path")"
          done
          H="Authorization: Basic $(printf 'x-access-token:%s' '\${{ github.token }}' | base64 -w0)"
          if git -c "http.extraHeader=$H" ls-remote "\${{ github.server_url }}/admin/other.git" > /dev/null 2>&1; then echo "other-repo=fetched"; else echo "other-repo=refused"; fi
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: |
          if [ "$(printf %s "$SHARED" | sha256sum | cut -c1-16)" = "${digest(SHARED_ENV)}" ]; then echo "shared-from-environment"; fi
          echo "region=\${{ vars.REGION }}"
        env:
          SHARED: \${{ secrets.SHARED }}
  locked:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - run: |
          H="Authorization: Basic $(printf 'x-access-token:%s' '\${{ github.token }}' | base64 -w0)"
          if git -c "http.extraHeader=$H" ls-remote "\${{ github.server_url }}/\${{ github.repository }}.git" > /dev/null 2>&1; then echo "fetch-allowed"; else echo "fetch-refused"; fi
`;

const PULL_REQUEST_WORKFLOW = `name: PR
on: [pull_request, pull_request_target]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - run: echo "event=\${{ github.event_name }} single-present=\${{ secrets.SINGLE != '' }} token-present=\${{ secrets.GITHUB_TOKEN != '' }}"
`;

let server: ConveyorServer;
let runner: Runner;
let dataDir: string;
let admin: { url: string; token: string };
let bob: { url: string; token: string };
let project: string;
const tokenDir = mkdtempSync(join(tmpdir(), "conveyor-secrets-token-"));
/** Every API answer's body, searched for secret values at the end. */
const answers: string[] = [];

async function call<T>(
  who: { url: string; token: string },
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(`${who.url}/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      authorization: `Bearer ${who.token}`,
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  answers.push(text);
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: response.status, body: body as T, text };
}

const put = (who: typeof admin, path: string, value: unknown) =>
  call(who, path, { method: "PUT", body: { value } });

beforeAll(async () => {
  process.env.CONVEYOR_TEST_SECRETS_DIR = tokenDir;
  ({ server, runner, admin, dataDir } = await startInProcess({ prefix: "conveyor-secrets-", capacity: 2 }));
  expect((await call(admin, "/users", { body: { login: "bob", password: "bob password" } })).status).toBe(
    201,
  );
  const created = await fetch(`${server.url}/api/v1/user/tokens`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from("bob:bob password").toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ name: "tests" }),
  });
  bob = { url: server.url, token: ((await created.json()) as { token: string }).token };
  expect((await call(admin, "/repos", { body: { name: "app" } })).status).toBe(201);
  // Another repository of the same owner: a job token of admin/app must not reach it.
  expect((await call(admin, "/repos", { body: { name: "other" } })).status).toBe(201);

  for (const [path, value] of [
    ["/secrets/SHARED", SHARED_ORG],
    ["/repos/admin/app/secrets/shared", SHARED_REPO],
    ["/repos/admin/app/environments/production/secrets/SHARED", SHARED_ENV],
    ["/repos/admin/app/secrets/SINGLE", SINGLE],
    ["/repos/admin/app/secrets/MULTI", MULTI],
    ["/repos/admin/app/secrets/PIECES", PIECES],
    ["/variables/REGION", "org-region"],
    ["/variables/ORG_ONLY", "from-the-org"],
    ["/repos/admin/app/variables/REGION", "repo-region"],
    ["/repos/admin/app/environments/production/variables/REGION", "prod-region"],
  ] as const) {
    expect((await put(admin, path, value)).status).toBe(201);
  }
  project = gitRepositoryWith({ ".github/workflows/secrets.yml": WORKFLOW });
}, 60_000);

afterAll(async () => {
  await runner?.stop({ cancelJobs: true });
  await server?.close();
});

const logOf = async (jobId: number): Promise<string> => {
  const response = await fetch(`${server.url}/api/v1/jobs/${jobId}/logs?format=text`, {
    headers: { authorization: `Bearer ${admin.token}` },
  });
  const text = await response.text();
  answers.push(text);
  return text;
};

async function finishedRun(runId: number): Promise<JobView[]> {
  const run = await eventually(
    () => call<{ status: string; jobs: JobView[] }>(admin, `/runs/${runId}`),
    (r) => r.body.status === "completed",
    60_000,
  );
  return run.body.jobs;
}

describe("the master key", () => {
  it("is made once, readable by its owner only, and a bad CONVEYOR_MASTER_KEY stops the start with its message", async () => {
    const keyFile = join(dataDir, "master.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, "utf8").trim(), "base64")).toHaveLength(32);
    const saved = process.env.CONVEYOR_MASTER_KEY;
    process.env.CONVEYOR_MASTER_KEY = "dG9vIHNob3J0";
    try {
      await expect(
        ConveyorServer.start({ dataDir: mkdtempSync(join(tmpdir(), "conveyor-badkey-")), port: 0 }),
      ).rejects.toThrow(/CONVEYOR_MASTER_KEY must be base64 of 32 random bytes/u);
    } finally {
      if (saved === undefined) delete process.env.CONVEYOR_MASTER_KEY;
      else process.env.CONVEYOR_MASTER_KEY = saved;
    }
  });
});

describe("secrets and variables on the server", () => {
  it("checks names and who may change them, without echoing values", async () => {
    const bad = await put(admin, "/repos/admin/app/secrets/1BAD", SINGLE);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      error: expect.stringMatching(/secret name '1BAD' starts with a digit/u) as unknown,
    });
    expect((await put(admin, "/repos/admin/app/secrets/GITHUB_X", SINGLE)).status).toBe(400);
    const notString = await call<{ error: string }>(admin, "/repos/admin/app/secrets/OK", {
      method: "PUT",
      body: { value: 5 },
    });
    expect(notString.body.error).toMatch(/'value' must be a string/u);
    const huge = await put(admin, "/repos/admin/app/secrets/HUGE", SINGLE.repeat(3000));
    expect(huge.status).toBe(400);
    expect(huge.text).toMatch(/48 KB/u);
    expect((await put(bob, "/repos/admin/app/secrets/MINE", "x")).status).toBe(403);
    expect((await put(bob, "/secrets/MINE", "x")).status).toBe(403);
    expect((await call(bob, "/repos/admin/app/secrets")).status).toBe(403);
    expect((await put(admin, "/repos/nobody/none/secrets/X", "x")).status).toBe(404);

    const listed = await call<{ secrets: { name: string; updatedAt: string }[] }>(
      admin,
      "/repos/admin/app/secrets",
    );
    expect(listed.body.secrets.map((s) => s.name)).toEqual(["MULTI", "PIECES", "SHARED", "SINGLE"]);
    expect(Object.keys(listed.body.secrets[0] ?? {}).sort()).toEqual(["createdAt", "name", "updatedAt"]);
    const vars = await call<{ variables: { name: string; value: string }[] }>(admin, "/variables");
    expect(vars.body.variables.map((v) => [v.name, v.value])).toEqual([
      ["ORG_ONLY", "from-the-org"],
      ["REGION", "org-region"],
    ]);
    // Replacing answers 200; deleting a missing one 404.
    expect((await put(admin, "/repos/admin/app/variables/TEMP", "1")).status).toBe(201);
    expect((await put(admin, "/repos/admin/app/variables/temp", "2")).status).toBe(200);
    expect((await call(admin, "/repos/admin/app/variables/TEMP", { method: "DELETE" })).status).toBe(204);
    expect((await call(admin, "/repos/admin/app/variables/TEMP", { method: "DELETE" })).status).toBe(404);
  });

  it("gives jobs their secrets and variables with GitHub's precedence, masked in every log", async () => {
    expect(
      (await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/app"), "main"])).status,
    ).toBe(0);
    const runs = await eventually(
      () => call<{ runs: RunSummary[] }>(admin, "/repos/admin/app/runs"),
      (r) => r.body.runs.length === 1,
    );
    const jobs = await finishedRun((runs.body.runs[0] as RunSummary).id);
    const byKey = (prefix: string) => jobs.find((j) => j.key.startsWith(prefix)) as JobView;
    expect(jobs.map((j) => [j.key, j.conclusion]).sort()).toEqual([
      ["deploy#0", "success"],
      ["locked#0", "success"],
      ["reader#0", "success"],
      ["show#0", "success"],
    ]);

    const show = await logOf(byKey("show").id);
    expect(show).toContain("single=***");
    expect(show).toContain("inline=***");
    expect(show).toContain("first=***");
    expect(show).toContain("second=***");
    expect(show).toContain("shared-from-repository");
    expect(show).toContain("region=repo-region org-only=from-the-org");
    expect(show).toContain("fetch-ok");
    const deploy = await logOf(byKey("deploy").id);
    expect(deploy).toContain("shared-from-environment");
    expect(deploy).toContain("region=prod-region");
    expect(await logOf(byKey("locked").id)).toContain("fetch-refused");
    // The job token on /api/v1: its own run and artifacts only with `actions: read` (the default
    // gives `actions: none`); never another repository, secrets, tokens or administration.
    expect(show).toContain("default-run-read=403");
    const reader = await logOf(byKey("reader").id);
    expect(reader).toContain("own-run=200");
    expect(reader).toContain("own-artifacts=200");
    for (const path of [
      "repos/admin/other/runs",
      "user/tokens",
      "repos/admin/app/secrets",
      "repos/admin/app/environments/production/secrets",
      "runners",
      "audit",
    ]) {
      expect(reader).toContain(`refused ${path}=403`);
    }
    expect(reader).toContain("other-repo=refused");
    for (const log of [show, deploy]) {
      for (const value of [...SECRET_VALUES, PIECE_A, PIECE_B]) expect(log).not.toContain(value);
    }

    // The token the job used is refused once its job has ended.
    const token = readFileSync(join(tokenDir, "show-token"), "utf8");
    expect(token).toMatch(/^cvj_/u);
    expect(show).not.toContain(token);
    const refused = await fetch(`${server.url}/admin/app.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}` },
    });
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(token);
  }, 90_000);

  it("gives a fork's pull request no secrets, and pull_request_target its secrets", async () => {
    const repository = await server.store.repositories.byName("admin", "app");
    if (!repository) throw new Error("no repository");
    const sha = (await git(project, ["rev-parse", "HEAD"])).stdout.trim();
    const payload = {
      action: "opened",
      number: 1,
      pull_request: {
        number: 1,
        head: { ref: "feature", sha, repo: { full_name: "mallory/app" } },
        base: { ref: "main", sha, repo: { full_name: "admin/app" } },
      },
      repository: { full_name: "admin/app" },
      sender: { login: "mallory" },
    };
    const started = [];
    for (const eventName of ["pull_request", "pull_request_target"]) {
      const result = await server.context.starter.start({
        repository,
        eventName,
        payload,
        ref: eventName === "pull_request" ? "refs/pull/1/merge" : "refs/heads/main",
        sha,
        actor: "mallory",
        workflowFiles: { ".github/workflows/pr.yml": PULL_REQUEST_WORKFLOW },
        serverUrl: server.url,
        cloneUrl: server.context.cloneUrlOf(repository),
        fromFork: true,
      });
      expect(result.errors).toEqual([]);
      started.push(result.runs[0]?.id as number);
    }
    const [fork, target] = await Promise.all(started.map(finishedRun));
    const forkLog = await logOf((fork?.[0] as JobView).id);
    expect(forkLog).toContain("event=pull_request single-present=false token-present=true");
    const targetLog = await logOf((target?.[0] as JobView).id);
    expect(targetLog).toContain("event=pull_request_target single-present=true token-present=true");
  }, 90_000);

  it("binds each ciphertext to its scope: a row copied elsewhere does not decrypt", async () => {
    const repositoryId = (await server.store.repositories.byName("admin", "app"))?.id as number;
    const [single] = (await server.store.secrets.ciphertexts({ repositoryId, environment: "" })).filter(
      (s) => s.name === "SINGLE",
    );
    if (!single) throw new Error("no SINGLE row");
    expect(single.ciphertext).not.toContain(SINGLE);
    await server.store.secrets.put({ repositoryId: 0, environment: "" }, "SINGLE", single.ciphertext);
    await server.store.secrets.put({ repositoryId, environment: "staging" }, "SINGLE", single.ciphertext);
    await server.store.secrets.put({ repositoryId, environment: "" }, "RENAMED", single.ciphertext);
    const values = await server.context.secrets.runSecretValues(repositoryId);
    expect(values.SINGLE).toBe(SINGLE);
    expect(values.RENAMED).toBeUndefined();
    expect(await server.context.secrets.environmentSecretValues(repositoryId, "staging")).toEqual({});
    const organisation = await server.context.secrets.runSecretValues(999);
    expect(organisation.SINGLE).toBeUndefined();
    expect(organisation.SHARED).toBe(SHARED_ORG);
  });

  it("reads `conveyor secret set`'s value from stdin", async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "secret",
        "set",
        "from_cli",
        "--repo",
        "admin/app",
        "--server",
        server.url,
        "--token",
        admin.token,
      ],
      { env: { ...process.env, NO_COLOR: "1", XDG_CONFIG_HOME: tmpdir() }, stdio: ["pipe", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.end(`${FROM_CLI}\n`);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(output).toContain("Created secret FROM_CLI in repo:admin/app.");
    expect(code).toBe(0);
    expect(output).not.toContain(FROM_CLI);
    const repositoryId = (await server.store.repositories.byName("admin", "app"))?.id as number;
    expect((await server.context.secrets.runSecretValues(repositoryId)).FROM_CLI).toBe(FROM_CLI);
  });

  it("records changes in the audit log, for administrators, without values", async () => {
    expect((await call(bob, "/audit")).status).toBe(403);
    const secretEvents = await call<{ events: AuditEvent[]; next: number | null }>(
      admin,
      "/audit?action=secret.*&limit=500",
    );
    const targets = secretEvents.body.events.map((e) => `${e.actor} ${e.action} ${e.target}`);
    expect(targets).toContain("admin secret.create repo:admin/app/env:production/secret:SHARED");
    expect(targets).toContain("admin secret.create organization/secret:SHARED");
    expect(targets).toContain("admin secret.create repo:admin/app/secret:FROM_CLI");
    const deleted = await call<{ events: AuditEvent[] }>(admin, "/audit?action=variable.delete");
    expect(deleted.body.events.map((e) => e.target)).toEqual(["repo:admin/app/variable:TEMP"]);
    const tokens = await call<{ events: AuditEvent[] }>(admin, "/audit?action=token.create&actor=bob");
    expect(tokens.body.events).toHaveLength(1);
    const runners = await call<{ events: AuditEvent[] }>(admin, "/audit?action=runner.register");
    expect(runners.body.events.length).toBeGreaterThanOrEqual(1);
    const environmentEvents = await call<{ events: AuditEvent[] }>(
      admin,
      "/audit?target=repo:admin/app/env:",
    );
    // An environment's own events (its deployments) share the prefix; its secrets' and variables' are these.
    expect(
      environmentEvents.body.events
        .filter((e) => /^(secret|variable)\./.test(e.action))
        .map((e) => e.target)
        .sort(),
    ).toEqual([
      "repo:admin/app/env:production/secret:SHARED",
      "repo:admin/app/env:production/variable:REGION",
    ]);
    expect(environmentEvents.body.events.map((e) => e.action)).toContain("deployment.create");
    expect(
      (await call<{ events: AuditEvent[] }>(admin, "/audit?since=2999-01-01T00:00:00Z")).body.events,
    ).toEqual([]);
    // Paging: newest first, `next` continues below.
    const page1 = await call<{ events: AuditEvent[]; next: number | null }>(admin, "/audit?limit=2");
    expect(page1.body.events).toHaveLength(2);
    const page2 = await call<{ events: AuditEvent[] }>(admin, `/audit?limit=2&before=${page1.body.next}`);
    expect((page2.body.events[0] as AuditEvent).id).toBeLessThan((page1.body.events[1] as AuditEvent).id);
    expect((await call<{ error: string }>(admin, "/audit?since=yesterday")).body.error).toMatch(
      /since must be an ISO time/u,
    );
  });

  it("never puts a secret's value in an API answer or the database file", async () => {
    // Read everything there is to read once more.
    for (const path of [
      "/runs",
      "/repos/admin/app/runs",
      "/secrets",
      "/repos/admin/app/secrets",
      "/repos/admin/app/environments/production/secrets",
      "/repos/admin/app/variables",
      "/repos/admin/app/environments",
      "/repos/admin/app/environments/production/deployments",
      "/audit?limit=500",
      "/openapi.json",
    ]) {
      await call(admin, path);
    }
    const runs = await call<{ runs: RunSummary[] }>(admin, "/runs");
    for (const run of runs.body.runs) {
      const detail = await call<{ jobs: JobView[] }>(admin, `/runs/${run.id}`);
      for (const job of detail.body.jobs) {
        await call(admin, `/jobs/${job.id}`);
        await call(admin, `/jobs/${job.id}/logs`);
        await logOf(job.id);
      }
    }
    expect(answers.length).toBeGreaterThan(40);
    for (const answer of answers) {
      for (const value of SECRET_VALUES) expect(answer).not.toContain(value);
    }
    for (const file of ["conveyor.db", "conveyor.db-wal"].map((f) => join(dataDir, f))) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      const leaked = SECRET_VALUES.filter((value) => bytes.includes(Buffer.from(value)));
      expect(leaked, file).toEqual([]);
    }
  });
});
