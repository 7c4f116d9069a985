/**
 * The API's OpenAPI 3.1 description, served at /api/v1/openapi.json. Built from one table of
 * operations so that adding a route means adding a line here; a test checks every route the
 * server registers under /api/v1 is described.
 */

interface Operation {
  readonly method: "get" | "post" | "delete";
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
];

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
