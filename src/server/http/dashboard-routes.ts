/**
 * What the web dashboard needs beyond the REST API's records: a run's job graph (from `needs`, for
 * jobs not created yet too), its annotations and step summaries in one answer, the workflows a
 * repository can dispatch with their typed inputs, and re-running one job. Described in openapi.ts
 * like every other route under /api/v1.
 */
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Annotation, StepSummary } from "../../engine/events.js";
import type { User } from "../../store/accounts.js";
import type { JobRecord } from "../../store/jobs.js";
import type { JobNotes } from "../../store/job-notes.js";
import { loadWorkflow } from "../../workflow/load.js";
import { inputType } from "../../workflow/inputs.js";
import type { InputDefinitions } from "../../workflow/inputs.js";
import { resolveRefAt } from "../git/bare-repositories.js";
import { readWorkflowFilesAt } from "../git/workflow-files.js";
import type { RunDefinition } from "../runs/run-definition.js";
import type { ServerContext } from "../server-context.js";
import { API_PREFIX } from "./api-routes.js";
import { repositoryView } from "./api-views.js";
import { requireUser } from "./authenticate.js";
import { checkBody } from "./body-checks.js";
import { sendError } from "./errors.js";

/** A node of the job graph: a top-level job of the workflow, before matrix expansion. */
export interface GraphJob {
  readonly id: string;
  readonly name: string;
  readonly needs: readonly string[];
  /** A job that calls a reusable workflow. */
  readonly calls: boolean;
}

export interface DispatchInput {
  readonly name: string;
  readonly type: string;
  readonly description: string | null;
  readonly required: boolean;
  readonly default: string | number | boolean | null;
  readonly options: readonly string[];
}

/** Job keys are `<id>#<instance>` or `<caller>#<instance>/<id>#<instance>`; the graph node is the top id. */
export function topLevelJobId(key: string): string {
  return /^[^#/]+/.exec(key)?.[0] ?? key;
}

/** The top-level jobs `start` reaches through `needs` (itself included): what a one-job re-run repeats. */
export function withDependents(jobs: readonly GraphJob[], start: string): Set<string> {
  const reached = new Set([start]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const job of jobs) {
      if (!reached.has(job.id) && job.needs.some((n) => reached.has(n))) {
        reached.add(job.id);
        grew = true;
      }
    }
  }
  return reached;
}

export function isBranchName(name: string): boolean {
  return /^[A-Za-z0-9._/-]{1,200}$/.test(name) && !/^[-/]|\.\.|\/\/|\/$|\.lock$|\.$/.test(name);
}

export function dispatchInputsOf(definitions: InputDefinitions | undefined): DispatchInput[] {
  return Object.entries(definitions ?? {}).map(([name, definition]) => ({
    name,
    type: inputType(definition),
    description: definition.description ?? null,
    required: definition.required === true,
    default:
      typeof definition.default === "string" ||
      typeof definition.default === "number" ||
      typeof definition.default === "boolean"
        ? definition.default
        : null,
    options: definition.options ?? [],
  }));
}

