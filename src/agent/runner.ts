/**
 * A runner: registers with a Conveyor server once, then takes jobs from it and runs them on this
 * machine with the job runner `conveyor run` uses (src/runner/job-runner.ts), streaming each
 * job's events back and reporting how it ended. `conveyor runner` runs one; `conveyor up` builds
 * its own in-process with the same class.
 *
 * One poll is open at a time; it asks for as many jobs as there are free slots and names the jobs
 * running (which keeps their leases). A poll asking for none is held by the server until it has a
 * cancel for us: when a slot frees meanwhile, that poll is dropped and a new one asks for a job
 * (dropping it loses nothing: it could carry no job).
 */
import { randomUUID } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { arch, homedir, hostname, platform } from "node:os";
import { join } from "node:path";
import { defaultActionCache } from "../actions/locate.js";
import { formatDiagnostic } from "../diagnostic.js";
import type { Diagnostic } from "../diagnostic.js";
import { now } from "../engine/events.js";
import type { JobOutcome } from "../engine/run-engine.js";
import { RUNNER_PROTOCOL_VERSION } from "../protocol/runner.js";
import type { JobLease, PollResponse } from "../protocol/runner.js";
import { HostActionSteps } from "../runner/action-steps.js";
import { runJob } from "../runner/job-runner.js";
import { EventUplink } from "./event-uplink.js";
import type { UplinkLimits } from "./event-uplink.js";
import { CallTreeCache } from "../workflow/call-tree-cache.js";
import { CheckoutOnDemand, jobPaths, JobWorkspace, RepositoryCache } from "./job-workspace.js";
import { ProtocolRefusal, RunnerProtocolClient } from "./protocol-client.js";
import type { RetryPolicy } from "./protocol-client.js";
import { ServiceArtifactStore } from "./service-artifact-store.js";
import { ServiceCacheStore } from "./service-cache-store.js";

/** Why a held poll is dropped when a slot frees (once per job: abort() would build a DOMException each time). */
const SLOT_FREED = new Error("a slot freed: asking again, for a job");

export interface RunnerOptions {
  /** The server's base URL, as this machine reaches it. */
  readonly serverUrl: string;
  /** Needed only until the runner is registered (its credential is then kept in `<dataDir>/runner.json`). */
  readonly registrationToken?: string;
  /** Holds runner.json, the job folders and the repository caches. */
  readonly dataDir: string;
  /** Default: this machine's host name. */
  readonly name?: string;
  readonly labels?: readonly string[];
  /** Jobs run at once. Default 1. */
  readonly capacity?: number;
  /** The runner's own messages (never a token or a job's output). */
  readonly log?: (message: string) => void;
  readonly retry?: RetryPolicy;
  readonly actionCache?: string;
  readonly toolCache?: string;
  readonly uplinkLimits?: Partial<UplinkLimits>;
}

export interface RunnerRegistration {
  readonly runnerId: string;
  readonly name: string;
  /** Every label the server matches `runs-on` against. */
  readonly labels: readonly string[];
  /** The credential came from runner.json rather than a new registration. */
  readonly reused: boolean;
}

/** A problem the person running the runner must fix (a refused token, say): its message says how. */
export class RunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunnerError";
  }
}

/** runner.json: the registration this runner reuses when it starts again with the same settings. */
interface StoredRegistration {
  readonly serverUrl: string;
  readonly runnerId: string;
  readonly credential: string;
  readonly name: string;
  readonly labels: readonly string[];
  readonly capacity: number;
  /** Labels the server answered with. */
  readonly serverLabels: readonly string[];
}

interface ActiveJob {
  readonly lease: JobLease;
  readonly controller: AbortController;
  /** Until the job's steps are done; reporting its end does not hold a slot. */
  holdsSlot: boolean;
}

export class Runner {
  private readonly client: RunnerProtocolClient;
  private readonly capacity: number;
  private readonly name: string;
  private readonly labels: readonly string[];
  private readonly log: (message: string) => void;
  private readonly jobs = new Map<string, ActiveJob>();
  private readonly jobsDone = new Set<Promise<void>>();
  private busySlots = 0;
  private readonly workflows = new CallTreeCache();
  private readonly abandoned = new AbortController();
  private readonly repositories: RepositoryCache;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private poll: { readonly controller: AbortController; readonly free: number } | undefined;
  /** Orders this process's polls for the server (see `PollRequest.sequence`). */
  private readonly pollSession = randomUUID();
  private pollSequence = 0;
  private reachable = true;

