/**
 * `conveyor up`'s server: the store, the run coordinator, the HTTP API, git hosting, webhooks, the
 * runner protocol, and the background work (expired leases). One process holds it all on one
 * machine; the state lives in the store, so a restarted process carries on.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import type { JsonObject } from "../json.js";
import { openServerStore } from "../store/server-store.js";
import type { ServerStore } from "../store/server-store.js";
import type { User } from "../store/accounts.js";
import type { JobRecord } from "../store/jobs.js";
import type { Repository } from "../store/repositories.js";
import type { RunRecord } from "../store/runs.js";
import { JobTokens } from "./auth/job-tokens.js";
import { RuntimeTokens } from "./auth/runtime-tokens.js";
import { BlobUrls } from "./auth/blob-urls.js";
import { DEFAULT_CACHE_QUOTA } from "./caches/cache-service.js";
import { DEFAULT_ARTIFACT_MAX_SIZE, DEFAULT_ARTIFACT_RETENTION_DAYS } from "./artifacts/artifact-service.js";
import { UploadDigests } from "./artifacts/upload-digests.js";
import { readServerKey } from "./auth/server-key.js";
import { loadMasterKey } from "./secrets/master-key.js";
import { SecretsService } from "./secrets/secrets-service.js";
import { RepositoryFolders, resolveRefAt } from "./git/bare-repositories.js";
import { readWorkflowFilesAt } from "./git/workflow-files.js";
import { registerApiRoutes } from "./http/api-routes.js";
import { registerArtifactRoutes } from "./http/artifact-routes.js";
import { registerBlobRoutes } from "./http/blob-routes.js";
import { registerCacheRoutes } from "./http/cache-routes.js";
import { registerDashboardRoutes } from "./http/dashboard-routes.js";
import { registerEnvironmentRoutes } from "./http/environment-routes.js";
import { registerStatusRoutes } from "./http/status-routes.js";
import { registerGitRoutes } from "./http/git-routes.js";
import { isEventsUpload } from "./http/event-rows.js";
import { registerRunnerRoutes } from "./http/runner-routes.js";
import { registerSecretRoutes } from "./http/secret-routes.js";
import { registerAuditRoutes } from "./http/audit-routes.js";
import { registerWebhookRoutes } from "./http/webhook-routes.js";
import { registerWebRoutes } from "./http/web-routes.js";
import { RepositoryMirrors } from "./webhooks/index.js";
import { Notifier } from "./notifier.js";
import { RunCoordinator } from "./runs/run-coordinator.js";
import { RunStarter } from "./runs/run-starter.js";
import { DEFAULT_LABEL_MAP } from "./runs/runner-labels.js";
import { LeaseSweeper } from "./runs/lease-sweeper.js";
import { GateSweeper } from "./deployments/gate-sweeper.js";
import { Scheduler } from "./runs/scheduler.js";
import { startWorkflowRunWorkflows } from "./runs/workflow-run-trigger.js";
import type { ServerContext } from "./server-context.js";
import { LongRequests } from "./http/long-requests.js";

export interface ServerSettings {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8080; 0 picks a free port. */
  readonly port?: number;
  /** Where the database, repositories and blobs live. */
  readonly dataDir: string;
  /** The URL runners and people reach the server at; default http://<host>:<port>. */
  readonly publicUrl?: string;
  /** runs-on names mapped to runner labels, over the defaults. */
  readonly labelMap?: Readonly<Record<string, string>>;
  /** Accept mirrors of local paths and file:// URLs (tests; never for a public server). */
  readonly allowLocalMirrors?: boolean;
  /** Log each request (off by default: the CLI prints what matters). */
  readonly logRequests?: boolean;
  /** Bytes of caches kept per repository before the least recently used are evicted (default 10 GiB). */
  readonly cacheQuota?: number;
  /** The largest artifact accepted, in bytes (default 10 GiB). */
  readonly artifactMaxSize?: number;
  /** The most days an artifact is kept (default 90, as GitHub). */
  readonly artifactRetentionDays?: number;
  /** How long one minute of an environment's wait timer lasts, in ms (tests shorten it; default 60000). */
  readonly waitTimerMinuteMs?: number;
  /** The built dashboard (default: dist/web beside the bundle). */
  readonly webRoot?: string;
}

export class ConveyorServer {
  private constructor(
    readonly app: FastifyInstance,
    readonly context: ServerContext,
    readonly store: ServerStore,
    readonly url: string,
    private readonly sweeper: LeaseSweeper,
    readonly scheduler: Scheduler,
    readonly routes: readonly { readonly method: string; readonly url: string }[],
    private readonly gateSweeper: GateSweeper,
  ) {}

