/**
 * Bare mirrors of the repositories webhooks name, one folder per repository under `root`:
 * `git clone --mirror` the first time, `git fetch --prune` after. Fetches of one mirror run one at
 * a time; different mirrors fetch side by side.
 *
 * Credentials never reach argv, the mirror's config or a message: they go to git as an
 * `Authorization` header through GIT_CONFIG_* variables, scoped to the remote's origin, and a URL's
 * `user:token@` is taken out and sent the same way. Git never prompts (no terminal, no askpass,
 * no credential helper), and a fetch that takes longer than the timeout is killed.
 *
 * A first clone goes to a temporary folder and is renamed into place when complete, so a clone cut
 * short (a crash, a timeout) never passes for a mirror.
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Result, error, failed, ok } from "../../diagnostic.js";
import { runProcess } from "../../runner/process.js";
import { type BasicCredentials, type MirrorSource, mirrorSource, redactUserInfo } from "./mirror-source.js";

export type MirrorAuth = BasicCredentials | { readonly bearerToken: string };

export interface MirrorFetchOptions {
  /** Credentials for the remote; they win over any in the URL. */
  readonly auth?: MirrorAuth;
  readonly signal?: AbortSignal;
}

export interface RepositoryMirrorsOptions {
  /** Longest a clone or fetch may take. Default 10 minutes. */
  readonly timeoutMs?: number;
  /** Accept local paths and file:// URLs. Default false. */
  readonly allowLocal?: boolean;
  /** The git program. Default `git` on PATH. */
  readonly git?: string;
}

export interface Mirror {
  /** The bare mirror's folder (a `--git-dir`). */
  readonly path: string;
  /** True when this call made the mirror, false when it fetched into an existing one. */
  readonly cloned: boolean;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Lines of git's error output kept for a message. */
const KEPT_LINES = 5;
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/u;

export class RepositoryMirrors {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly timeoutMs: number;

