/**
 * Environments, deployments and reviews in the REST API (described in openapi.ts):
 *   GET    /repos/:owner/:name/environments                      environments with what is live
 *   GET    /repos/:owner/:name/environments/:env                 one, with its rules
 *   PUT    /repos/:owner/:name/environments/:env                 create it or change its rules
 *   DELETE /repos/:owner/:name/environments/:env                 remove it (its history stays)
 *   GET    /repos/:owner/:name/environments/:env/deployments     its history, newest first
 *   POST   /repos/:owner/:name/environments/:env/rollback        redeploy an earlier deployment
 *   GET    /deployments/:deploymentId                            one deployment
 *   GET    /runs/:runId/pending-deployments                      a run's deployments waiting for review
 *   POST   /runs/:runId/approve, /runs/:runId/reject             review them, with a comment
 *   GET    /approvals                                            what waits for the signed-in user's review
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { JsonObject } from "../../json.js";
import type { User } from "../../store/accounts.js";
import type { DeploymentPolicy, Environment, ProtectionRules } from "../../store/environments.js";
import { NO_RULES } from "../../store/environments.js";
import type { Repository } from "../../store/repositories.js";
import { environmentNameProblem } from "../../engine/job-gates.js";
import {
  MAX_REVIEWERS,
  MAX_WAIT_TIMER_MINUTES,
  policyProblems,
  reviewRefusal,
} from "../deployments/protection-rules.js";
import { environmentTarget } from "../deployments/job-gate.js";
import { MAX_COMMENT, reviewRun } from "../deployments/reviews.js";
import type { Verdict } from "../deployments/reviews.js";
import { deploymentView, environmentView, pendingView } from "../deployments/views.js";
import type { ServerContext } from "../server-context.js";
import { requireUser } from "./authenticate.js";
import { checkBody } from "./body-checks.js";
import { sendError } from "./errors.js";

const API = "/api/v1";

type RepoParams = { owner: string; name: string };
type EnvParams = RepoParams & { env: string };

export function registerEnvironmentRoutes(app: FastifyInstance, context: ServerContext): void {
  const { store } = context;

  const withUser = <P>(
    handler: (request: FastifyRequest<{ Params: P }>, reply: FastifyReply, user: User) => Promise<unknown>,
  ) => {
    return async (request: FastifyRequest<{ Params: P }>, reply: FastifyReply) => {
      const user = await requireUser(context, request, reply);
      if (!user) return reply;
      return handler(request, reply, user);
    };
  };

  const repositoryOf = async (params: RepoParams, reply: FastifyReply): Promise<Repository | undefined> => {
    const repository = await store.repositories.byName(params.owner, params.name);
    if (!repository) sendError(reply, 404, `no repository ${params.owner}/${params.name}.`);
    return repository;
  };

  const environmentOf = async (
    repository: Repository,
    name: string,
    reply: FastifyReply,
  ): Promise<Environment | undefined> => {
    const environment = await store.environments.byName(repository.id, name);
    if (!environment) {
      sendError(
        reply,
        404,
        `${repository.fullName} has no environment '${name}': a job's \`environment: ${name}\` creates it, or PUT it here.`,
      );
    }
    return environment;
  };

  const mayConfigure = (user: User, repository: Repository): boolean =>
    user.isAdmin || user.login === repository.owner;

  app.get(
    `${API}/repos/:owner/:name/environments`,
    withUser<RepoParams>(async (request, reply) => {
      const repository = await repositoryOf(request.params, reply);
      if (!repository) return reply;
      const environments = await store.environments.list(repository.id);
      const views = [];
      for (const environment of environments)
        views.push(environmentView(environment, await store.deployments.live(environment.id)));
      return { environments: views };
    }),
  );

  app.get(
    `${API}/repos/:owner/:name/environments/:env`,
    withUser<EnvParams>(async (request, reply) => {
      const repository = await repositoryOf(request.params, reply);
      const environment = repository && (await environmentOf(repository, request.params.env, reply));
      if (!environment) return reply;
      return environmentView(environment, await store.deployments.live(environment.id));
    }),
  );

  app.put(
    `${API}/repos/:owner/:name/environments/:env`,
    withUser<EnvParams>(async (request, reply, user) => {
      const repository = await repositoryOf(request.params, reply);
      if (!repository) return reply;
      if (!mayConfigure(user, repository)) {
        return sendError(
          reply,
          403,
          `only ${repository.owner} or an administrator can change ${repository.fullName}'s environments.`,
        );
      }
      const nameProblem = environmentNameProblem(request.params.env);
      if (nameProblem) return sendError(reply, 400, nameProblem);
      const existing = await store.environments.byName(repository.id, request.params.env);
      const rules = rulesOf(request.body ?? {}, existing ?? NO_RULES);
      if (!rules.ok) return sendError(reply, 400, rules.message);
      const saved = await store.environments.save(repository.id, request.params.env, rules.value);
      await store.audit.record({
        actor: user.login,
        action: existing ? "environment.update" : "environment.create",
        target: environmentTarget(repository.fullName, saved.name),
        details: { environment: saved.name, ...rulesDetails(rules.value) },
      });
      // Rules changed: waiting jobs are looked at again (fewer reviewers may let one go).
      for (const waiting of await store.deployments.waiting()) {
        if (waiting.environmentId === saved.id && waiting.jobId !== null)
          await context.coordinator.reconsiderJob(waiting.jobId);
      }
      return reply
        .code(existing ? 200 : 201)
        .send(environmentView(saved, await store.deployments.live(saved.id)));
    }),
  );

  app.delete(
    `${API}/repos/:owner/:name/environments/:env`,
    withUser<EnvParams>(async (request, reply, user) => {
      const repository = await repositoryOf(request.params, reply);
      if (!repository) return reply;
      if (!mayConfigure(user, repository)) {
        return sendError(
          reply,
          403,
          `only ${repository.owner} or an administrator can change ${repository.fullName}'s environments.`,
        );
      }
      if (!(await store.environments.remove(repository.id, request.params.env))) {
        return sendError(reply, 404, `${repository.fullName} has no environment '${request.params.env}'.`);
      }
      await store.audit.record({
        actor: user.login,
        action: "environment.delete",
        target: environmentTarget(repository.fullName, request.params.env),
        details: { environment: request.params.env },
      });
      return reply.code(204).send();
    }),
  );

  app.get(
    `${API}/repos/:owner/:name/environments/:env/deployments`,
    withUser<EnvParams>(async (request, reply) => {
      const repository = await repositoryOf(request.params, reply);
      const environment = repository && (await environmentOf(repository, request.params.env, reply));
      if (!environment) return reply;
      const query = request.query as { limit?: string; before?: string };
      const limit = query.limit === undefined ? 50 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        return sendError(reply, 400, "limit must be a whole number from 1 to 500.");
      const before = query.before === undefined ? undefined : Number(query.before);
      if (before !== undefined && !Number.isInteger(before))
        return sendError(reply, 400, "before must be a deployment id (the `next` of the previous page).");
      const history = await store.deployments.history(environment.id, limit, before);
      const live = await store.deployments.live(environment.id);
      const last = history[history.length - 1];
      return {
        environment: environment.name,
        live: live ? deploymentView(live, environment.name) : null,
        deployments: history.map((d) => deploymentView(d, environment.name)),
        next: last && history.length === limit ? last.id : null,
      };
    }),
  );

  app.post(
    `${API}/repos/:owner/:name/environments/:env/rollback`,
    withUser<EnvParams>(async (request, reply, user) => {
      const repository = await repositoryOf(request.params, reply);
      const environment = repository && (await environmentOf(repository, request.params.env, reply));
      if (!environment) return reply;
      const body = checkBody<{ to: number }>(request.body, { to: "number" });
      if (!body.ok) return sendError(reply, 400, `${body.message} Name the deployment to redeploy (its id).`);
      const target = await store.deployments.byId(body.value.to);
      if (!target || target.environmentId !== environment.id) {
        return sendError(
          reply,
          404,
          `${environment.name} has no deployment ${body.value.to}: see its history for ids.`,
        );
      }
      if (target.status !== "success" && target.status !== "inactive") {
        return sendError(
          reply,
          409,
          `deployment ${target.id} did not succeed (it is ${target.status}): roll back to a deployment that did.`,
        );
      }
      const started = await context.coordinator.rollback(target, user.login);
      if (!started.ok) return sendError(reply, started.status, started.message);
      await store.audit.record({
        actor: user.login,
        action: "deployment.rollback",
        target: environmentTarget(repository.fullName, environment.name),
        details: {
          environment: environment.name,
          // The deployment rolled back to (`rollbackOf` is the name the deployment record uses).
          fromDeploymentId: target.id,
          rollbackOf: target.id,
          sha: target.sha,
          newRunId: started.runId,
        },
      });
      return reply.code(201).send({
        runId: started.runId,
        attempt: started.attempt,
        environment: environment.name,
        rollbackOf: target.id,
        sha: target.sha,
      });
    }),
  );

  app.get(
    `${API}/deployments/:deploymentId`,
    withUser<{ deploymentId: string }>(async (request, reply) => {
      const deployment = await store.deployments.byId(Number(request.params.deploymentId));
      if (!deployment) return sendError(reply, 404, `no deployment ${request.params.deploymentId}.`);
      const environment = await store.environments.byId(deployment.environmentId);
      return deploymentView(deployment, environment?.name ?? "(removed)");
    }),
  );

  app.get(
    `${API}/runs/:runId/pending-deployments`,
    withUser<{ runId: string }>(async (request, reply, user) => {
      const run = await store.runs.byId(Number(request.params.runId));
      if (!run) return sendError(reply, 404, `no run ${request.params.runId}.`);
      const repository = await store.repositories.byId(run.repositoryId);
      const pending = [];
      for (const deployment of await store.deployments.waiting(run.id)) {
        const environment = await store.environments.byId(deployment.environmentId);
        if (!environment || deployment.attempt !== run.attempt) continue;
        const refusal = reviewRefusal(environment, user.login, deployment.creator, environment.name);
        pending.push(pendingView(deployment, environment, repository?.fullName ?? null, refusal));
      }
      return { pending };
    }),
  );

  const review = (verdict: Verdict) =>
    withUser<{ runId: string }>(async (request, reply, user) => {
      const run = await store.runs.byId(Number(request.params.runId));
      if (!run) return sendError(reply, 404, `no run ${request.params.runId}.`);
      const body = checkBody<{ comment?: string; environment?: string }>(
        request.body ?? {},
        {},
        { comment: "string", environment: "string" },
      );
      if (!body.ok) return sendError(reply, 400, body.message);
      const comment = body.value.comment?.trim() || null;
      if (comment !== null && comment.length > MAX_COMMENT)
        return sendError(reply, 400, `the field 'comment' is longer than ${MAX_COMMENT} characters.`);
      const result = await reviewRun(context, run, user, verdict, comment, body.value.environment);
      if (!result.ok) return sendError(reply, result.status, result.message);
      const views = [];
      for (const reviewed of result.reviewed) {
        const current = (await store.deployments.byId(reviewed.id)) ?? reviewed;
        const environment = await store.environments.byId(current.environmentId);
        views.push(deploymentView(current, environment?.name ?? ""));
      }
      return { runId: run.id, verdict, deployments: views };
    });

  app.post(`${API}/runs/:runId/approve`, review("approve"));
  app.post(`${API}/runs/:runId/reject`, review("reject"));

  app.get(
    `${API}/approvals`,
    withUser(async (_request, _reply, user) => {
      const pending = [];
      for (const deployment of await store.deployments.waiting()) {
        const environment = await store.environments.byId(deployment.environmentId);
        if (!environment || deployment.approver !== null) continue;
        if (!environment.reviewers.some((r) => r.toLowerCase() === user.login.toLowerCase())) continue;
        const run = await store.runs.byId(deployment.runId);
        if (!run || run.attempt !== deployment.attempt) continue;
        const repository = await store.repositories.byId(deployment.repositoryId);
        const refusal = reviewRefusal(environment, user.login, deployment.creator, environment.name);
        pending.push(pendingView(deployment, environment, repository?.fullName ?? null, refusal));
      }
      return { pending };
    }),
  );
}

/**
 * An environment's rules from a PUT body: fields left out keep their current value. Every field is
 * checked, and a bad one is named with what it must be.
 */
