import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Result } from "../../diagnostic.js";
import { RepositoryMirrors } from "./mirror.js";

const run = promisify(execFile);

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.org",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.org",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", args, { cwd, env: GIT_ENV });
  return stdout.trim();
}

async function commitFile(repo: string, file: string, text: string): Promise<string> {
  await writeFile(join(repo, file), text);
  await git(repo, "add", file);
  await git(repo, "commit", "-q", "-m", `write ${file}`);
  return git(repo, "rev-parse", "HEAD");
}

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result.value;
}

function message<T>(result: Result<T>): string {
  if (result.ok) throw new Error("expected an error");
  return result.errors.map((e) => e.message).join("\n");
}

/** A working repository with one commit and a bare copy of it, made once and copied per test. */
let template: string;
let dir: string;
let source: string;
const servers: Server[] = [];

beforeAll(async () => {
  template = await mkdtemp(join(tmpdir(), "conveyor-mirror-template-"));
  await git(template, "init", "-q", "-b", "main", join(template, "work"));
  await commitFile(join(template, "work"), "README.md", "one\n");
  await git(join(template, "work"), "clone", "-q", "--bare", ".", join(template, "repos", "project.git"));
});

afterAll(async () => {
  await rm(template, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "conveyor-mirror-"));
  await cp(template, dir, { recursive: true });
  source = join(dir, "repos", "project.git");
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await rm(dir, { recursive: true, force: true });
});

/** Pushes new work to the source: a commit on main and a branch, or the branch's deletion. */
async function pushToSource(...refspecs: string[]): Promise<void> {
  await git(join(dir, "work"), "push", "-q", source, ...refspecs);
}

describe("RepositoryMirrors over a local path", () => {
  it("clones a mirror the first time and fetches with prune after", async () => {
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { allowLocal: true });
    const first = value(await mirrors.fetch(source));
    expect(first.cloned).toBe(true);
    expect(first.path).toBe(value(mirrors.pathFor(source)));
    expect(await git(dir, "--git-dir", first.path, "rev-parse", "main")).toBe(
      await git(source, "rev-parse", "main"),
    );

    const work = join(dir, "work");
    const head = await commitFile(work, "two.txt", "two\n");
    await git(work, "branch", "feature");
    await pushToSource("main", "feature");
    const second = value(await mirrors.fetch(source));
    expect(second).toEqual({ path: first.path, cloned: false });
    expect(await git(dir, "--git-dir", first.path, "rev-parse", "main", "feature")).toBe(`${head}\n${head}`);

    await pushToSource(":feature");
    value(await mirrors.fetch(source));
    expect(await git(dir, "--git-dir", first.path, "for-each-ref", "--format=%(refname)")).toBe(
      "refs/heads/main",
    );
  });

  it("runs fetches of one mirror one at a time: one clones, the other fetches", async () => {
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { allowLocal: true });
    const results = await Promise.all([mirrors.fetch(source), mirrors.fetch(source), mirrors.fetch(source)]);
    expect(results.map((r) => value(r).cloned).sort()).toEqual([false, false, true]);
  });

  it("refuses a local path unless allowed", async () => {
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"));
    expect(message(await mirrors.fetch(source))).toMatch(
      /is a local path, and this server mirrors only HTTP\(S\)/u,
    );
  });

  it("says when there is no repository there, and leaves no half-made mirror", async () => {
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { allowLocal: true });
    const missing = join(dir, "repos", "missing.git");
    expect(message(await mirrors.fetch(missing))).toMatch(
      new RegExp(`^cannot clone ${missing}: there is no repository at this URL`, "u"),
    );
    expect(await run("ls", ["-A", join(dir, "mirrors")]).then((r) => r.stdout)).toBe("");
  });

  it("lists the files between two commits, directly or from the merge base", async () => {
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { allowLocal: true });
    const work = join(dir, "work");
    const base = await git(work, "rev-parse", "HEAD");
    await git(work, "checkout", "-q", "-b", "topic");
    const topic = await commitFile(work, "topic.txt", "topic\n");
    await git(work, "checkout", "-q", "main");
    const main = await commitFile(work, "main.txt", "main\n");
    await pushToSource("main", "topic");
    value(await mirrors.fetch(source));
    expect(value(await mirrors.changedFiles(source, main, topic, "three-dot"))).toEqual(["topic.txt"]);
    expect(value(await mirrors.changedFiles(source, main, topic, "two-dot")).sort()).toEqual([
      "main.txt",
      "topic.txt",
    ]);
    expect(value(await mirrors.changedFiles(source, base, main, "two-dot"))).toEqual(["main.txt"]);
    expect(message(await mirrors.changedFiles(source, "main", topic, "two-dot"))).toMatch(/two commit ids/u);
  });
});

/**
 * Git's smart HTTP in front of `root`: `git http-backend` run as CGI for each request, behind
 * basic authentication, as a forge serves it.
 */
