/**
 * The server side of the runner protocol (docs/runner-protocol.md; messages in
 * src/protocol/runner.ts): register, poll (jobs and cancels, held open while there is nothing to
 * say), events (durable, numbered rows) and complete.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  LEASE_SECONDS,
  POLL_HOLD_SECONDS,
  RUNNER_API_PREFIX,
  RUNNER_PROTOCOL_VERSION,
} from "../../protocol/runner.js";
import type {
  AppendEventsResponse,
  CompleteRequest,
  JobLease,
  PollRequest,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
} from "../../protocol/runner.js";
import type { Runner } from "../../store/accounts.js";
import type { JobRecord } from "../../store/jobs.js";
import { credentialOf } from "../auth/credentials-header.js";
import type { ServerContext } from "../server-context.js";
import { runnerLabels } from "../runs/runner-labels.js";
import type { RunDefinition } from "../runs/run-definition.js";
import type { StoredAssignment } from "../runs/run-coordinator.js";
import { sendError } from "./errors.js";
import { checkBody } from "./body-checks.js";
import { eventRowsOf } from "./event-rows.js";
import { leaseAdditions } from "../secrets/lease-contexts.js";
import { PollOrder } from "./poll-order.js";

/** The longest `environment.url` a deployment keeps. */
const MAX_ENVIRONMENT_URL = 2_048;

/** How stale a runner's "last seen" may get before a request from it records it again. */
const LAST_SEEN_PRECISION_MS = 5_000;

/** How often a held poll looks at the store for work another server process queued. */
const POLL_RECHECK_MS = 1_000;

