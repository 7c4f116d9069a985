/**
 * The REST API under /api/v1 (described in OpenAPI at /api/v1/openapi.json): repositories, runs,
 * jobs and their logs (ranges, and live over Server-Sent Events), cancel, re-run, dispatch,
 * runners, tokens. Everything needs a token except the health check and the status badges.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServerResponse } from "node:http";
import type { RunEvent } from "../../engine/events.js";
import type { User } from "../../store/accounts.js";
import type { Repository } from "../../store/repositories.js";
import type { RunFilter, RunStatus } from "../../store/runs.js";
import { checkRepositoryName } from "../git/repository-names.js";
import type { ServerContext } from "../server-context.js";
import { jobView, repositoryView, runView, runnerView, waitingReason } from "./api-views.js";
import { checkBody } from "./body-checks.js";
import { sendError } from "./errors.js";
import { jobMayRead, requireUser, requireUserOrJob } from "./authenticate.js";
import { badgeSvg } from "./badge.js";
import { OPENAPI_DOCUMENT } from "./openapi.js";

export const API_PREFIX = "/api/v1";

type RepoParams = { owner: string; name: string };

export function registerApiRoutes(app: FastifyInstance, context: ServerContext): void {
  const { store } = context;

  /** The repository named in the path, or a 404 answer. */
  const repositoryOf = async (params: RepoParams, reply: FastifyReply): Promise<Repository | undefined> => {
    const repository = await store.repositories.byName(params.owner, params.name);
    if (!repository)
      sendError(
        reply,
        404,
        `no repository ${params.owner}/${params.name}: create it with \`conveyor repo create\`.`,
      );
    return repository;
  };

  const withUser = <P>(
    handler: (request: FastifyRequest<{ Params: P }>, reply: FastifyReply, user: User) => Promise<unknown>,
  ) => {
    return async (request: FastifyRequest<{ Params: P }>, reply: FastifyReply) => {
      const user = await requireUser(context, request, reply);
      if (!user) return reply;
      return handler(request, reply, user);
    };
  };

  app.get(`${API_PREFIX}/health`, async () => ({ status: "ok" }));
  app.get(`${API_PREFIX}/openapi.json`, async () => OPENAPI_DOCUMENT);

  app.get(
    `${API_PREFIX}/user`,
    withUser(async (_request, _reply, user) => ({ id: user.id, login: user.login, admin: user.isAdmin })),
  );

  app.post(
    `${API_PREFIX}/users`,
    withUser(async (request, reply, user) => {
      if (!user.isAdmin) return sendError(reply, 403, "only an administrator can add users.");
      const body = checkBody<{ login: string; password: string; admin?: boolean }>(
        request.body,
        { login: "string", password: "string" },
        { admin: "boolean" },
      );
      if (!body.ok) return sendError(reply, 400, body.message);
      if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/.test(body.value.login)) {
        return sendError(
          reply,
          400,
          "login must be 1-39 letters, digits or hyphens, starting with a letter or digit.",
        );
      }
      if (body.value.password.length < 8)
        return sendError(reply, 400, "password must have at least 8 characters.");
      const created = await store.accounts.createUser(
        body.value.login,
        body.value.password,
        body.value.admin === true,
      );
      if (!created) return sendError(reply, 409, `the user ${body.value.login} exists already.`);
      return reply.code(201).send({ id: created.id, login: created.login, admin: created.isAdmin });
    }),
  );

  // Repositories
  app.get(
    `${API_PREFIX}/repos`,
    withUser(async () => {
      const repositories = await store.repositories.list();
      return repositories.map((r) => repositoryView(r, context.cloneUrlOf(r)));
    }),
  );

  app.post(
    `${API_PREFIX}/repos`,
    withUser(async (request, reply, user) => {
      const body = checkBody<{
        name: string;
        owner?: string;
        defaultBranch?: string;
        mirrorUrl?: string;
        webhookSecret?: string;
      }>(
        request.body,
        { name: "string" },
        { owner: "string", defaultBranch: "string", mirrorUrl: "string", webhookSecret: "string" },
      );
      if (!body.ok) return sendError(reply, 400, body.message);
      const owner = body.value.owner ?? user.login;
      if (owner !== user.login && !user.isAdmin) {
        return sendError(
          reply,
          403,
          `only an administrator can create repositories for '${owner}'; yours go under '${user.login}'.`,
        );
      }
      const checked = checkRepositoryName(owner, body.value.name);
      if (!checked.ok) return sendError(reply, 400, checked.errors.map((e) => e.message).join(" "));
      const { mirrorUrl, webhookSecret } = body.value;
      if ((mirrorUrl === undefined) !== (webhookSecret === undefined)) {
        return sendError(
          reply,
          400,
          "a mirrored repository needs both mirrorUrl (the remote's clone URL) and webhookSecret (the secret its webhooks are signed with).",
        );
      }
      if (webhookSecret !== undefined && webhookSecret.length < 16) {
        return sendError(reply, 400, "webhookSecret must have at least 16 characters.");
      }
      const created =
        mirrorUrl !== undefined && webhookSecret !== undefined
          ? await context.createMirroredRepository(
              checked.value.owner,
              checked.value.name,
              mirrorUrl,
              webhookSecret,
              body.value.defaultBranch,
            )
          : await context.createHostedRepository(
              checked.value.owner,
              checked.value.name,
              body.value.defaultBranch,
            );
      if (!created.ok) return sendError(reply, 409, created.message);
      return reply.code(201).send(repositoryView(created.repository, context.cloneUrlOf(created.repository)));
    }),
  );

  app.get(
    `${API_PREFIX}/repos/:owner/:name`,
    withUser<RepoParams>(async (request, reply) => {
      const repository = await repositoryOf(request.params, reply);
      return repository ? repositoryView(repository, context.cloneUrlOf(repository)) : reply;
    }),
  );

  // Runs
  const listRuns = async (
    query: Record<string, string | undefined>,
    reply: FastifyReply,
    repositoryId?: number,
  ) => {
    const filter = runFilterOf(query);
    if (!filter.ok) return sendError(reply, 400, filter.message);
    const runs = await store.runs.list({ ...filter.value, repositoryId });
    const repositories = new Map<number, Repository | undefined>();
    for (const run of runs) {
      if (!repositories.has(run.repositoryId))
        repositories.set(run.repositoryId, await store.repositories.byId(run.repositoryId));
    }
    const last = runs[runs.length - 1];
    return {
      runs: runs.map((r) => runView(r, repositories.get(r.repositoryId))),
      // The cursor of the next page, when this one is full.
      next: last && runs.length === (filter.value.limit ?? 50) ? last.id : null,
    };
  };

  app.get(
    `${API_PREFIX}/runs`,
    withUser(async (request, reply) => listRuns(request.query as Record<string, string>, reply)),
  );

  app.get(
    `${API_PREFIX}/repos/:owner/:name/runs`,
    withUser<RepoParams>(async (request, reply) => {
      const repository = await repositoryOf(request.params, reply);
      return repository ? listRuns(request.query as Record<string, string>, reply, repository.id) : reply;
    }),
  );

  app.get(
    `${API_PREFIX}/runs/:runId`,
    // A running job may read its repository's runs with `actions: read` (GITHUB_TOKEN).
    async (request: FastifyRequest<{ Params: { runId: string } }>, reply: FastifyReply) => {
      const caller = await requireUserOrJob(context, request, reply);
      if (!caller) return reply;
      const run = await store.runs.byId(Number(request.params.runId));
      if (!run) return sendError(reply, 404, `no run ${request.params.runId}.`);
      if (!jobMayRead(caller, run.repositoryId, "actions", reply)) return reply;
      const attemptQuery = (request.query as { attempt?: string }).attempt;
      const attempt = attemptQuery === undefined ? run.attempt : Number(attemptQuery);
      const jobs = await store.jobs.forRun(run.id, attempt);
      const runners = jobs.some((j) => j.status === "queued") ? await store.accounts.listRunners() : [];
      const views = [];
      for (const job of jobs) {
        views.push(
          jobView(
            job,
            await store.jobs.steps(job.id),
            job.status === "queued" ? waitingReason(job, runners) : undefined,
          ),
        );
      }
      return {
        ...runView(run, await store.repositories.byId(run.repositoryId)),
        viewedAttempt: attempt,
        jobs: views,
      };
    },
  );

  app.post(
    `${API_PREFIX}/runs/:runId/cancel`,
    withUser<{ runId: string }>(async (request, reply) => {
      const runId = Number(request.params.runId);
      if (!(await store.runs.byId(runId))) return sendError(reply, 404, `no run ${request.params.runId}.`);
      const cancelled = await context.coordinator.cancelRun(runId);
      if (!cancelled) return sendError(reply, 409, `run ${runId} has already finished.`);
      return reply.code(202).send({ cancelled: true });
    }),
  );

  app.post(
    `${API_PREFIX}/runs/:runId/rerun`,
    withUser<{ runId: string }>(async (request, reply) => {
      const runId = Number(request.params.runId);
      const body = (request.body ?? {}) as { failedOnly?: unknown };
      if (!(await store.runs.byId(runId))) return sendError(reply, 404, `no run ${request.params.runId}.`);
      const attempt = await context.coordinator.rerun(runId, body.failedOnly === true);
      if (attempt === undefined)
        return sendError(reply, 409, `run ${runId} is still running: cancel it or wait for it to finish.`);
      return reply.code(201).send({ runId, attempt });
    }),
  );

  // Jobs and logs
  app.get(
    `${API_PREFIX}/jobs/:jobId`,
    withUser<{ jobId: string }>(async (request, reply) => {
      const job = await store.jobs.byId(Number(request.params.jobId));
      if (!job) return sendError(reply, 404, `no job ${request.params.jobId}.`);
      return jobView(job, await store.jobs.steps(job.id));
    }),
  );

  app.post(
    `${API_PREFIX}/jobs/:jobId/cancel`,
    withUser<{ jobId: string }>(async (request, reply) => {
      const job = await store.jobs.byId(Number(request.params.jobId));
      if (!job) return sendError(reply, 404, `no job ${request.params.jobId}.`);
      if (job.status === "completed") return sendError(reply, 409, `job ${job.id} has already finished.`);
      await context.cancelJob(job);
      return reply.code(202).send({ cancelled: true });
    }),
  );

  app.get(
    `${API_PREFIX}/jobs/:jobId/logs`,
    withUser<{ jobId: string }>(async (request, reply) => {
      const job = await store.jobs.byId(Number(request.params.jobId));
      if (!job) return sendError(reply, 404, `no job ${request.params.jobId}.`);
      const query = request.query as { from?: string; limit?: string; format?: string };
      const from = Math.max(1, Number(query.from ?? 1) || 1);
      const limit = Math.min(100_000, Math.max(1, Number(query.limit ?? 10_000) || 10_000));
      const rows = await store.jobs.events(job.id, from, limit);
      if (query.format === "text") {
        reply.type("text/plain; charset=utf-8");
        return (
          rows
            .map((r) => textOf(r.event))
            .filter((l): l is string => l !== undefined)
            .join("\n") + "\n"
        );
      }
      return {
        jobId: job.id,
        status: job.status,
        rows,
        next: rows.length === limit ? (rows[rows.length - 1]?.seq ?? 0) + 1 : null,
      };
    }),
  );

  app.get(
    `${API_PREFIX}/jobs/:jobId/logs/stream`,
    withUser<{ jobId: string }>(async (request, reply) => {
      const jobId = Number(request.params.jobId);
      const job = await store.jobs.byId(jobId);
      if (!job) return sendError(reply, 404, `no job ${request.params.jobId}.`);
      const lastEventId =
        Number(request.headers["last-event-id"] ?? (request.query as { from?: string }).from ?? 0) || 0;
      await streamJobEvents(context, request, reply, jobId, lastEventId);
      return reply;
    }),
  );

  // Dispatch
  app.post(
    `${API_PREFIX}/repos/:owner/:name/dispatches`,
    withUser<RepoParams>(async (request, reply, user) => {
      const repository = await repositoryOf(request.params, reply);
      if (!repository) return reply;
      const body = checkBody<{ workflow: string; ref?: string; inputs?: Record<string, unknown> }>(
        request.body,
        { workflow: "string" },
        { ref: "string", inputs: "object" },
      );
      if (!body.ok) return sendError(reply, 400, body.message);
      const started = await context.dispatch(
        repository,
        user,
        body.value.workflow,
        body.value.ref,
        body.value.inputs ?? {},
      );
      if (!started.ok) return sendError(reply, started.status, started.message);
      return reply.code(201).send({ runs: started.runs.map((r) => runView(r, repository)) });
    }),
  );

  // Runners and tokens
  app.get(
    `${API_PREFIX}/runners`,
    withUser(async () => {
      const runners = await store.accounts.listRunners();
      const running = await store.jobs.running();
      return runners.map((r) =>
        runnerView(
          r,
          running.filter((j) => j.runnerId === r.id).map((j) => j.id),
        ),
      );
    }),
  );

  app.post(
    `${API_PREFIX}/runners/registration-token`,
    withUser(async (_request, reply, user) => {
      if (!user.isAdmin) return sendError(reply, 403, "only an administrator can add runners.");
      const token = await store.accounts.createRegistrationToken();
      await store.audit.record({ actor: user.login, action: "runner.registration-token", target: "runners" });
      return reply
        .code(201)
        .send({ token, command: `conveyor runner --server ${context.publicUrl} --token ${token}` });
    }),
  );

  app.get(
    `${API_PREFIX}/user/tokens`,
    withUser(async (_request, _reply, user) => store.accounts.listTokens(user.id)),
  );

  app.post(
    `${API_PREFIX}/user/tokens`,
    withUser(async (request, reply, user) => {
      const body = checkBody<{ name: string }>(request.body, { name: "string" });
      if (!body.ok) return sendError(reply, 400, body.message);
      const { token, info } = await store.accounts.createToken(user.id, body.value.name);
      await store.audit.record({
        actor: user.login,
        action: "token.create",
        target: `user:${user.login}/token:${info.id}`,
        details: { name: info.name },
      });
      return reply.code(201).send({ ...info, token });
    }),
  );

  app.delete(
    `${API_PREFIX}/user/tokens/:tokenId`,
    withUser<{ tokenId: string }>(async (request, reply, user) => {
      if (!(await store.accounts.revokeToken(user.id, Number(request.params.tokenId)))) {
        return sendError(reply, 404, `you have no active token ${request.params.tokenId}.`);
      }
      await store.audit.record({
        actor: user.login,
        action: "token.revoke",
        target: `user:${user.login}/token:${request.params.tokenId}`,
      });
      return reply.code(204).send();
    }),
  );

  // Badges: public, like GitHub's.
  app.get<{ Params: RepoParams & { workflow: string } }>(
    `${API_PREFIX}/repos/:owner/:name/badges/:workflow`,
    async (request, reply) => {
      const repository = await store.repositories.byName(request.params.owner, request.params.name);
      const workflow = request.params.workflow.replace(/\.svg$/, "");
      const branch = (request.query as { branch?: string }).branch ?? repository?.defaultBranch ?? "main";
      const candidates = repository
        ? (await store.runs.list({ repositoryId: repository.id, branch, limit: 20 })).filter(
            (r) =>
              r.workflowPath
                .split("/")
                .pop()
                ?.replace(/\.ya?ml$/, "") === workflow.replace(/\.ya?ml$/, "") || r.workflowName === workflow,
          )
        : [];
      const latest = candidates.find((r) => r.status === "completed") ?? candidates[0];
      reply.header("cache-control", "no-cache").type("image/svg+xml");
      return badgeSvg(latest?.workflowName ?? workflow, latest?.conclusion ?? latest?.status ?? "no runs");
    },
  );
}

