/**
 * For this folder's tests: a temporary folder with git isolated from the machine's config (and an
 * identity, so commits work anywhere), and a plain `node:http` git server on 127.0.0.1 that
 * routes the way the real one does: parseGitPath, checkRepositoryName, basic auth, serveSmartHttp.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BASIC_CHALLENGE, parseBasicAuthorization } from "./basic-auth.js";
import { RepositoryFolders } from "./bare-repositories.js";
import type { RefUpdate } from "./ref-updates.js";
import { checkRepositoryName, parseGitPath } from "./repository-names.js";
import { serveSmartHttp } from "./smart-http.js";
import type { SmartHttpOutcome } from "./smart-http.js";

export interface GitSandbox {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** A new empty folder. */
  folder(name?: string): string;
  /** Runs git in `dir`; rejects with git's stderr on failure. */
  git(dir: string, ...args: string[]): Promise<string>;
  write(dir: string, path: string, text: string | Buffer): void;
  /** Writes files, commits them all, returns the commit id. */
  commit(dir: string, message: string, files?: Record<string, string | Buffer>): Promise<string>;
  remove(): void;
}

export function gitSandbox(): GitSandbox {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "conveyor-git-")));
  const globalConfig = join(root, "global.gitconfig");
  // Random test data does not compress: storing it as it is keeps large pushes quick.
  writeFileSync(globalConfig, "[core]\n\tcompression = 0\n");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: root,
    GIT_CONFIG_GLOBAL: globalConfig,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CEILING_DIRECTORIES: root,
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@example.com",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@example.com",
    GIT_TERMINAL_PROMPT: "0",
  };
  let folders = 0;
  const sandbox: GitSandbox = {
    root,
    env,
    folder(name = "work") {
      const dir = join(root, String(++folders), name);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    git(dir, ...args) {
      return new Promise((resolve, reject) => {
        execFile(
          "git",
          args,
          { cwd: dir, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
          (failure, stdout, stderr) => {
            if (failure) reject(new Error(`git ${args.join(" ")}: ${stderr}`));
            else resolve(stdout.trim());
          },
        );
      });
    },
    write(dir, path, text) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    },
    async commit(dir, message, files = {}) {
      for (const [path, text] of Object.entries(files)) sandbox.write(dir, path, text);
      await sandbox.git(dir, "add", "-A");
      await sandbox.git(dir, "commit", "-q", "--allow-empty", "-m", message);
      return sandbox.git(dir, "rev-parse", "HEAD");
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return sandbox;
}

export interface TestGitServer {
  readonly url: string;
  readonly folders: RepositoryFolders;
  /** Every push's confirmed updates, in order, and what happened around each response. */
  readonly pushes: (readonly RefUpdate[])[];
  readonly outcomes: SmartHttpOutcome[];
  /** `callback` when onRefsUpdated ran, `finish` when a response ended: the order they came in. */
  readonly events: string[];
  /** `http://user:password@host:port/owner/name.git`. */
  cloneUrl(owner: string, name: string, user?: string): string;
  close(): Promise<void>;
}

/** The one user of the test server and its password. */
export const TEST_USER = { user: "alice", password: "s3cret-token" };

export async function startTestGitServer(sandbox: GitSandbox): Promise<TestGitServer> {
  const folders = new RepositoryFolders(join(sandbox.root, "repositories"), { env: sandbox.env });
  const pushes: (readonly RefUpdate[])[] = [];
  const outcomes: SmartHttpOutcome[] = [];
  const events: string[] = [];
  const reply = (
    res: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { "Content-Type": "text/plain", ...headers }).end(text);
  };
  const server = createServer((req, res) => {
    void (async () => {
      const path = parseGitPath(req.url ?? "");
      if (
        !path ||
        !checkRepositoryName(path.owner, path.name).ok ||
        !(await folders.exists(path.owner, path.name))
      ) {
        return reply(res, 404, "no such repository\n");
      }
      const credentials = parseBasicAuthorization(req.headers.authorization);
      if (credentials?.user !== TEST_USER.user || credentials.password !== TEST_USER.password) {
        return reply(res, 401, "sign in\n", { "WWW-Authenticate": BASIC_CHALLENGE });
      }
      res.on("finish", () => events.push("finish"));
      const outcome = await serveSmartHttp(req, res, {
        repositoryPath: folders.pathOf(path.owner, path.name),
        gitPath: path.gitPath,
        query: path.query,
        remoteUser: credentials.user,
        env: sandbox.env,
        onRefsUpdated: async (updates) => {
          // A little work, as the server's run start does: the response must wait for it.
          await new Promise((resolve) => setTimeout(resolve, 20));
          events.push("callback");
          pushes.push(updates);
        },
      });
      outcomes.push(outcome);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    folders,
    pushes,
    outcomes,
    events,
    cloneUrl: (owner, name, user = `${TEST_USER.user}:${TEST_USER.password}`) =>
      `http://${user}@127.0.0.1:${port}/${owner}/${name}.git`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
