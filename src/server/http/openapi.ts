/**
 * The API's OpenAPI 3.1 description, served at /api/v1/openapi.json. Built from one table of
 * operations so that adding a route means adding a line here; a test checks every route the
 * server registers under /api/v1 is described.
 */

interface Operation {
  readonly method: "get" | "post" | "put" | "patch" | "delete";
  readonly path: string;
  readonly summary: string;
  readonly public?: boolean;
  readonly query?: readonly string[];
  readonly body?: Readonly<Record<string, string>>;
  readonly response: string;
}

const RUN_QUERY = ["workflow", "branch", "event", "status", "actor", "before", "limit"];

export const API_OPERATIONS: readonly Operation[] = [
  { method: "get", path: "/health", summary: "Health check", public: true, response: "{ status: 'ok' }" },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This description",
    public: true,
    response: "OpenAPI document",
  },
  { method: "get", path: "/user", summary: "The authenticated user", response: "User" },
  {
    method: "post",
    path: "/users",
    summary: "Add a user (admins)",
    body: { login: "string", password: "string (8+ characters)", admin: "boolean (optional)" },
    response: "User",
  },
  { method: "get", path: "/repos", summary: "List repositories", response: "Repository[]" },
  {
    method: "post",
    path: "/repos",
    summary: "Create a hosted repository, or a mirror of a remote one that sends webhooks",
    body: {
      name: "string",
      owner: "string (optional; admins only for others)",
      defaultBranch: "string (optional)",
      mirrorUrl: "string (optional: the remote's clone URL)",
      webhookSecret: "string (with mirrorUrl: the webhook signing secret, 16+ characters)",
    },
    response: "Repository",
  },
  { method: "get", path: "/repos/{owner}/{name}", summary: "One repository", response: "Repository" },
  {
    method: "patch",
    path: "/repos/{owner}/{name}",
    summary: "Change a repository's settings (its owner or an admin)",
    body: { defaultBranch: "string (optional)" },
    response: "Repository",
  },
  {
    method: "get",
    path: "/runs",
    summary: "Runs across repositories, newest first",
    query: RUN_QUERY,
    response: "{ runs: Run[], next: number | null }",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/runs",
    summary: "A repository's runs, newest first",
    query: RUN_QUERY,
    response: "{ runs: Run[], next: number | null }",
  },
  {
    method: "get",
    path: "/runs/{runId}",
    summary: "A run with its jobs and steps",
    query: ["attempt"],
    response: "Run & { jobs: Job[] }",
  },
  { method: "post", path: "/runs/{runId}/cancel", summary: "Cancel a run", response: "{ cancelled: true }" },
  {
    method: "post",
    path: "/runs/{runId}/rerun",
    summary: "Re-run a finished run as a new attempt (all jobs, or only failed ones)",
    body: { failedOnly: "boolean (optional)" },
    response: "{ runId, attempt }",
  },
  {
    method: "get",
    path: "/runs/{runId}/graph",
    summary: "The run's job graph from `needs`: its top-level jobs before matrix expansion",
    response: "{ jobs: { id, name, needs: string[], calls: boolean }[] }",
  },
  {
    method: "get",
    path: "/runs/{runId}/annotations",
    summary:
      "An attempt's annotations (errors, warnings, notices with file:line) and step summaries (markdown)",
    query: ["attempt"],
    response:
      "{ annotations: { jobId, jobName, seq, step, level, message, title, file, line, column }[], summaries: { jobId, jobName, step, markdown }[], omitted: { jobId, jobName, count }[] } (at most 1000 annotations a job are kept; omitted counts the rest)",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/workflows",
    summary:
      "The workflows at a ref (default branch), with the typed inputs of those that run on workflow_dispatch",
    query: ["ref"],
    response:
      "{ ref, sha, workflows: { path, name, dispatch: { inputs: { name, type, description, required, default, options }[] } | null, errors }[] }",
  },
  {
    method: "post",
    path: "/jobs/{jobId}/rerun",
    summary: "Re-run one job of a finished run (and the jobs that need it) as a new attempt",
    response: "{ runId, attempt, jobs: string[] }",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/environments",
    summary: "The repository's environments, each with its protection rules and live deployment",
    response: "{ environments: Environment[] }",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/environments/{env}",
    summary: "One environment: its rules and what is live",
    response: "Environment",
  },
  {
    method: "put",
    path: "/repos/{owner}/{name}/environments/{env}",
    summary:
      "Create an environment or change its protection rules (owner or admins; fields left out keep their value)",
    body: {
      reviewers: "string[] (optional: logins, at most 6; one approval suffices)",
      preventSelfReview: "boolean (optional)",
      waitTimer: "number (optional: minutes, 0-43200)",
      deploymentPolicy:
        "{ branches: string[], tags: string[] } | null (optional: allowed ref patterns; null: any)",
    },
    response: "Environment",
  },
  {
    method: "delete",
    path: "/repos/{owner}/{name}/environments/{env}",
    summary: "Remove an environment (its deployment history stays)",
    response: "204",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/environments/{env}/deployments",
    summary: "An environment's deployments, newest first, and the live one",
    query: ["limit", "before"],
    response: "{ environment, live: Deployment | null, deployments: Deployment[], next: number | null }",
  },
  {
    method: "post",
    path: "/repos/{owner}/{name}/environments/{env}/rollback",
    summary:
      "Redeploy an earlier successful deployment: its job runs again with that run's commit, event and artifacts, through the environment's rules",
    body: { to: "number (the deployment id)" },
    response: "{ runId, attempt, environment, rollbackOf, sha }",
  },
  { method: "get", path: "/deployments/{deploymentId}", summary: "One deployment", response: "Deployment" },
  {
    method: "get",
    path: "/runs/{runId}/pending-deployments",
    summary: "The run's deployments waiting for review, and whether you may review each",
    response: "{ pending: PendingDeployment[] }",
  },
  {
    method: "post",
    path: "/runs/{runId}/approve",
    summary: "Approve the run's deployments waiting for your review",
    body: { comment: "string (optional)", environment: "string (optional: only this environment's)" },
    response: "{ runId, verdict, deployments: Deployment[] }",
  },
  {
    method: "post",
    path: "/runs/{runId}/reject",
    summary: "Reject them: their jobs fail with your comment",
    body: { comment: "string (optional)", environment: "string (optional: only this environment's)" },
    response: "{ runId, verdict, deployments: Deployment[] }",
  },
  {
    method: "get",
    path: "/approvals",
    summary: "Deployments waiting for the signed-in user's review, across repositories",
    response: "{ pending: PendingDeployment[] }",
  },
  {
    method: "post",
    path: "/repos/{owner}/{name}/statuses/{sha}",
    summary:
      "Set a commit status (the repository's owner, an administrator, or a job whose token has statuses: write)",
    body: {
      state: "error | failure | pending | success",
      context: "string (optional, default 'default')",
      description: "string (optional, at most 140 characters)",
      target_url: "http(s) URL (optional)",
    },
    response: "CommitStatus",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/commits/{sha}/statuses",
    summary: "A commit's statuses, newest first (a job's token needs statuses: read)",
    response: "CommitStatus[]",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/commits/{sha}/status",
    summary: "A commit's combined state and the newest status of each context",
    response: "{ sha, state, totalCount, statuses: CommitStatus[] }",
  },
  { method: "get", path: "/jobs/{jobId}", summary: "A job with its steps", response: "Job" },
  {
    method: "post",
    path: "/jobs/{jobId}/cancel",
    summary: "Cancel one job",
    response: "{ cancelled: true }",
  },
  {
    method: "get",
    path: "/jobs/{jobId}/logs",
    summary: "A job's event rows (log lines, steps, annotations) from a seq on; format=text gives plain text",
    query: ["from", "limit", "format"],
    response: "{ rows: { seq, event }[], next: number | null } | text/plain",
  },
  {
    method: "get",
    path: "/jobs/{jobId}/logs/lines",
    summary:
      "A job's whole log from a seq on, streamed as NDJSON (one `{ seq, event }` a line) as it is read: the first rows come at once however long the log",
    query: ["from"],
    response: "application/x-ndjson",
  },
  {
    method: "get",
    path: "/jobs/{jobId}/logs/stream",
    summary:
      "A job's event rows live, as Server-Sent Events (id = seq; resumes after Last-Event-ID); ends with an `end` event",
    query: ["from"],
    response: "text/event-stream",
  },
  {
    method: "post",
    path: "/repos/{owner}/{name}/dispatches",
    summary: "Start a workflow_dispatch workflow with typed inputs",
    body: {
      workflow: "string (file name or path)",
      ref: "string (optional; default branch)",
      inputs: "object (optional)",
    },
    response: "{ runs: Run[] }",
  },
  {
    method: "get",
    path: "/runners",
    summary: "Runners: online, labels, current jobs, last seen",
    response: "Runner[]",
  },
  {
    method: "post",
    path: "/runners/registration-token",
    summary: "A token to register a runner (admins)",
    response: "{ token, command }",
  },
  {
    method: "get",
    path: "/user/tokens",
    summary: "Your API tokens (never their values)",
    response: "Token[]",
  },
  {
    method: "post",
    path: "/user/tokens",
    summary: "Create an API token; its value is shown once",
    body: { name: "string" },
    response: "Token & { token }",
  },
  { method: "delete", path: "/user/tokens/{tokenId}", summary: "Revoke a token", response: "204" },
  {
    method: "get",
    path: "/repos/{owner}/{name}/caches",
    summary: "A repository's caches, most recently used first, with their total size and the quota",
    response: "{ totalSize, quota, caches: { id, key, version, ref, size, createdAt, lastUsedAt }[] }",
  },
  {
    method: "delete",
    path: "/repos/{owner}/{name}/caches/{cacheId}",
    summary: "Delete a cache (the repository's owner or an admin)",
    response: "204",
  },
  {
    method: "get",
    path: "/runs/{runId}/artifacts",
    summary: "A run's artifacts that have not expired, with size, SHA-256 digest, expiry and download URL",
    response:
      "{ totalCount, artifacts: { id, name, size, digest, mimeType, attempt, createdAt, expiresAt, archiveDownloadUrl }[] }",
  },
  {
    method: "get",
    path: "/artifacts/{artifactId}/zip",
    summary:
      "Download an artifact: its zip (or the file itself, for one uploaded unzipped); 410 once expired",
    response: "application/zip",
  },
  {
    method: "post",
    path: "/repos/{owner}/{name}/webhook",
    summary:
      "Receive a push or pull_request webhook from GitHub, Gitea/Forgejo or GitLab (authenticated by its signature)",
    public: true,
    response: "{ ok, runs: number[] }",
  },
  {
    method: "get",
    path: "/repos/{owner}/{name}/badges/{workflow}",
    summary: "Status badge (SVG) of a workflow on a branch",
    public: true,
    query: ["branch"],
    response: "image/svg+xml",
  },
  ...secretOperations(),
  {
    method: "get",
    path: "/audit",
    summary:
      "The audit log, newest first (admins): who changed secrets, variables, tokens, runners, deployments",
    query: ["actor", "action", "target", "since", "until", "before", "limit"],
    response: "{ events: AuditEvent[], next: number | null }",
  },
];