export function registerDashboardRoutes(app: FastifyInstance, context: ServerContext): void {
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

  const graphOf = async (runId: number): Promise<GraphJob[] | undefined> => {
    const stored = await store.runs.definition(runId);
    if (stored === undefined) return undefined;
    const definition = JSON.parse(stored) as RunDefinition;
    const tree = await context.coordinator.trees.load(definition.workflowPath, definition.workflowFiles);
    if (!tree.ok) return [];
    return tree.value.workflow.jobs.map((job) => ({
      id: job.id,
      name: job.name?.isLiteral ? String(job.name) : job.id,
      needs: job.needs,
      calls: job.kind === "call",
    }));
  };

  app.get(
    `${API_PREFIX}/runs/:runId/graph`,
    withUser<{ runId: string }>(async (request, reply) => {
      const jobs = await graphOf(Number(request.params.runId));
      if (!jobs) return sendError(reply, 404, `no run ${request.params.runId}.`);
      return { jobs };
    }),
  );

  app.get(
    `${API_PREFIX}/runs/:runId/annotations`,
    withUser<{ runId: string }>(async (request, reply) => {
      const run = await store.runs.byId(Number(request.params.runId));
      if (!run) return sendError(reply, 404, `no run ${request.params.runId}.`);
      const attemptQuery = (request.query as { attempt?: string }).attempt;
      const attempt = attemptQuery === undefined ? run.attempt : Number(attemptQuery);
      if (!Number.isInteger(attempt) || attempt < 1 || attempt > run.attempt) {
        return sendError(reply, 400, `attempt must be a whole number from 1 to ${run.attempt}.`);
      }
      const jobs = await store.jobs.forRun(run.id, attempt);
      const indexed = await store.jobNotes.forJobs(jobs.map((j) => j.id));
      const annotations = [];
      const summaries = [];
      const omitted = [];
      for (const job of jobs) {
        const notes = indexed.get(job.id) ?? (await notesFromLog(context, job));
        for (const { seq, event } of notes.annotations) {
          annotations.push({
            jobId: job.id,
            jobName: job.name,
            seq,
            step: event.step,
            level: event.level,
            message: event.message,
            title: event.title ?? null,
            file: event.file ?? null,
            line: event.line ?? null,
            column: event.column ?? null,
          });
        }
        for (const { event } of notes.summaries) {
          summaries.push({ jobId: job.id, jobName: job.name, step: event.step, markdown: event.markdown });
        }
        if (notes.annotationsOmitted > 0) {
          omitted.push({ jobId: job.id, jobName: job.name, count: notes.annotationsOmitted });
        }
      }
      return { annotations, summaries, omitted };
    }),
  );

  app.get(
    `${API_PREFIX}/repos/:owner/:name/workflows`,
    withUser<{ owner: string; name: string }>(async (request, reply) => {
      const { owner, name } = request.params;
      const repository = await store.repositories.byName(owner, name);
      if (!repository) return sendError(reply, 404, `no repository ${owner}/${name}.`);
      const ref = (request.query as { ref?: string }).ref ?? repository.defaultBranch;
      const path = context.repositoryPathOf(repository);
      const sha = path ? await resolveRefAt(path, ref) : undefined;
      if (!path || !sha) return { ref, sha: null, workflows: [] };
      const files = await readWorkflowFilesAt(path, sha);
      const workflows = [];
      for (const [file, text] of Object.entries(files)) {
        const loaded = await loadWorkflow({ path: file, bytes: Buffer.from(text, "utf8") });
        if (!loaded.ok) {
          workflows.push({ path: file, name: file, dispatch: null, errors: loaded.errors.length });
          continue;
        }
        const workflow = loaded.value;
        const dispatchable = workflow.on.workflow_dispatch !== undefined;
        workflows.push({
          path: file,
          name: workflow.name,
          dispatch: dispatchable ? { inputs: dispatchInputsOf(workflow.dispatchInputs) } : null,
          errors: 0,
        });
      }
      return { ref, sha, workflows };
    }),
  );

  app.patch(
    `${API_PREFIX}/repos/:owner/:name`,
    withUser<{ owner: string; name: string }>(async (request, reply, user) => {
      const { owner, name } = request.params;
      const repository = await store.repositories.byName(owner, name);
      if (!repository) return sendError(reply, 404, `no repository ${owner}/${name}.`);
      if (repository.owner !== user.login && !user.isAdmin) {
        return sendError(
          reply,
          403,
          `only ${repository.owner} or an administrator can change ${repository.fullName}.`,
        );
      }
      const body = checkBody<{ defaultBranch?: string }>(request.body, {}, { defaultBranch: "string" });
      if (!body.ok) return sendError(reply, 400, body.message);
      const branch = body.value.defaultBranch;
      if (branch !== undefined) {
        if (!isBranchName(branch)) {
          return sendError(
            reply,
            400,
            "defaultBranch must be a branch name: letters, digits and . _ / -, not starting with - or /, without '..'.",
          );
        }
        await store.repositories.setDefaultBranch(repository.id, branch);
      }
      const updated = (await store.repositories.byId(repository.id)) ?? repository;
      return repositoryView(updated, context.cloneUrlOf(updated));
    }),
  );

  app.get(
    `${API_PREFIX}/jobs/:jobId/logs/lines`,
    withUser<{ jobId: string }>(async (request, reply) => {
      const job = await store.jobs.byId(Number(request.params.jobId));
      if (!job) return sendError(reply, 404, `no job ${request.params.jobId}.`);
      const from = Math.max(1, Number((request.query as { from?: string }).from ?? 1) || 1);
      return reply
        .type("application/x-ndjson; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("x-job-status", job.status)
        .send(Readable.from(ndjsonBatches(store.jobs.eventTexts(job.id, from))));
    }),
  );

  app.post(
    `${API_PREFIX}/jobs/:jobId/rerun`,
    withUser<{ jobId: string }>(async (request, reply) => {
      const job = await store.jobs.byId(Number(request.params.jobId));
      if (!job) return sendError(reply, 404, `no job ${request.params.jobId}.`);
      const graph = await graphOf(job.runId);
      const again = withDependents(graph ?? [], topLevelJobId(job.key));
      const attempt = await context.coordinator.rerun(job.runId, false, again);
      if (attempt === undefined) {
        return sendError(
          reply,
          409,
          `run ${job.runId} is still running: cancel it or wait for it to finish before re-running a job.`,
        );
      }
      return reply.code(201).send({ runId: job.runId, attempt, jobs: [...again] });
    }),
  );
}

/**
 * Rows as NDJSON (`{"seq":n,"event":{...}}` a line), written from the stored JSON text without
 * parsing it, in pieces of about 64 kB (one write per row would cost more than the rows).
 */
export async function* ndjsonBatches(
  texts: AsyncIterable<{ seq: number; json: string }>,
): AsyncGenerator<string> {
  let batch = "";
  for await (const { seq, json } of texts) {
    batch += `{"seq":${seq},"event":${json}}\n`;
    if (batch.length >= 65_536) {
      yield batch;
      batch = "";
    }
  }
  if (batch) yield batch;
}

/** The notes of a job older than the notes index, read from its whole log, page by page. */
async function notesFromLog(context: ServerContext, job: JobRecord): Promise<JobNotes> {
  const annotations: { seq: number; event: Annotation }[] = [];
  const summaries: { seq: number; event: StepSummary }[] = [];
  for (let from = 1; ;) {
    const page = await context.store.jobs.events(job.id, from, 50_000);
    for (const { seq, event } of page) {
      if (event.type === "annotation") annotations.push({ seq, event });
      else if (event.type === "step-summary") summaries.push({ seq, event });
    }
    if (page.length < 50_000) return { annotations, summaries, annotationsOmitted: 0 };
    from = (page[page.length - 1]?.seq ?? from) + 1;
  }
}