  constructor(
    readonly root: string,
    private readonly options: RepositoryMirrorsOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Where the mirror of `cloneUrl` lives (whether or not it exists yet). */
  pathFor(cloneUrl: string): Result<string> {
    const source = this.sourceOf(cloneUrl);
    return source.ok ? ok(join(this.root, source.value.folder)) : source;
  }

  /** Brings the mirror of `cloneUrl` up to date with the remote, making it the first time. */
  fetch(cloneUrl: string, options: MirrorFetchOptions = {}): Promise<Result<Mirror>> {
    const source = this.sourceOf(cloneUrl);
    if (!source.ok) return Promise.resolve(source);
    return this.serialised(source.value.folder, () => this.update(source.value, options));
  }

  /**
   * The files that differ between two commits of a mirror, as GitHub compares them for `paths`
   * filters: `two-dot` compares the commits (a push), `three-dot` compares the head with its merge
   * base with the base (a pull request).
   */
  changedFiles(
    cloneUrl: string,
    base: string,
    head: string,
    comparison: "two-dot" | "three-dot",
  ): Promise<Result<string[]>> {
    const source = this.sourceOf(cloneUrl);
    if (!source.ok) return Promise.resolve(source);
    if (!OBJECT_ID.test(base) || !OBJECT_ID.test(head)) {
      return Promise.resolve(failed([error("changed files need two commit ids (40 hexadecimal digits)")]));
    }
    const path = join(this.root, source.value.folder);
    const range = comparison === "two-dot" ? `${base}..${head}` : `${base}...${head}`;
    return this.serialised(source.value.folder, async () => {
      if (!(await isDirectory(path))) {
        return failed<string[]>([error(`there is no mirror of ${source.value.url} yet: fetch it first`)]);
      }
      const run = await this.git(
        ["--git-dir", path, "diff", "--name-only", "-z", range, "--"],
        source.value,
        {},
      );
      if (!run.ok) {
        return failed<string[]>([
          error(`cannot compare ${base.slice(0, 12)} and ${head.slice(0, 12)}: ${run.detail}`),
        ]);
      }
      return ok(run.stdout.split("\0").filter((name) => name !== ""));
    });
  }

  private sourceOf(cloneUrl: string): Result<MirrorSource> {
    return mirrorSource(cloneUrl, { allowLocal: this.options.allowLocal === true });
  }

  private serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private async update(source: MirrorSource, options: MirrorFetchOptions): Promise<Result<Mirror>> {
    const path = join(this.root, source.folder);
    if (await isDirectory(path)) {
      const run = await this.git(
        ["--git-dir", path, "fetch", "--prune", "--quiet", "origin"],
        source,
        options,
      );
      return run.ok ? ok({ path, cloned: false }) : this.unreachable(source, "fetch", run.detail);
    }
    await mkdir(this.root, { recursive: true });
    const incoming = join(this.root, `.incoming-${randomBytes(6).toString("hex")}-${source.folder}`);
    const run = await this.git(["clone", "--mirror", "--quiet", "--", source.url, incoming], source, options);
    if (!run.ok) {
      await rm(incoming, { recursive: true, force: true });
      return this.unreachable(source, "clone", run.detail);
    }
    try {
      await rename(incoming, path);
    } catch (e) {
      // Another server process sharing the root made it first: theirs is as good as ours.
      await rm(incoming, { recursive: true, force: true });
      if (await isDirectory(path)) return ok({ path, cloned: false });
      throw e;
    }
    return ok({ path, cloned: true });
  }

  private unreachable(source: MirrorSource, verb: string, detail: string): Result<Mirror> {
    return failed([error(`cannot ${verb} ${source.url}: ${detail}`)]);
  }

  private async git(
    args: readonly string[],
    source: MirrorSource,
    options: MirrorFetchOptions,
  ): Promise<{ ok: true; stdout: string } | { ok: false; detail: string }> {
    const secrets = secretsOf(source, options.auth);
    const stdout: string[] = [];
    const stderr: string[] = [];
    const end = await runProcess({
      command: this.options.git ?? "git",
      args,
      cwd: this.root,
      env: gitEnvironment(source, options.auth),
      timeoutMs: this.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      onLine: (line, stream) => {
        if (stream === "stdout") stdout.push(line.text);
        else stderr.push(line.text);
      },
    });
    if (end.kind === "exited" && end.code === 0) return { ok: true, stdout: stdout.join("\n") };
    const said = redact(
      stderr
        .filter((line) => line.trim() !== "")
        .slice(-KEPT_LINES)
        .join("; "),
      secrets,
    );
    return { ok: false, detail: explain(end, said, this.timeoutMs) };
  }
}

type ProcessEnd = Awaited<ReturnType<typeof runProcess>>;

function explain(end: ProcessEnd, said: string, timeoutMs: number): string {
  const git = said === "" ? "" : ` (git: ${said})`;
  switch (end.kind) {
    case "timed-out":
      return `git took longer than ${Math.round(timeoutMs / 1000)} s and was stopped; the remote is slow or does not answer`;
    case "cancelled":
      return "the fetch was cancelled";
    case "not-started":
      return `git could not start: ${end.reason}`;
    case "signalled":
      return `git was killed by ${end.signal}${git}`;
    case "exited":
      return `${reasonFrom(said)}${git}`;
  }
}

/** Git's messages, read in the C locale, sorted into what a person does about them. */
function reasonFrom(said: string): string {
  if (
    /Authentication failed|could not read (?:Username|Password)|Access denied|error: 40[13]|terminal prompts disabled/iu.test(
      said,
    )
  ) {
    return "the remote refused the credentials, or wants some: check the token Conveyor has for this repository";
  }
  if (
    /Repository not found|not found|does not appear to be a git repository|error: 404|does not exist/iu.test(
      said,
    )
  ) {
    return "there is no repository at this URL, or the credentials may not read it";
  }
  if (
    /Could not resolve host|Failed to connect|Connection refused|timed out|Couldn't connect|unable to access/iu.test(
      said,
    )
  ) {
    return "the remote cannot be reached";
  }
  return "git failed";
}

/**
 * Git's environment: no prompts of any kind, no credential helper (the host's stored credentials
 * are not the repository's), the C locale (messages read above), only the protocols the source
 * needs, and the authorization header scoped to the remote's origin.
 */
function gitEnvironment(source: MirrorSource, auth: MirrorAuth | undefined): Record<string, string> {
  const inherited = Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && !/^(?:GIT_|SSH_ASKPASS$)/u.test(entry[0]),
  );
  const config: [string, string][] = [["credential.helper", ""]];
  const header = authorizationHeader(source, auth);
  if (header !== undefined && source.origin !== undefined) {
    config.push([`http.${source.origin}.extraHeader`, `Authorization: ${header}`]);
  }
  return {
    ...Object.fromEntries(inherited),
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ALLOW_PROTOCOL: source.kind === "local" ? "file" : "http:https",
    GIT_CONFIG_COUNT: String(config.length),
    ...Object.fromEntries(
      config.flatMap(([key, value], index) => [
        [`GIT_CONFIG_KEY_${index}`, key],
        [`GIT_CONFIG_VALUE_${index}`, value],
      ]),
    ),
  };
}

function authorizationHeader(source: MirrorSource, auth: MirrorAuth | undefined): string | undefined {
  const given = auth ?? source.credentials;
  if (given === undefined) return undefined;
  if ("bearerToken" in given) return `Bearer ${given.bearerToken}`;
  return `Basic ${Buffer.from(`${given.username}:${given.password}`).toString("base64")}`;
}

/** Everything secret a message could come to hold. */
function secretsOf(source: MirrorSource, auth: MirrorAuth | undefined): string[] {
  const header = authorizationHeader(source, auth);
  const parts = [source.credentials?.password, header, header?.replace(/^\S+ /u, "")];
  if (auth !== undefined) parts.push("bearerToken" in auth ? auth.bearerToken : auth.password);
  return parts.filter((part): part is string => part !== undefined && part !== "");
}

function redact(text: string, secrets: readonly string[]): string {
  let result = redactUserInfo(text);
  for (const secret of secrets) result = result.split(secret).join("***");
  return result;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