export function registerRunnerRoutes(app: FastifyInstance, context: ServerContext): void {
  const { store, notifier } = context;
  const pollOrder = new PollOrder();

  const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<Runner | undefined> => {
    const credential = credentialOf(request.headers.authorization);
    const runner =
      credential?.kind === "bearer" ? await store.accounts.runnerForCredential(credential.token) : undefined;
    if (!runner) {
      sendError(
        reply,
        401,
        "this runner's credential is not known to the server: register the runner again.",
      );
      return undefined;
    }
    // A write per request only to say "seen now" would be most of a busy runner's database
    // writes: a few seconds' precision is plenty for "online" (a minute) and the runner list.
    if (Date.now() - Date.parse(runner.lastSeenAt) >= LAST_SEEN_PRECISION_MS)
      await store.accounts.touchRunner(runner.id);
    return runner;
  };

  /** The job, if it exists and this runner holds it; answers the request otherwise. */
  const heldJob = async (
    request: FastifyRequest<{ Params: { jobId: string } }>,
    reply: FastifyReply,
    runner: Runner,
  ) => {
    const job = await store.jobs.byId(Number(request.params.jobId));
    if (!job || job.runnerId !== runner.id) {
      sendError(reply, 404, `job ${request.params.jobId} is not leased to this runner.`);
      return undefined;
    }
    return job;
  };

  app.post(`${RUNNER_API_PREFIX}/register`, async (request, reply) => {
    const body = checkBody<RegisterRequest>(request.body, {
      registrationToken: "string",
      name: "string",
      labels: "string[]",
      capacity: "number",
      protocolVersion: "number",
      os: "string",
      arch: "string",
    });
    if (!body.ok) return sendError(reply, 400, body.message);
    const registration = body.value;
    if (registration.protocolVersion !== RUNNER_PROTOCOL_VERSION) {
      return sendError(
        reply,
        400,
        `this server speaks runner protocol ${RUNNER_PROTOCOL_VERSION} and the runner ${registration.protocolVersion}: run the same Conveyor version on both.`,
      );
    }
    if (!(await store.accounts.isRegistrationToken(registration.registrationToken))) {
      return sendError(
        reply,
        401,
        "the registration token is not valid: make one with `conveyor runner token` or the API.",
      );
    }
    if (
      !Number.isInteger(registration.capacity) ||
      registration.capacity < 1 ||
      registration.capacity > 256
    ) {
      return sendError(reply, 400, "capacity must be a whole number from 1 to 256.");
    }
    const labels = runnerLabels(registration.labels, registration.os, registration.arch);
    const { runner, credential } = await store.accounts.registerRunner({
      name: registration.name,
      labels,
      capacity: registration.capacity,
      os: registration.os,
      arch: registration.arch,
    });
    await store.audit.record({
      actor: null,
      action: "runner.register",
      target: `runner:${runner.id}`,
      details: { name: runner.name, labels, os: registration.os, arch: registration.arch },
    });
    const response: RegisterResponse = { runnerId: String(runner.id), credential, labels };
    return reply.code(201).send(response);
  });

  app.post(`${RUNNER_API_PREFIX}/poll`, async (request, reply) => {
    const runner = await authenticate(request, reply);
    if (!runner) return reply;
    const body = checkBody<PollRequest>(
      request.body,
      { free: "number", running: "string[]" },
      { session: "string", sequence: "number" },
    );
    if (!body.ok) return sendError(reply, 400, body.message);
    if (!pollOrder.isLatest(runner.id, body.value)) {
      // A poll the runner gave up on, reaching the server after a newer one: its `running` list
      // is out of date (it would send jobs the runner now holds back to the queue). Nobody reads
      // the answer.
      const response: PollResponse = { jobs: [], cancel: [] };
      return reply.send(response);
    }
    const free = Math.max(0, Math.min(body.value.free, runner.capacity));
    const running = body.value.running.map(Number).filter((n) => Number.isInteger(n));
    const gone = new AbortController();
    // The response's close, not the request's: that one fired as soon as the body was read, so a
    // runner that died (or dropped this poll) went unnoticed, its leases extended for 25 s more.
    reply.raw.on("close", () => gone.abort());
    if (request.raw.socket.destroyed) gone.abort(); // it went away while being authenticated
    return context.longRequests.run(gone.signal, async (ended) => {
      const deadline = Date.now() + POLL_HOLD_SECONDS * 1000;
      await reclaimForgottenJobs(context, runner, running);
      for (;;) {
        const held = await store.jobs.extendLeases(runner.id, running, LEASE_SECONDS);
        const cancel = running
          .filter((id) => {
            const job = held.find((j) => j.id === id);
            // Stop what the runner should no longer run: cancelled, ended, or leased away.
            return !job || job.cancelRequested || job.status !== "in_progress" || job.runnerId !== runner.id;
          })
          .map(String);
        // A runner that went away gets no jobs; any leased as it left go back to the queue at once.
        let claimed = ended.aborted
          ? []
          : await store.jobs.claim(runner.id, runner.labels, free, LEASE_SECONDS);
        if (ended.aborted && claimed.length > 0) {
          for (const job of claimed) await store.jobs.requeue(job.id);
          notifier.jobsQueued();
          claimed = [];
        }
        if (claimed.length > 0 || cancel.length > 0 || Date.now() >= deadline || ended.aborted) {
          const jobs: JobLease[] = [];
          for (const job of claimed) jobs.push(await leaseFor(context, job));
          for (const job of claimed) await store.runs.markStarted(job.runId);
          for (const job of claimed) await store.deployments.started(job.id);
          if (claimed.length > 0) for (const job of claimed) notifier.runChanged(job.runId);
          const response: PollResponse = { jobs, cancel };
          return reply.send(response);
        }
        await notifier.wait(
          ["jobs-queued", "cancel"],
          Math.min(POLL_RECHECK_MS, deadline - Date.now()),
          ended,
        );
      }
    });
  });

  app.post<{ Params: { jobId: string } }>(
    `${RUNNER_API_PREFIX}/jobs/:jobId/events`,
    async (request, reply) => {
      const runner = await authenticate(request, reply);
      if (!runner) return reply;
      const job = await heldJob(request, reply, runner);
      if (!job) return reply;
      const rows = eventRowsOf(request.body);
      if (!rows) {
        return sendError(reply, 400, "the body must be { rows: [{ seq, event }] } with whole-number seqs.");
      }
      const result = await store.jobs.appendEvents(job.id, rows, {
        runnerId: runner.id,
        seconds: LEASE_SECONDS,
      });
      if (result.kind === "not-running") {
        const response: AppendEventsResponse = { acknowledged: job.acknowledgedSeq, cancel: true };
        return reply.send(response);
      }
      if (result.kind === "gap") {
        return reply.code(409).send({
          error: `rows are missing before seq ${rows[0]?.seq ?? "?"}: resend from ${result.acknowledged + 1}.`,
          acknowledged: result.acknowledged,
        });
      }
      notifier.jobEvents(job.id);
      const response: AppendEventsResponse = { acknowledged: result.acknowledged, cancel: result.cancel };
      return reply.send(response);
    },
  );

  app.post<{ Params: { jobId: string } }>(
    `${RUNNER_API_PREFIX}/jobs/:jobId/complete`,
    async (request, reply) => {
      const runner = await authenticate(request, reply);
      if (!runner) return reply;
      const job = await heldJob(request, reply, runner);
      if (!job) return reply;
      const body = checkBody<CompleteRequest>(request.body, {
        lastSeq: "number",
        conclusion: "string",
        outputs: "object",
      });
      if (!body.ok) return sendError(reply, 400, body.message);
      const { conclusion } = body.value;
      if (conclusion !== "success" && conclusion !== "failure" && conclusion !== "cancelled") {
        return sendError(reply, 400, "conclusion must be success, failure or cancelled.");
      }
      const outputs = stringRecord(body.value.outputs);
      const result = await store.jobs.complete(job.id, body.value.lastSeq, { conclusion, outputs });
      if (!result) return sendError(reply, 404, `no job ${job.id}.`);
      if (result.kind === "rows-missing") {
        return reply.code(409).send({
          error: `the server holds rows up to ${result.acknowledged} of ${body.value.lastSeq}: send the rest before completing.`,
          acknowledged: result.acknowledged,
        });
      }
      if (result.kind === "completed") {
        await context.coordinator.jobCompleted(result.job, {
          conclusion,
          outputs,
          continueOnError: body.value.continueOnError === true,
          unavailableOnHost: body.value.unavailableOnHost === true,
          ...(typeof body.value.environmentUrl === "string" && body.value.environmentUrl !== ""
            ? { environmentUrl: body.value.environmentUrl.slice(0, MAX_ENVIRONMENT_URL) }
            : {}),
        });
      }
      notifier.jobEvents(job.id);
      return reply.send({ completed: true });
    },
  );
}

