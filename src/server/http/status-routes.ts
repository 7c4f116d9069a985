/**
 * Commit statuses, as GitHub's statuses API has them (described in openapi.ts):
 *   POST /api/v1/repos/:owner/:name/statuses/:sha          set a status { state, context, description, target_url }
 *   GET  /api/v1/repos/:owner/:name/commits/:sha/statuses  every status of the commit, newest first
 *   GET  /api/v1/repos/:owner/:name/commits/:sha/status    the combined state and the newest status per context
 * People who own the repository (or administrators) set them, and jobs whose token has
 * `statuses: write` (`statuses: read` to read them back).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CommitState, CommitStatus } from "../../store/commit-statuses.js";
import type { Repository } from "../../store/repositories.js";
import type { ServerContext } from "../server-context.js";
import { jobMay, requireUserOrJob } from "./authenticate.js";
import type { Caller } from "./authenticate.js";
import { sendError } from "./errors.js";

const API = "/api/v1";
const STATES: readonly CommitState[] = ["error", "failure", "pending", "success"];
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** GitHub's limits: a description of 140 characters; contexts are short names. */
const MAX_DESCRIPTION = 140;
const MAX_CONTEXT = 255;
const MAX_URL = 2048;

interface CommitParams {
  owner: string;
  name: string;
  sha: string;
}

interface StatusBody {
  state?: unknown;
  context?: unknown;
  description?: unknown;
  target_url?: unknown;
}

export function registerStatusRoutes(app: FastifyInstance, context: ServerContext): void {
  const { store } = context;

  /** The repository and the caller allowed `level` on its statuses, or undefined after an answer. */
  const access = async (
    request: FastifyRequest<{ Params: CommitParams }>,
    reply: FastifyReply,
    level: "read" | "write",
  ): Promise<{ repository: Repository; caller: Caller; sha: string } | undefined> => {
    const caller = await requireUserOrJob(context, request, reply);
    if (!caller) return undefined;
    const repository = await store.repositories.byName(request.params.owner, request.params.name);
    if (!repository) {
      sendError(reply, 404, `no repository ${request.params.owner}/${request.params.name}.`);
      return undefined;
    }
    if (!jobMay(caller, repository.id, "statuses", level, reply)) return undefined;
    if (
      level === "write" &&
      caller.kind === "user" &&
      !caller.user.isAdmin &&
      caller.user.login !== repository.owner
    ) {
      sendError(
        reply,
        403,
        `only ${repository.owner} or an administrator can set ${repository.fullName}'s commit statuses.`,
      );
      return undefined;
    }
    const sha = request.params.sha.toLowerCase();
    if (!SHA.test(sha)) {
      sendError(reply, 400, "name the commit by its full id (40 hexadecimal characters).");
      return undefined;
    }
    return { repository, caller, sha };
  };

  app.post(
    `${API}/repos/:owner/:name/statuses/:sha`,
    async (request: FastifyRequest<{ Params: CommitParams }>, reply) => {
      const allowed = await access(request, reply, "write");
      if (!allowed) return reply;
      const body = (request.body ?? {}) as StatusBody;
      const problem = statusProblem(body);
      if (problem) return sendError(reply, 400, problem);
      const status = await store.commitStatuses.add({
        repositoryId: allowed.repository.id,
        sha: allowed.sha,
        state: body.state as CommitState,
        context: typeof body.context === "string" && body.context !== "" ? body.context : "default",
        description: typeof body.description === "string" ? body.description : null,
        targetUrl: typeof body.target_url === "string" ? body.target_url : null,
        creator:
          allowed.caller.kind === "user" ? allowed.caller.user.login : `job:${allowed.caller.claims.jobId}`,
      });
      if (!status) return sendError(reply, 422, "this commit has as many statuses as it may keep (1000).");
      return reply.code(201).send(statusView(status));
    },
  );

  app.get(
    `${API}/repos/:owner/:name/commits/:sha/statuses`,
    async (request: FastifyRequest<{ Params: CommitParams }>, reply) => {
      const allowed = await access(request, reply, "read");
      if (!allowed) return reply;
      return (await store.commitStatuses.forCommit(allowed.repository.id, allowed.sha)).map(statusView);
    },
  );

  app.get(
    `${API}/repos/:owner/:name/commits/:sha/status`,
    async (request: FastifyRequest<{ Params: CommitParams }>, reply) => {
      const allowed = await access(request, reply, "read");
      if (!allowed) return reply;
      const current = currentStatuses(
        await store.commitStatuses.forCommit(allowed.repository.id, allowed.sha),
      );
      return {
        sha: allowed.sha,
        state: combinedState(current),
        totalCount: current.length,
        statuses: current.map(statusView),
      };
    },
  );
}

/** What is wrong with a status to set, naming the field; undefined when nothing. Pure. */
export function statusProblem(body: StatusBody): string | undefined {
  if (typeof body.state !== "string" || !STATES.includes(body.state as CommitState))
    return `state must be one of ${STATES.join(", ")}.`;
  if (body.context !== undefined && (typeof body.context !== "string" || body.context.length > MAX_CONTEXT))
    return `context must be a text of at most ${MAX_CONTEXT} characters.`;
  if (
    body.description !== undefined &&
    body.description !== null &&
    (typeof body.description !== "string" || body.description.length > MAX_DESCRIPTION)
  )
    return `description must be a text of at most ${MAX_DESCRIPTION} characters.`;
  if (body.target_url !== undefined && body.target_url !== null) {
    if (
      typeof body.target_url !== "string" ||
      body.target_url.length > MAX_URL ||
      !/^https?:\/\//i.test(body.target_url)
    )
      return "target_url must be an http or https URL.";
  }
  return undefined;
}

/** The newest status of each context, newest first (`statuses` newest first). Pure. */
export function currentStatuses(statuses: readonly CommitStatus[]): CommitStatus[] {
  const current = new Map<string, CommitStatus>();
  for (const status of statuses) if (!current.has(status.context)) current.set(status.context, status);
  return [...current.values()];
}

/** GitHub's combined state: failure if any is error or failure, pending if any is pending or there is none, else success. Pure. */
export function combinedState(current: readonly CommitStatus[]): CommitState {
  if (current.some((s) => s.state === "error" || s.state === "failure")) return "failure";
  if (current.length === 0 || current.some((s) => s.state === "pending")) return "pending";
  return "success";
}

function statusView(status: CommitStatus) {
  return {
    id: status.id,
    sha: status.sha,
    state: status.state,
    context: status.context,
    description: status.description,
    targetUrl: status.targetUrl,
    creator: status.creator,
    createdAt: status.createdAt,
  };
}