/** Secrets and variables at each of GitHub's three scopes (src/server/http/secret-routes.ts). */
function secretOperations(): Operation[] {
  const scopes = [
    { prefix: "", what: "the organisation's", who: "admins" },
    { prefix: "/repos/{owner}/{name}", what: "a repository's", who: "its owner or admins" },
    {
      prefix: "/repos/{owner}/{name}/environments/{env}",
      what: "an environment's",
      who: "the repository's owner or admins",
    },
  ];
  return scopes.flatMap(({ prefix, what, who }): Operation[] => [
    {
      method: "get",
      path: `${prefix}/secrets`,
      summary: `List ${what} secrets: names and dates, never values (${who})`,
      response: "{ scope: string, secrets: { name, createdAt, updatedAt }[] }",
    },
    {
      method: "put",
      path: `${prefix}/secrets/{entry}`,
      summary: `Create or replace one of ${what} secrets, encrypted at rest (${who})`,
      body: { value: "string (up to 48 KB)" },
      response: "{ name, scope, created } (201 created, 200 replaced)",
    },
    {
      method: "delete",
      path: `${prefix}/secrets/{entry}`,
      summary: `Delete one of ${what} secrets`,
      response: "204",
    },
    {
      method: "get",
      path: `${prefix}/variables`,
      summary: `List ${what} variables with their values (${who})`,
      response: "{ scope: string, variables: { name, value, createdAt, updatedAt }[] }",
    },
    {
      method: "get",
      path: `${prefix}/variables/{entry}`,
      summary: `One of ${what} variables`,
      response: "{ name, value, createdAt, updatedAt }",
    },
    {
      method: "put",
      path: `${prefix}/variables/{entry}`,
      summary: `Create or replace one of ${what} variables (${who})`,
      body: { value: "string (up to 48 KB)" },
      response: "{ name, scope, created } (201 created, 200 replaced)",
    },
    {
      method: "delete",
      path: `${prefix}/variables/{entry}`,
      summary: `Delete one of ${what} variables`,
      response: "204",
    },
  ]);
}