/**
 * Jobs leased to this runner that it no longer lists as running (it restarted, or never received
 * the lease): ended at once rather than when their lease runs out. A runner polls one poll at a
 * time and lists every job it holds, so a job it leaves out is one it does not have.
 */
async function reclaimForgottenJobs(
  context: ServerContext,
  runner: Runner,
  running: readonly number[],
): Promise<void> {
  for (const job of await context.store.jobs.inProgressFor(runner.id)) {
    if (running.includes(job.id)) continue;
    if (await context.store.jobs.requeue(job.id)) {
      context.notifier.jobsQueued();
      continue;
    }
    const reason = `runner lost: runner '${runner.name}' came back without this job (it restarted), so the job was ended.`;
    if (await context.store.jobs.finish(job.id, { conclusion: "failure", reason })) {
      await context.coordinator.jobCompleted(job, { conclusion: "failure", outputs: {} });
      context.notifier.jobEvents(job.id);
    }
  }
}

/** Everything the runner needs for a job it now holds. */
async function leaseFor(context: ServerContext, job: JobRecord): Promise<JobLease> {
  const run = await context.store.runs.byId(job.runId);
  const definitionText = await context.store.runs.definition(job.runId);
  if (!run || !definitionText) throw new Error(`job ${job.id} has no run`);
  const definition = JSON.parse(definitionText) as RunDefinition;
  const assignment = JSON.parse(job.assignment) as StoredAssignment;
  const additions = await leaseAdditions(
    context,
    {
      key: job.key,
      repositoryId: run.repositoryId,
      environment: assignment.environment,
      contexts: assignment.contexts,
    },
    definition,
  );
  const token = context.jobTokens.issue({
    jobId: job.id,
    runId: run.id,
    repositoryId: run.repositoryId,
    permissions: additions.permissions,
  });
  const repository = await context.store.repositories.byId(run.repositoryId);
  return {
    jobId: String(job.id),
    runId: String(run.id),
    runNumber: run.runNumber,
    runAttempt: job.attempt,
    key: job.key,
    displayName: assignment.displayName,
    workflowFiles: definition.workflowFiles,
    workflowPath: definition.workflowPath,
    instance: assignment.instance,
    // Secrets are decrypted for this lease only (the run stores placeholders). The job token is
    // the job's GITHUB_TOKEN: a secret too, so the runner masks it, and every value, in every log.
    contexts: {
      ...assignment.contexts,
      github: { ...(assignment.contexts.github ?? {}), token },
      vars: additions.vars,
      secrets: { ...additions.secrets, GITHUB_TOKEN: token },
    },
    event: definition.payload,
    repository: { fullName: repository?.fullName ?? "", cloneUrl: context.cloneUrlOf(repository) },
    sha: run.sha,
    ref: run.ref,
    token,
    serverUrl: context.publicUrl,
    runtime: {
      token: context.runtimeTokens.issue({ jobId: job.id, runId: run.id, repositoryId: run.repositoryId }),
      resultsUrl: `${context.publicUrl}/`,
      cacheUrl: `${context.publicUrl}/`,
    },
  };
}

function stringRecord(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) if (typeof v === "string") result[k] = v;
  }
  return result;
}