async function serveOverHttp(root: string, username: string, password: string): Promise<string> {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const server = createServer((request, response) => {
    if (request.headers.authorization !== expected) {
      response.writeHead(401, { "WWW-Authenticate": 'Basic realm="test"' }).end();
      return;
    }
    runHttpBackend(root, username, request, response);
  });
  return listen(server);
}

function runHttpBackend(
  root: string,
  user: string,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const url = new URL(request.url ?? "/", "http://127.0.0.1");
  const backend = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: request.method ?? "GET",
      CONTENT_TYPE: request.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: request.headers["content-encoding"] ?? "",
      GIT_PROTOCOL: request.headers["git-protocol"]?.toString() ?? "",
      REMOTE_USER: user,
      REMOTE_ADDR: "127.0.0.1",
    },
  });
  request.pipe(backend.stdin);
  let head = Buffer.alloc(0);
  let headersSent = false;
  backend.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end === -1) return;
    let status = 200;
    for (const line of head.subarray(0, end).toString().split("\r\n")) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim();
      const text = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(text, 10);
      else response.setHeader(name, text);
    }
    response.writeHead(status);
    headersSent = true;
    response.write(head.subarray(end + 4));
  });
  backend.on("close", () => response.end());
}

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("RepositoryMirrors over HTTP", () => {
  const TOKEN = "tok-9f8e7d6c5b4a";

  it("fetches with basic auth sent as a header, never stored in the mirror's config", async () => {
    const base = await serveOverHttp(join(dir, "repos"), "conveyor", TOKEN);
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { timeoutMs: 20_000 });
    const url = `${base}/project.git`;
    const mirror = value(await mirrors.fetch(url, { auth: { username: "conveyor", password: TOKEN } }));
    expect(mirror.cloned).toBe(true);
    expect(await git(dir, "--git-dir", mirror.path, "rev-parse", "main")).toBe(
      await git(source, "rev-parse", "main"),
    );
    const config = await readFile(join(mirror.path, "config"), "utf8");
    expect(config).toContain(`url = ${url}`);
    expect(config).not.toContain(TOKEN);

    const head = await commitFile(join(dir, "work"), "three.txt", "three\n");
    await pushToSource("main");
    expect(value(await mirrors.fetch(url, { auth: { username: "conveyor", password: TOKEN } })).cloned).toBe(
      false,
    );
    expect(await git(dir, "--git-dir", mirror.path, "rev-parse", "main")).toBe(head);
  });

  it("takes credentials out of a clone URL and sends them the same way", async () => {
    const base = await serveOverHttp(join(dir, "repos"), "conveyor", TOKEN);
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { timeoutMs: 20_000 });
    const withToken = base.replace("http://", `http://conveyor:${TOKEN}@`);
    const mirror = value(await mirrors.fetch(`${withToken}/project.git`));
    expect(await readFile(join(mirror.path, "config"), "utf8")).not.toContain(TOKEN);
    expect(mirror.path).toBe(value(mirrors.pathFor(`${base}/project.git`)));
  });

  it("says the credentials were refused, without showing them", async () => {
    const base = await serveOverHttp(join(dir, "repos"), "conveyor", TOKEN);
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { timeoutMs: 20_000 });
    const wrong = await mirrors.fetch(`${base}/project.git`, {
      auth: { username: "conveyor", password: "wrong-password" },
    });
    expect(message(wrong)).toMatch(/the remote refused the credentials, or wants some/u);
    expect(message(wrong)).not.toContain("wrong-password");
    const inUrl = await mirrors.fetch(
      `${base.replace("http://", "http://conveyor:wrong-password@")}/project.git`,
    );
    expect(message(inUrl)).toMatch(/refused the credentials/u);
    expect(message(inUrl)).not.toContain("wrong-password");
    expect(message(await mirrors.fetch(`${base}/project.git`))).toMatch(/refused the credentials/u);
  });

  it("says when the remote cannot be reached", async () => {
    const closed = createServer();
    const base = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { timeoutMs: 20_000 });
    const result = await mirrors.fetch(`${base}/project.git`, { auth: { bearerToken: TOKEN } });
    expect(message(result)).toMatch(
      new RegExp(`^cannot clone ${base}/project.git: the remote cannot be reached`, "u"),
    );
    expect(message(result)).not.toContain(TOKEN);
  });

  it("stops a fetch that takes longer than the timeout", async () => {
    const silent = createServer(() => {
      // Accepts the request and never answers.
    });
    const base = await listen(silent);
    const mirrors = new RepositoryMirrors(join(dir, "mirrors"), { timeoutMs: 1_000 });
    const started = Date.now();
    const result = await mirrors.fetch(`${base}/project.git`);
    expect(message(result)).toMatch(/git took longer than 1 s and was stopped/u);
    expect(Date.now() - started).toBeLessThan(9_000);
  });
});
