/**
 * A leased job made ready on this machine: its folders under the runner's data directory, its
 * event file, its assignment rebuilt from the workflow files, and, when a step checks the code
 * out, the repository at the job's commit.
 *
 *   <dir>/work/<job>/workspace    GITHUB_WORKSPACE: empty at the start, as on GitHub
 *   <dir>/work/<job>/temp         RUNNER_TEMP
 *   <dir>/work/<job>/event.json   GITHUB_EVENT_PATH
 *   <dir>/work/<job>/repository   a working tree at the job's commit, what actions/checkout copies
 *   <dir>/repos/<name>-<hash>.git a bare cache per repository: later jobs fetch only what is new
 *
 * The repository is fetched only when a checkout step is about to run (most of a job's time to
 * first step would otherwise be a fetch it may not need). The job's token reaches git as an
 * `http.extraHeader` through GIT_CONFIG_* variables: never in a URL, an argument or a config file.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Diagnostic, Result } from "../diagnostic.js";
import { error, failed, ok } from "../diagnostic.js";
import { runCommand } from "../actions/builtin/commands.js";
import { parseActionReference } from "../actions/reference.js";
import type { StepOutcome } from "../engine/events.js";
import type { JobAssignment } from "../engine/run-engine.js";
import type { JobLease } from "../protocol/runner.js";
import type { ActionStepRequest, ActionSteps } from "../runner/action-steps.js";
import type { JobExecution, PreStep, StepScope } from "../runner/job-runner.js";
import type { StepDefinition } from "../workflow/model.js";
import { rebuildAssignment } from "./job-assignment.js";
import type { CallTreeCache } from "../workflow/call-tree-cache.js";

export interface JobPaths {
  readonly root: string;
  readonly workspace: string;
  readonly temp: string;
  readonly eventPath: string;
  readonly repository: string;
  /** Where the job's event rows wait when the server lags (event-uplink.ts). */
  readonly spool: string;
}

/** A job's folders. The server's job id names the folder when it is a plain name, else a digest of it. */
export function jobPaths(dataDir: string, jobId: string): JobPaths {
  const plain = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/.test(jobId);
  const root = join(dataDir, "work", plain ? jobId : digest(jobId).slice(0, 24));
  return {
    root,
    workspace: join(root, "workspace"),
    temp: join(root, "temp"),
    eventPath: join(root, "event.json"),
    repository: join(root, "repository"),
    spool: join(root, "events.spool"),
  };
}

export interface CheckoutSource {
  readonly fullName: string;
  readonly cloneUrl: string;
  readonly token: string;
  readonly sha: string;
}

interface CacheEntry {
  /** Fetches run one after another: git does not take two fetches into one repository well. */
  tail: Promise<unknown>;
  /** The fetch waiting its turn, which any job may join; it starts after every job waiting for it was leased. */
  queued?: Promise<Result<void>>;
  /** The latest fetch to start, and when it started. */
  latest?: { readonly startedAt: number; readonly done: Promise<Result<void>> };
}

/** Bare repositories under `<dir>/repos`, one per repository, kept between jobs. */
export class RepositoryCache {
  private readonly entries = new Map<string, CacheEntry>();

  /** `signal` stops every fetch (the runner is going away); a job that stops waiting leaves a shared fetch running. */
  constructor(
    private readonly reposDir: string,
    private readonly signal: AbortSignal = new AbortController().signal,
  ) {}

  /**
   * The bare cache of `source`'s repository holding `source.sha`, its branches and tags as new as
   * they were when the job was leased (`leasedAt`, a Date.now()).
   */
  async fetch(source: CheckoutSource, leasedAt: number): Promise<Result<string>> {
    const path = this.cachePath(source);
    let entry = this.entries.get(path);
    if (!entry) {
      entry = { tail: Promise.resolve() };
      this.entries.set(path, entry);
    }
    const fresh =
      entry.queued ??
      (entry.latest && entry.latest.startedAt >= leasedAt
        ? entry.latest.done
        : this.queueFetch(entry, path, source));
    const fetched = await fresh;
    if (!fetched.ok) return fetched;
    if (await hasCommit(path, source.sha)) return ok(path);
    // Not on a branch or tag (a pull request's merge commit, a deleted branch): ask for the commit itself.
    const direct = await this.serially(entry, () =>
      git(
        path,
        ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", source.cloneUrl, source.sha],
        source,
        this.signal,
      ),
    );
    if (!direct.ok && !(await hasCommit(path, source.sha))) return direct;
    return ok(path);
  }