  static async start(settings: ServerSettings): Promise<ConveyorServer> {
    // Before the store opens: a bad CONVEYOR_MASTER_KEY stops the start with its message.
    const masterKey = loadMasterKey(join(settings.dataDir, "master.key"));
    if (!masterKey.ok) throw configurationError(masterKey.errors.map((e) => e.message).join(" "));
    const store = await openServerStore(settings.dataDir);
    const notifier = new Notifier();
    const folders = new RepositoryFolders(join(settings.dataDir, "repositories"));
    const mirrors = new RepositoryMirrors(join(settings.dataDir, "mirrors"), {
      allowLocal: settings.allowLocalMirrors === true,
    });
    const serverKey = readServerKey(join(settings.dataDir, "server.key"));
    const jobTokens = new JobTokens(serverKey);
    const runtimeTokens = new RuntimeTokens(serverKey);
    const blobUrls = new BlobUrls(serverKey);
    // Warnings and errors are always logged (as JSON lines); each request only when asked.
    const app = Fastify({
      logger: { level: settings.logRequests === true ? "info" : "warn" },
      bodyLimit: 64 * 1024 * 1024,
    });
    const labelMap = { ...DEFAULT_LABEL_MAP, ...(settings.labelMap ?? {}) };
    let publicUrl = settings.publicUrl?.replace(/\/+$/, "") ?? "";
    const coordinator = new RunCoordinator(store, {
      labelMap,
      notifier,
      // `context` exists by the time a run finishes.
      onRunFinished: (run) =>
        void startWorkflowRunWorkflows(context, run).catch((e: unknown) => app.log.error(e)),
      ...(settings.waitTimerMinuteMs === undefined ? {} : { waitTimerMinuteMs: settings.waitTimerMinuteMs }),
    });
    const secrets = new SecretsService(store, masterKey.value, (message) => app.log.warn(message));
    const starter = new RunStarter(coordinator, secrets);

    const context: ServerContext = {
      store,
      notifier,
      longRequests: new LongRequests(),
      coordinator,
      starter,
      secrets,
      jobTokens,
      runtimeTokens,
      blobUrls,
      cacheQuota: settings.cacheQuota ?? DEFAULT_CACHE_QUOTA,
      uploadDigests: new UploadDigests(store.blobs),
      artifactLimits: {
        maxSize: settings.artifactMaxSize ?? DEFAULT_ARTIFACT_MAX_SIZE,
        retentionDays: settings.artifactRetentionDays ?? DEFAULT_ARTIFACT_RETENTION_DAYS,
      },
      folders,
      get publicUrl() {
        return publicUrl;
      },
      mirrors,
      repositoryPathOf: (repository) => {
        if (repository.kind === "hosted") return folders.pathOf(repository.owner, repository.name);
        const path = repository.remoteUrl ? mirrors.pathFor(repository.remoteUrl) : undefined;
        return path?.ok ? path.value : undefined;
      },
      cloneUrlOf: (repository) =>
        repository ? `${publicUrl}/${repository.owner}/${repository.name}.git` : "",
      createHostedRepository: async (owner, name, defaultBranch) => {
        const repository = await store.repositories.create({ owner, name, defaultBranch, kind: "hosted" });
        if (!repository) return { ok: false, message: `the repository ${owner}/${name} exists already.` };
        const created = await folders.create(owner, name, { defaultBranch: repository.defaultBranch });
        if (!created.ok) {
          await store.repositories.remove(repository.id);
          return { ok: false, message: created.errors.map((e) => e.message).join(" ") };
        }
        return { ok: true, repository };
      },
      createMirroredRepository: async (owner, name, remoteUrl, webhookSecret, defaultBranch) => {
        const path = mirrors.pathFor(remoteUrl);
        if (!path.ok) return { ok: false, message: path.errors.map((e) => e.message).join(" ") };
        const repository = await store.repositories.create({
          owner,
          name,
          defaultBranch,
          kind: "mirror",
          remoteUrl,
          webhookSecret,
        });
        if (!repository) return { ok: false, message: `the repository ${owner}/${name} exists already.` };
        return { ok: true, repository };
      },
      cancelJob: (job) => cancelJob(context, job),
      dispatch: (repository, user, workflow, ref, inputs) =>
        dispatch(context, repository, user, workflow, ref, inputs),
    };

    app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
      const raw = body as Buffer;
      (request as unknown as { rawBody: Buffer }).rawBody = raw;
      if (raw.length === 0) return done(null, undefined);
      // Log rows: the route reads them from the bytes, a row at a time (event-rows.ts).
      if (isEventsUpload(request.url)) return done(null, raw);
      try {
        done(null, JSON.parse(raw.toString("utf8")) as unknown);
      } catch {
        const problem = new Error("the body is not valid JSON.") as Error & { statusCode: number };
        problem.statusCode = 400;
        done(problem, undefined);
      }
    });
    app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status =
        error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) app.log.error(error);
      void reply.code(status).send({
        error:
          status === 500
            ? "the server failed on this request (a bug in Conveyor); it is logged."
            : error.message,
      });
    });
    // Every route, as registered: the OpenAPI description is checked against this list.
    const routes: { method: string; url: string }[] = [];
    app.addHook("onRoute", (route) => {
      for (const method of [route.method].flat())
        routes.push({ method: method.toLowerCase(), url: route.url });
    });
    registerRunnerRoutes(app, context);
    registerApiRoutes(app, context);
    registerGitRoutes(app, context);
    registerWebhookRoutes(app, context);
    registerBlobRoutes(app, context);
    registerCacheRoutes(app, context);
    registerArtifactRoutes(app, context);
    registerEnvironmentRoutes(app, context);
    registerStatusRoutes(app, context);
    registerSecretRoutes(app, context);
    registerAuditRoutes(app, context);
    registerDashboardRoutes(app, context);
    registerWebRoutes(app, settings.webRoot);

    await app.listen({ host: settings.host ?? "127.0.0.1", port: settings.port ?? 8080 });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : (settings.port ?? 8080);
    const url = `http://${settings.host ?? "127.0.0.1"}:${port}`;
    if (!publicUrl) publicUrl = url;

    await coordinator.recover();
    const sweeper = new LeaseSweeper(store, coordinator, notifier);
    sweeper.start();
    const scheduler = new Scheduler(context);
    scheduler.start();
    // Waiting jobs: wait timers that ran out, reviews and group changes made by other server processes.
    const gateSweeper = new GateSweeper(store, coordinator);
    gateSweeper.start();
    return new ConveyorServer(app, context, store, url, sweeper, scheduler, routes, gateSweeper);
  }

  /**
   * On first start (no users yet): the administrator `admin`, with `password` (random when empty)
   * and an API token. Returns what to show once; undefined when users exist already.
   */
  async bootstrapAdmin(
    password: string,
  ): Promise<{ login: string; password: string; token: string } | undefined> {
    if ((await this.store.accounts.countUsers()) > 0) return undefined;
    const chosen = password || randomBytes(12).toString("base64url");
    const user = await this.store.accounts.createUser("admin", chosen, true);
    if (!user) return undefined;
    const { token } = await this.store.accounts.createToken(user.id, "created on first start");
    return { login: user.login, password: chosen, token };
  }

  async close(): Promise<void> {
    this.sweeper.stop();
    this.scheduler.stop();
    await this.gateSweeper.stop();
    const held = this.context.longRequests.close();
    // A client that connected and sent nothing yet would keep close waiting for the headers
    // timeout (a minute): past a grace period for requests in flight, connections are cut.
    const cut = setTimeout(() => this.app.server.closeAllConnections(), 2_000);
    await this.app.close();
    clearTimeout(cut);
    await held;
    await this.context.coordinator.idle();
    await this.store.close();
  }
}