export function rulesOf(
  body: unknown,
  current: ProtectionRules,
): { ok: true; value: ProtectionRules } | { ok: false; message: string } {
  const checked = checkBody<{
    reviewers?: string[];
    preventSelfReview?: boolean;
    waitTimer?: number;
    deploymentPolicy?: { branches?: unknown; tags?: unknown } | null;
  }>(body, {}, { reviewers: "string[]", preventSelfReview: "boolean", waitTimer: "number" });
  if (!checked.ok) return checked;
  const value = checked.value;
  const reviewers = value.reviewers ?? current.reviewers;
  if (reviewers.length > MAX_REVIEWERS)
    return { ok: false, message: `the field 'reviewers' may list at most ${MAX_REVIEWERS} people.` };
  const badLogin = reviewers.find((r) => !/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/.test(r));
  if (badLogin !== undefined)
    return { ok: false, message: `the field 'reviewers' holds '${badLogin}', which is not a login.` };
  const waitTimer = value.waitTimer ?? current.waitTimerMinutes;
  if (!Number.isInteger(waitTimer) || waitTimer < 0 || waitTimer > MAX_WAIT_TIMER_MINUTES) {
    return {
      ok: false,
      message: `the field 'waitTimer' must be a whole number of minutes from 0 to ${MAX_WAIT_TIMER_MINUTES} (30 days).`,
    };
  }
  let policy: DeploymentPolicy | null = current.policy;
  if (value.deploymentPolicy !== undefined) {
    if (value.deploymentPolicy === null) policy = null;
    else if (typeof value.deploymentPolicy !== "object" || Array.isArray(value.deploymentPolicy)) {
      return {
        ok: false,
        message:
          "the field 'deploymentPolicy' must be null (any ref may deploy) or { branches: [patterns], tags: [patterns] }.",
      };
    } else {
      const { branches = [], tags = [] } = value.deploymentPolicy;
      const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every((p) => typeof p === "string");
      if (!isList(branches))
        return { ok: false, message: "the field 'deploymentPolicy.branches' must be a list of patterns." };
      if (!isList(tags))
        return { ok: false, message: "the field 'deploymentPolicy.tags' must be a list of patterns." };
      policy = { branches, tags };
      const problems = policyProblems(policy);
      if (problems.length > 0) return { ok: false, message: problems.join(" ") };
    }
  }
  return {
    ok: true,
    value: {
      reviewers: [...new Set(reviewers)],
      preventSelfReview: value.preventSelfReview ?? current.preventSelfReview,
      waitTimerMinutes: waitTimer,
      policy,
    },
  };
}

/** An environment's rules as the audit log keeps them: plain values, nothing secret. */
function rulesDetails(rules: ProtectionRules): JsonObject {
  return {
    reviewers: [...rules.reviewers],
    preventSelfReview: rules.preventSelfReview,
    waitTimerMinutes: rules.waitTimerMinutes,
    policy:
      rules.policy === null ? null : { branches: [...rules.policy.branches], tags: [...rules.policy.tags] },
  };
}