  private queueFetch(entry: CacheEntry, path: string, source: CheckoutSource): Promise<Result<void>> {
    const queued = this.serially(entry, () => {
      entry.queued = undefined;
      const done = this.fetchRefs(path, source);
      entry.latest = { startedAt: Date.now(), done };
      return done;
    });
    entry.queued = queued;
    return queued;
  }

  private async fetchRefs(path: string, source: CheckoutSource): Promise<Result<void>> {
    if (!existsSync(join(path, "HEAD"))) {
      await mkdir(path, { recursive: true });
      const init = await git(path, ["init", "--quiet", "--bare"], source, this.signal);
      if (!init.ok) return init;
    }
    return git(
      path,
      [
        "fetch",
        "--quiet",
        "--prune",
        "--no-tags",
        "--no-write-fetch-head",
        source.cloneUrl,
        "+refs/heads/*:refs/heads/*",
        "+refs/tags/*:refs/tags/*",
      ],
      source,
      this.signal,
    );
  }

  private serially<T>(entry: CacheEntry, work: () => Promise<T>): Promise<T> {
    const result = entry.tail.then(work, work);
    entry.tail = result.catch(() => undefined);
    return result;
  }

  private cachePath(source: CheckoutSource): string {
    const name = source.fullName
      .replace(/[^A-Za-z0-9_.-]+/g, "_")
      .replace(/^\.+/, "_")
      .slice(0, 80);
    return join(this.reposDir, `${name}-${digest(source.cloneUrl).slice(0, 12)}.git`);
  }
}

export interface PrepareJobOptions {
  readonly dataDir: string;
  readonly workflows: CallTreeCache;
  readonly repositories: RepositoryCache;
  readonly signal: AbortSignal;
}

/** A job ready to run: its folders made, its event file written, its assignment rebuilt. */
export class JobWorkspace {
  private repository: Promise<Result<string>> | undefined;
  private readonly leasedAt = Date.now();

  private constructor(
    readonly lease: JobLease,
    readonly paths: JobPaths,
    readonly assignment: JobAssignment,
    private readonly options: PrepareJobOptions,
  ) {}

  static async prepare(lease: JobLease, options: PrepareJobOptions): Promise<Result<JobWorkspace>> {
    const paths = jobPaths(options.dataDir, lease.jobId);
    const tree = await options.workflows.load(lease.workflowPath, lease.workflowFiles);
    if (!tree.ok) return tree;
    const assignment = rebuildAssignment(tree.value, lease, paths.eventPath);
    if (!assignment.ok) return assignment;
    // At once, not one after another: this is on the way from a lease to the job's first step.
    await Promise.all([
      mkdir(paths.workspace, { recursive: true }),
      mkdir(paths.temp, { recursive: true }),
      mkdir(paths.root, { recursive: true }).then(() =>
        writeFile(paths.eventPath, JSON.stringify(lease.event, null, 2)),
      ),
    ]);
    return ok(new JobWorkspace(lease, paths, assignment.value, options));
  }

  /** `paths.repository` as a working tree at the job's commit, fetched and made on first use. */
  checkoutSource(signal: AbortSignal): Promise<Result<string>> {
    this.repository ??= this.makeRepository();
    return untilAborted(this.repository, signal);
  }

  /** Removes the job's folders. */
  async dispose(): Promise<void> {
    await rm(this.paths.root, { recursive: true, force: true });
  }

  private async makeRepository(): Promise<Result<string>> {
    const { lease, paths, options } = this;
    const source: CheckoutSource = {
      fullName: lease.repository.fullName,
      cloneUrl: lease.repository.cloneUrl,
      token: lease.token,
      sha: lease.sha,
    };
    const cache = await options.repositories.fetch(source, this.leasedAt);
    if (!cache.ok) return cache;
    // A clone that borrows the cache's objects: a working tree of the commit costs only its files.
    const clone = await git(
      paths.root,
      ["clone", "--quiet", "--shared", "--no-checkout", cache.value, paths.repository],
      source,
      options.signal,
    );
    if (!clone.ok) return clone;
    const checkout = await git(
      paths.repository,
      ["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", lease.sha],
      source,
      options.signal,
    );
    return checkout.ok ? ok(paths.repository) : checkout;
  }
}

/**
 * The job's action steps, with the repository made before a checkout step runs (built-in
 * actions/checkout copies `run.repositoryRoot`, which is `paths.repository`).
 */