const STATUSES: readonly RunStatus[] = ["queued", "in_progress", "completed"];

function runFilterOf(
  query: Record<string, string | undefined>,
): { ok: true; value: RunFilter } | { ok: false; message: string } {
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    return { ok: false, message: "limit must be a whole number from 1 to 500." };
  const before = query.before === undefined ? undefined : Number(query.before);
  if (before !== undefined && !Number.isInteger(before))
    return { ok: false, message: "before must be a run id (the `next` of the previous page)." };
  if (query.status !== undefined && !STATUSES.includes(query.status as RunStatus)) {
    return { ok: false, message: `status must be one of ${STATUSES.join(", ")}.` };
  }
  return {
    ok: true,
    value: {
      workflow: query.workflow,
      branch: query.branch,
      event: query.event,
      status: query.status as RunStatus | undefined,
      actor: query.actor,
      before,
      limit,
    },
  };
}

/** A log line as plain text (what `?format=text` and `conveyor logs` print). */
export function textOf(event: RunEvent): string | undefined {
  switch (event.type) {
    case "log":
      return event.text;
    case "step-started":
      return `== ${event.name}`;
    case "annotation":
      return `${event.level}: ${event.message}`;
    default:
      return undefined;
  }
}

/**
 * Streams a job's events as Server-Sent Events, each with its seq as `id:`, from after
 * `lastEventId` (a reconnecting EventSource sends it as Last-Event-ID), live until the job ends.
 */