  constructor(private readonly options: RunnerOptions) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 1));
    this.name = options.name ?? hostname();
    this.labels = options.labels ?? [];
    this.log = options.log ?? (() => undefined);
    this.client = new RunnerProtocolClient({
      serverUrl: options.serverUrl,
      retry: options.retry,
      observer: {
        // Said once per outage, not once per retry.
        unreachable: (problem) => {
          if (!this.reachable) return;
          this.reachable = false;
          this.log(`${problem}; retrying until it answers.`);
        },
        reachable: () => {
          this.reachable = true;
          this.log(`reached ${options.serverUrl} again.`);
        },
      },
    });
    this.repositories = new RepositoryCache(join(options.dataDir, "repos"), this.abandoned.signal);
  }

  /**
   * Registers (or reuses the stored registration), then starts taking jobs in the background.
   * Throws a RunnerError when the server refuses the registration token or none was given.
   */
  async start(): Promise<RunnerRegistration> {
    if (this.loop) throw new Error("the runner was started already");
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o700 });
    // Folders of jobs a previous runner process left behind when it died: nothing runs in them now.
    await rm(join(this.options.dataDir, "work"), { recursive: true, force: true });
    const registration = await this.register();
    this.loop = this.pollLoop();
    this.loop.catch(() => undefined); // the reason reaches whoever awaits finished()
    return registration;
  }

  /**
   * Stops taking jobs and resolves once the running ones have finished and reported. With
   * `cancelJobs` the running jobs are cancelled too (they still report, as cancelled).
   */
  async stop(options: { cancelJobs?: boolean } = {}): Promise<void> {
    // Still waiting to register (a server not there yet): there is nothing to finish.
    if (!this.loop) this.abandoned.abort();
    this.stopping = true;
    this.poll?.controller.abort();
    if (options.cancelJobs) for (const job of this.jobs.values()) job.controller.abort();
    await this.finished();
  }

  /** Stops at once: jobs are cancelled and nothing more is sent (their leases lapse on the server). */
  abandon(): void {
    this.stopping = true;
    this.abandoned.abort();
    this.poll?.controller.abort();
    for (const job of this.jobs.values()) job.controller.abort();
  }

  /** Resolves when the runner has stopped and every job has reported; rejects when it had to stop (a refused credential). */
  async finished(): Promise<void> {
    try {
      await this.loop;
    } finally {
      await Promise.all(this.jobsDone);
    }
  }

  /** Ids of the jobs this runner holds (running, or reporting their end). */
  get runningJobs(): string[] {
    return [...this.jobs.keys()];
  }

  private get registrationPath(): string {
    return join(this.options.dataDir, "runner.json");
  }

  private async register(): Promise<RunnerRegistration> {
    const stored = await this.readRegistration();
    if (stored) {
      this.client.credential = stored.credential;
      return { runnerId: stored.runnerId, name: stored.name, labels: stored.serverLabels, reused: true };
    }
    const token = this.options.registrationToken;
    if (!token) {
      throw new RunnerError(
        `this runner is not registered with ${this.options.serverUrl} yet: give it a registration token from the server's administrator (--token).`,
      );
    }
    let answer;
    try {
      answer = await this.client.register(
        {
          registrationToken: token,
          name: this.name,
          labels: this.labels,
          capacity: this.capacity,
          protocolVersion: RUNNER_PROTOCOL_VERSION,
          os: platform(),
          arch: arch(),
        },
        this.abandoned.signal,
      );
    } catch (e) {
      if (e instanceof ProtocolRefusal) {
        throw new RunnerError(
          `${this.options.serverUrl} refused to register this runner: ${e.message} Ask the server's administrator for a new registration token.`,
        );
      }
      throw e;
    }
    this.client.credential = answer.credential;
    await this.writeRegistration({
      serverUrl: this.options.serverUrl,
      runnerId: answer.runnerId,
      credential: answer.credential,
      name: this.name,
      labels: this.labels,
      capacity: this.capacity,
      serverLabels: answer.labels,
    });
    return { runnerId: answer.runnerId, name: this.name, labels: answer.labels, reused: false };
  }

  /** The stored registration, if it was made for this server with these settings. */
  private async readRegistration(): Promise<StoredRegistration | undefined> {
    let stored: Partial<StoredRegistration>;
    try {
      stored = JSON.parse(await readFile(this.registrationPath, "utf8")) as Partial<StoredRegistration>;
    } catch {
      return undefined; // none yet, or unreadable: registering again makes a good one
    }
    const same =
      stored.serverUrl === this.options.serverUrl &&
      stored.name === this.name &&
      stored.capacity === this.capacity &&
      JSON.stringify(stored.labels) === JSON.stringify(this.labels) &&
      typeof stored.credential === "string" &&
      typeof stored.runnerId === "string";
    return same ? { ...(stored as StoredRegistration), serverLabels: stored.serverLabels ?? [] } : undefined;
  }

  private async writeRegistration(registration: StoredRegistration): Promise<void> {
    // Written beside and renamed: a runner killed half-way never leaves half a credential.
    const partial = `${this.registrationPath}.${randomUUID()}.tmp`;
    await writeFile(partial, JSON.stringify(registration, null, 2) + "\n", { mode: 0o600 });
    await chmod(partial, 0o600);
    await rename(partial, this.registrationPath);
  }

  private async pollLoop(): Promise<void> {
    let reregistered = false;
    try {
      while (!this.stopping) {
        const free = Math.max(0, this.capacity - this.busySlots);
        const controller = new AbortController();
        this.poll = { controller, free };
        let answer: PollResponse;
        try {
          answer = await this.client.poll(
            { free, running: this.runningJobs, session: this.pollSession, sequence: ++this.pollSequence },
            AbortSignal.any([controller.signal, this.abandoned.signal]),
          );
        } catch (e) {
          if (controller.signal.aborted || this.abandoned.signal.aborted) continue;
          if (
            e instanceof ProtocolRefusal &&
            e.status === 401 &&
            this.options.registrationToken &&
            !reregistered
          ) {
            // The server forgot this runner (its store was reset, say): a registration token makes it known again.
            this.log(
              `${this.options.serverUrl} no longer accepts this runner's credential: registering again.`,
            );
            await rm(this.registrationPath, { force: true });
            await this.register();
            reregistered = true;
            continue;
          }
          throw this.pollFailure(e);
        } finally {
          this.poll = undefined;
        }
        reregistered = false;
        for (const id of answer.cancel) this.jobs.get(id)?.controller.abort();
        for (const lease of answer.jobs) this.take(lease);
      }
    } catch (e) {
      // Jobs cannot report to a server that refuses this runner: stop them.
      this.abandon();
      throw e;
    }
  }

  private pollFailure(e: unknown): Error {
    if (e instanceof ProtocolRefusal && e.status === 401) {
      void rm(this.registrationPath, { force: true });
      return new RunnerError(
        `${this.options.serverUrl} refused this runner's credential (${e.message}): register it again with a new registration token (--token).`,
      );
    }
    if (e instanceof ProtocolRefusal)
      return new RunnerError(`${this.options.serverUrl} refused the runner's poll: ${e.message}`);
    return e instanceof Error ? e : new Error(String(e));
  }

  private take(lease: JobLease): void {
    if (this.jobs.has(lease.jobId)) return; // sent again after an answer that got lost
    const job: ActiveJob = { lease, controller: new AbortController(), holdsSlot: true };
    this.jobs.set(lease.jobId, job);
    this.busySlots++;
    const done = this.runLease(job)
      .catch((e: unknown) =>
        this.log(
          `job ${lease.displayName}: ${e instanceof Error ? e.message : String(e)} (a bug in Conveyor)`,
        ),
      )
      .finally(() => {
        this.releaseSlot(job);
        this.jobs.delete(lease.jobId);
        this.jobsDone.delete(done);
      });
    this.jobsDone.add(done);
  }

  private releaseSlot(job: ActiveJob): void {
    if (!job.holdsSlot) return;
    job.holdsSlot = false;
    this.busySlots--;
    // A poll asking for no job is held until the server has something to cancel: ask again, now for a job.
    if (this.poll && this.poll.free === 0 && !this.stopping) this.poll.controller.abort(SLOT_FREED);
  }

  private async runLease(job: ActiveJob): Promise<void> {
    const { lease, controller } = job;
    const paths = jobPaths(this.options.dataDir, lease.jobId);
    await mkdir(paths.root, { recursive: true });
    const uplink = new EventUplink({
      send: (rows, signal) =>
        this.client.appendEvents(lease.jobId, rows, AbortSignal.any([signal, this.abandoned.signal])),
      spoolPath: paths.spool,
      onCancel: () => controller.abort(),
      onFailure: (e) => {
        this.log(`job ${lease.displayName}: the server refused its events (${e.message}): stopping it.`);
        controller.abort();
      },
      limits: this.options.uplinkLimits,
    });
    this.log(`job ${lease.displayName} (run #${lease.runNumber}): started.`);
    let workspace: JobWorkspace | undefined;
    let outcome: JobOutcome;
    try {
      const prepared = await JobWorkspace.prepare(lease, {
        dataDir: this.options.dataDir,
        workflows: this.workflows,
        repositories: this.repositories,
        signal: controller.signal,
      });
      if (prepared.ok) {
        workspace = prepared.value;
        outcome = await this.execute(workspace, uplink, controller.signal);
      } else outcome = notStarted(lease, uplink, prepared.errors, controller.signal);
    } catch (e) {
      const message = `the runner could not run the job: ${e instanceof Error ? e.message : String(e)}`;
      outcome = notStarted(lease, uplink, [{ severity: "error", message }], controller.signal);
    }
    this.releaseSlot(job);
    try {
      await this.report(lease, uplink, outcome);
    } finally {
      uplink.close();
      await rm(paths.root, { recursive: true, force: true });
    }
    this.log(`job ${lease.displayName} (run #${lease.runNumber}): ${outcome.conclusion}.`);
  }

  private execute(workspace: JobWorkspace, uplink: EventUplink, signal: AbortSignal): Promise<JobOutcome> {
    const { lease, paths, assignment } = workspace;
    // Steps see this process's environment, but never the registration token (it may have come in a variable).
    const hostEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && value !== this.options.registrationToken) hostEnv[key] = value;
    }
    const actions = new HostActionSteps({
      actionCache: this.options.actionCache ?? defaultActionCache(),
      // Artifacts live on the server, where the run's other jobs (on any runner) and people find them.
      artifacts: new ServiceArtifactStore({
        token: lease.runtime.token,
        resultsUrl: lease.runtime.resultsUrl,
        runId: lease.runId,
        jobId: lease.jobId,
        serverUrl: lease.serverUrl,
      }),
      // Caches live on the server, shared by every runner, scoped as GitHub scopes them.
      caches: new ServiceCacheStore({
        token: lease.runtime.token,
        cacheUrl: lease.runtime.cacheUrl,
        tempDir: paths.temp,
        path: hostEnv.PATH ?? "",
      }),
    });
    return runJob(assignment, {
      run: {
        runId: lease.runId,
        runNumber: lease.runNumber,
        runAttempt: lease.runAttempt,
        repositoryRoot: paths.repository,
      },
      workspace: paths.workspace,
      workspaceHoldsRepository: false,
      runnerTemp: paths.temp,
      toolCache: this.options.toolCache ?? join(homedir(), ".cache", "conveyor", "tool-cache"),
      eventPath: paths.eventPath,
      hostEnv,
      actionsRuntime: lease.runtime,
      actions: new CheckoutOnDemand(actions, workspace),
      emit: uplink.emit,
      signal,
    });
  }

  /** Delivers the job's last events, then its end; `complete` is retried until the server takes it. */
  private async report(lease: JobLease, uplink: EventUplink, outcome: JobOutcome): Promise<void> {
    const signal = this.abandoned.signal;
    try {
      await uplink.flush();
    } catch (e) {
      if (signal.aborted) return;
      this.log(
        `job ${lease.displayName}: not every event reached the server (${e instanceof Error ? e.message : String(e)}).`,
      );
    }
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        const answer = await this.client.complete(
          lease.jobId,
          {
            lastSeq: uplink.lastSeq,
            conclusion: outcome.conclusion,
            outputs: outcome.outputs,
            ...(outcome.continueOnError !== undefined ? { continueOnError: outcome.continueOnError } : {}),
            ...(outcome.unavailableOnHost ? { unavailableOnHost: true } : {}),
            ...(outcome.environmentUrl === undefined ? {} : { environmentUrl: outcome.environmentUrl }),
          },
          signal,
        );
        if (answer.kind === "completed") return;
        if (attempt >= 5) {
          this.log(
            `job ${lease.displayName}: the server still misses events after row ${answer.acknowledged}: giving up on reporting its end.`,
          );
          return;
        }
        uplink.resendFrom(answer.acknowledged);
        await uplink.flush();
      } catch (e) {
        if (signal.aborted) return;
        this.log(
          `job ${lease.displayName}: the server did not take its end: ${e instanceof Error ? e.message : String(e)}`,
        );
        return;
      }
    }
  }
}

/** A job that could not start (its workflow does not load, say): the reason as an annotation, and a failure. */
function notStarted(
  lease: JobLease,
  uplink: EventUplink,
  errors: readonly Diagnostic[],
  signal: AbortSignal,
): JobOutcome {
  const started = Date.now();
  uplink.emit({ type: "job-started", jobId: lease.key, name: lease.displayName, at: now() });
  for (const e of errors) {
    uplink.emit({
      type: "annotation",
      jobId: lease.key,
      step: null,
      level: "error",
      message: formatDiagnostic(e),
      at: now(),
    });
  }
  const conclusion = signal.aborted ? "cancelled" : "failure";
  uplink.emit({
    type: "job-finished",
    jobId: lease.key,
    name: lease.displayName,
    result: conclusion,
    ran: false,
    durationMs: Date.now() - started,
    outputs: {},
    at: now(),
  });
  return { conclusion, outputs: {} };
}