export class CheckoutOnDemand implements ActionSteps {
  constructor(
    private readonly inner: ActionSteps,
    private readonly workspace: Pick<JobWorkspace, "checkoutSource">,
  ) {}

  async run(job: JobExecution, request: ActionStepRequest): Promise<StepOutcome> {
    if (isCheckout(request.step)) {
      const repository = await this.workspace.checkoutSource(request.record.signal);
      if (!repository.ok) {
        const message = repository.errors.map((e) => e.message).join("; ");
        job.emitAnnotation(request.record.number, { level: "error", message: job.masker.mask(message) });
        return "failure";
      }
    }
    return this.inner.run(job, request);
  }

  preSteps(job: JobExecution, steps: readonly StepDefinition[], scope: StepScope): Promise<PreStep[]> {
    return this.inner.preSteps ? this.inner.preSteps(job, steps, scope) : Promise.resolve([]);
  }
}

function isCheckout(step: StepDefinition): boolean {
  if (!step.uses) return false;
  const parsed = parseActionReference(step.uses, step.location);
  return (
    parsed.ok &&
    parsed.value.kind === "remote" &&
    parsed.value.owner.toLowerCase() === "actions" &&
    parsed.value.repo.toLowerCase() === "checkout" &&
    (parsed.value.path ?? "") === ""
  );
}

/** Whether the repository at `path` has the commit `sha`. */
async function hasCommit(path: string, sha: string): Promise<boolean> {
  const result = await runCommand("git", ["cat-file", "-e", `${sha}^{commit}`], {
    cwd: path,
    env: gitEnvironment(),
  });
  return result.exitCode === 0;
}

/**
 * Runs git for `source`'s repository. Its error output is returned as the message, with the
 * token and its encoded form removed whatever git printed.
 */
async function git(
  cwd: string,
  args: readonly string[],
  source: CheckoutSource,
  signal: AbortSignal,
): Promise<Result<void>> {
  const basic = Buffer.from(`x-access-token:${source.token}`).toString("base64");
  const result = await runCommand("git", args, {
    cwd,
    env: gitEnvironment({
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_0: "http.extraHeader",
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
      // No credential helper of this host is asked, and none stores the token.
      GIT_CONFIG_KEY_1: "credential.helper",
      GIT_CONFIG_VALUE_1: "",
    }),
    signal,
  });
  if (result.exitCode === 0) return ok(undefined);
  if (signal.aborted) return failed([error("the job was cancelled while its repository was being fetched.")]);
  let detail = (result.stderr.trim() || `git exited with ${result.exitCode}`).split("\n").slice(-3).join(" ");
  for (const secret of [source.token, basic]) if (secret !== "") detail = detail.split(secret).join("***");
  // Git asks for a user name when the server answers 401 to the token: say what that means.
  if (/could not read Username|Authentication failed/.test(detail)) {
    detail = `the server refused the job's token (HTTP 401); git said: ${detail}`;
  }
  return failed([fetchError(source, args[0] ?? "git", detail)]);
}

function fetchError(source: CheckoutSource, command: string, detail: string): Diagnostic {
  return error(
    `cannot ${command === "fetch" ? "fetch" : `prepare (git ${command})`} ${source.fullName} at ${source.sha} from ${source.cloneUrl}: ${detail}`,
  );
}

/** This process's environment without what would point git elsewhere or make it ask for a password. */
function gitEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("GIT_")) env[name] = value;
  }
  // A server that stops sending mid-fetch fails it after a minute instead of holding the job.
  return {
    ...env,
    GIT_TERMINAL_PROMPT: "0",
    GIT_HTTP_LOW_SPEED_LIMIT: "1",
    GIT_HTTP_LOW_SPEED_TIME: "60",
    ...extra,
  };
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** `work`'s result, or a failure as soon as `signal` aborts (the work itself goes on for others). */
function untilAborted<T>(work: Promise<Result<T>>, signal: AbortSignal): Promise<Result<T>> {
  if (signal.aborted)
    return Promise.resolve(failed([error("the step was cancelled before the repository was ready.")]));
  return new Promise((resolve) => {
    const onAbort = (): void =>
      resolve(failed([error("the step was cancelled before the repository was ready.")]));
    signal.addEventListener("abort", onAbort, { once: true });
    void work.then((result) => {
      signal.removeEventListener("abort", onAbort);
      resolve(result);
    });
  });
}