async function streamJobEvents(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  jobId: number,
  lastEventId: number,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  const gone = new AbortController();
  // The response's close, not the request's: a request "closes" once its body is read.
  reply.raw.on("close", () => gone.abort());
  await context.longRequests.run(gone.signal, (ended) => streamRows(context, res, jobId, lastEventId, ended));
}

async function streamRows(
  context: ServerContext,
  res: ServerResponse,
  jobId: number,
  lastEventId: number,
  ended: AbortSignal,
): Promise<void> {
  let sent = lastEventId;
  while (!ended.aborted) {
    const rows = await context.store.jobs.events(jobId, sent + 1, 5_000);
    for (const row of rows) {
      res.write(`id: ${row.seq}\nevent: ${row.event.type}\ndata: ${JSON.stringify(row.event)}\n\n`);
      sent = row.seq;
    }
    if (rows.length === 5_000) continue;
    const job = await context.store.jobs.byId(jobId);
    if (!job || job.status === "completed") {
      if (rows.length === 0) {
        res.write(
          `event: end\ndata: ${JSON.stringify({ status: job?.status ?? "gone", conclusion: job?.conclusion ?? null })}\n\n`,
        );
        break;
      }
      continue;
    }
    // Comments keep proxies from closing a quiet stream.
    await context.notifier.wait([`job-events:${jobId}`], 15_000, ended);
    if (!ended.aborted) res.write(": keep-alive\n\n");
  }
  res.end();
}