async function cancelJob(context: ServerContext, job: JobRecord): Promise<void> {
  if (job.status === "queued" || job.status === "waiting") {
    if (
      await context.store.jobs.finish(job.id, {
        conclusion: "cancelled",
        reason: "cancelled before a runner took it",
      })
    ) {
      await context.coordinator.jobCompleted(job, { conclusion: "cancelled", outputs: {} });
    }
    return;
  }
  await context.store.jobs.requestCancel([job.id]);
  context.notifier.jobCancelRequested(job.id, job.runnerId);
}

async function dispatch(
  context: ServerContext,
  repository: Repository,
  user: User,
  workflow: string,
  ref: string | undefined,
  inputs: Readonly<Record<string, unknown>>,
): Promise<{ ok: true; runs: RunRecord[] } | { ok: false; status: number; message: string }> {
  const wanted = ref ?? repository.defaultBranch;
  const fullRef = wanted.startsWith("refs/") ? wanted : `refs/heads/${wanted}`;
  const repositoryPath = context.repositoryPathOf(repository);
  const sha = repositoryPath ? await resolveRefAt(repositoryPath, wanted) : undefined;
  if (!repositoryPath || !sha) {
    return {
      ok: false,
      status: 422,
      message: `no branch or tag '${wanted}' in ${repository.fullName}: push it first.`,
    };
  }
  const workflowFiles = await readWorkflowFilesAt(repositoryPath, sha);
  const payload: JsonObject = {
    ref: fullRef,
    repository: {
      full_name: repository.fullName,
      name: repository.name,
      owner: { login: repository.owner },
      default_branch: repository.defaultBranch,
    },
    sender: { login: user.login, id: user.id },
    workflow,
  };
  const started = await context.starter.start({
    repository,
    eventName: "workflow_dispatch",
    payload,
    ref: fullRef,
    sha,
    actor: user.login,
    workflowFiles,
    dispatch: { workflow, inputs },
    serverUrl: context.publicUrl,
    cloneUrl: context.cloneUrlOf(repository),
  });
  if (started.errors.length > 0) {
    return { ok: false, status: 422, message: started.errors.map((e) => e.message).join("\n") };
  }
  if (started.runs.length === 0) {
    return {
      ok: false,
      status: 422,
      message: started.skipped.join("\n") || `${workflow} does not run on workflow_dispatch.`,
    };
  }
  return { ok: true, runs: started.runs };
}

/** A mistake in the server's configuration: `conveyor up` prints the message, not a stack. */
function configurationError(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: "ECONVEYORCONFIG" });
}