function pathParameters(path: string) {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
}

function describe(operation: Operation) {
  return {
    summary: operation.summary,
    security: operation.public ? [] : [{ token: [] }],
    parameters: [
      ...pathParameters(operation.path),
      ...(operation.query ?? []).map((name) => ({
        name,
        in: "query",
        required: false,
        schema: { type: "string" },
      })),
    ],
    ...(operation.body
      ? {
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: Object.fromEntries(
                    Object.entries(operation.body).map(([name, type]) => [name, { description: type }]),
                  ),
                },
              },
            },
          },
        }
      : {}),
    responses: {
      default: { description: operation.response },
      "4XX": { description: "{ error: string } saying what went wrong and what to do" },
    },
  };
}

const paths: Record<string, Record<string, ReturnType<typeof describe>>> = {};
for (const operation of API_OPERATIONS) {
  const entry = (paths[operation.path] ??= {});
  entry[operation.method] = describe(operation);
}

export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "Conveyor API",
    version: "1",
    description:
      "Conveyor's REST API. Authenticate with `Authorization: Bearer <token>` (create tokens with `conveyor token create` or POST /user/tokens).",
  },
  servers: [{ url: "/api/v1" }],
  components: { securitySchemes: { token: { type: "http", scheme: "bearer" } } },
  paths,
};
