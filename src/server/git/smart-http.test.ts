import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NULL_SHA } from "../../git/repository-state.js";
import { TEST_USER, gitSandbox, startTestGitServer } from "./git-test-sandbox.js";
import type { TestGitServer } from "./git-test-sandbox.js";
import { serveSmartHttp } from "./smart-http.js";
import type { SmartHttpOptions, SmartHttpOutcome } from "./smart-http.js";

const sandbox = gitSandbox();
let server: TestGitServer;
beforeAll(async () => {
  server = await startTestGitServer(sandbox);
});
afterAll(async () => {
  await server.close();
  sandbox.remove();
});

/** A new hosted repository and a clone of it to work in. */
async function hostedClone(name: string): Promise<string> {
  const created = await server.folders.create("alice", name);
  expect(created.ok).toBe(true);
  const work = sandbox.folder(name);
  await sandbox.git(work, "clone", "-q", server.cloneUrl("alice", name), ".");
  return work;
}

/** The updates the next push reports, and that git push returned after they were known. */
async function pushed(work: string, ...args: string[]): Promise<readonly unknown[]> {
  const before = server.pushes.length;
  await sandbox.git(work, "push", "-q", "origin", ...args);
  expect(server.pushes.length).toBe(before + 1);
  return server.pushes.at(-1) ?? [];
}

describe("serveSmartHttp with git clone and push", () => {
  it("reports a new branch, then a fast-forward, then a force push", async () => {
    const work = await hostedClone("flow");
    const first = await sandbox.commit(work, "first", { "a.txt": "a" });
    expect(await pushed(work, "HEAD:refs/heads/main")).toEqual([
      {
        ref: "refs/heads/main",
        before: NULL_SHA,
        after: first,
        created: true,
        deleted: false,
        forced: false,
      },
    ]);

    const second = await sandbox.commit(work, "second", { "a.txt": "b" });
    expect(await pushed(work, "HEAD:main")).toEqual([
      { ref: "refs/heads/main", before: first, after: second, created: false, deleted: false, forced: false },
    ]);

    await sandbox.git(work, "commit", "-q", "--amend", "-m", "second, amended");
    const amended = await sandbox.git(work, "rev-parse", "HEAD");
    expect(await pushed(work, "--force", "HEAD:main")).toEqual([
      {
        ref: "refs/heads/main",
        before: second,
        after: amended,
        created: false,
        deleted: false,
        forced: true,
      },
    ]);
  });

  it("calls onRefsUpdated before the response ends, so git push returns after it", async () => {
    const work = await hostedClone("order");
    await sandbox.commit(work, "one");
    const from = server.events.length;
    await pushed(work, "HEAD:refs/heads/main");
    // The receive-pack POST's callback comes before its response's finish.
    const events = server.events.slice(from);
    expect(events.indexOf("callback")).toBeGreaterThan(-1);
    expect(events.lastIndexOf("finish")).toBeGreaterThan(events.indexOf("callback"));
    const outcome = server.outcomes.at(-1);
    expect(outcome?.updates).toHaveLength(1);
    expect(outcome?.timings.callbackMs).toBeGreaterThanOrEqual(19);
    // What the wrapper adds after the backend: reading the refs (one for-each-ref, one merge-base at most).
    expect(outcome?.timings.confirmMs).toBeLessThan(500);
  });

  it("reports an annotated tag, a push of two refs, and a branch deletion", async () => {
    const work = await hostedClone("refs");
    const commit = await sandbox.commit(work, "one");
    await pushed(work, "HEAD:refs/heads/main");

    await sandbox.git(work, "tag", "-a", "v1", "-m", "version 1");
    const tagObject = await sandbox.git(work, "rev-parse", "v1");
    expect(await pushed(work, "refs/tags/v1")).toEqual([
      {
        ref: "refs/tags/v1",
        before: NULL_SHA,
        after: tagObject,
        created: true,
        deleted: false,
        forced: false,
      },
    ]);

    const next = await sandbox.commit(work, "two");
    const updates = await pushed(work, "HEAD:refs/heads/main", "HEAD:refs/heads/feature");
    expect(updates).toEqual(
      expect.arrayContaining([
        {
          ref: "refs/heads/main",
          before: commit,
          after: next,
          created: false,
          deleted: false,
          forced: false,
        },
        {
          ref: "refs/heads/feature",
          before: NULL_SHA,
          after: next,
          created: true,
          deleted: false,
          forced: false,
        },
      ]),
    );
    expect(updates).toHaveLength(2);

    expect(await pushed(work, "--delete", "feature")).toEqual([
      {
        ref: "refs/heads/feature",
        before: next,
        after: NULL_SHA,
        created: false,
        deleted: true,
        forced: false,
      },
    ]);
  });

  it("reports nothing for a push git refuses (receive.denyNonFastForwards)", async () => {
    const work = await hostedClone("guarded");
    await sandbox.commit(work, "one");
    await pushed(work, "HEAD:refs/heads/main");
    await sandbox.git(
      server.folders.pathOf("alice", "guarded"),
      "config",
      "receive.denyNonFastForwards",
      "true",
    );
    await sandbox.git(work, "commit", "-q", "--amend", "--allow-empty", "-m", "rewritten");
    const count = server.pushes.length;
    await expect(sandbox.git(work, "push", "-q", "--force", "origin", "HEAD:main")).rejects.toThrow(
      /non-fast-forward|rejected/,
    );
    expect(server.pushes.length).toBe(count);
    expect(server.outcomes.at(-1)?.updates).toEqual([]);
  });

  it("refuses a push without credentials (the server's 401 challenge) and fetches with them", async () => {
    const work = await hostedClone("private");
    const commit = await sandbox.commit(work, "one");
    await pushed(work, "HEAD:refs/heads/main");
    const anonymous = sandbox.folder("anonymous");
    await expect(
      sandbox.git(anonymous, "clone", "-q", `${server.url}/alice/private.git`, "."),
    ).rejects.toThrow(/Authentication failed|could not read Username|terminal prompts disabled/);
    const other = sandbox.folder("other");
    // Without `.git` in the URL as well.
    await sandbox.git(other, "clone", "-q", server.cloneUrl("alice", "private").replace(/\.git$/, ""), ".");
    expect(await sandbox.git(other, "rev-parse", "HEAD")).toBe(commit);
  });

  it("passes a 30 MB push through", async () => {
    const work = await hostedClone("large");
    const commit = await sandbox.commit(work, "large", { "blob.bin": randomBytes(30 * 1024 * 1024) });
    expect(await pushed(work, "HEAD:refs/heads/main")).toEqual([
      {
        ref: "refs/heads/main",
        before: NULL_SHA,
        after: commit,
        created: true,
        deleted: false,
        forced: false,
      },
    ]);
  });
});

describe("serveSmartHttp with requests made by hand", () => {
  it("reads the commands of a gzip-compressed push (a deletion needs no pack)", async () => {
    const work = await hostedClone("gzip");
    const commit = await sandbox.commit(work, "one");
    await pushed(work, "HEAD:refs/heads/main", "HEAD:refs/heads/doomed");
    const body = gzipSync(
      Buffer.concat([
        pktLine(`${commit} ${NULL_SHA} refs/heads/doomed\0report-status delete-refs\n`),
        Buffer.from("0000"),
      ]),
    );
    const response = await post("/alice/gzip.git/git-receive-pack", body, {
      "Content-Type": "application/x-git-receive-pack-request",
      "Content-Encoding": "gzip",
    });
    expect(response.status).toBe(200);
    expect(response.body.toString("latin1")).toContain("ok refs/heads/doomed");
    expect(server.pushes.at(-1)).toEqual([
      {
        ref: "refs/heads/doomed",
        before: commit,
        after: NULL_SHA,
        created: false,
        deleted: true,
        forced: false,
      },
    ]);
    expect(await sandbox.git(server.folders.pathOf("alice", "gzip"), "for-each-ref")).not.toContain("doomed");
  });

  it("answers info/refs with git's advertisement and CGI headers", async () => {
    await server.folders.create("alice", "advert");
    const response = await get("/alice/advert.git/info/refs?service=git-upload-pack");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/x-git-upload-pack-advertisement");
    expect(response.headers["cache-control"]).toContain("no-cache");
    expect(response.body.toString("latin1")).toMatch(/^001e# service=git-upload-pack\n0000/);
    // Protocol v2 when the client asks for it with the Git-Protocol header.
    const v2 = await get("/alice/advert.git/info/refs?service=git-upload-pack", {
      "Git-Protocol": "version=2",
    });
    expect(v2.body.toString("latin1")).toContain("version 2\n");
  });

  it("stops the backend when the client goes away mid-push, and reports nothing", async () => {
    await server.folders.create("alice", "abandoned");
    const count = server.outcomes.length;
    await new Promise<void>((resolve) => {
      const req = request(`${server.url}/alice/abandoned.git/git-receive-pack`, {
        method: "POST",
        headers: { "Content-Type": "application/x-git-receive-pack-request", Authorization: authorization() },
      });
      req.on("error", () => resolve());
      // Commands, then the start of a pack that never ends.
      req.write(
        Buffer.concat([
          pktLine(`${NULL_SHA} ${"1".repeat(40)} refs/heads/main\0report-status\n`),
          Buffer.from("0000PACK"),
        ]),
      );
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    await waitFor(() => server.outcomes.length > count);
    const outcome = server.outcomes.at(-1);
    expect(outcome?.clientGone).toBe(true);
    expect(outcome?.updates).toEqual([]);
  });
});

describe("serveSmartHttp streaming", () => {
  it("holds a body back while the backend does not read it, rather than buffering it", async () => {
    // A stand-in backend that reads nothing for a second, then everything, and answers in CGI.
    const backend = join(sandbox.folder("backend"), "slow-backend");
    writeFileSync(
      backend,
      "#!/bin/sh\nsleep 1\nbytes=$(wc -c)\nprintf 'Status: 202 Accepted\\nX-Read: %s\\n\\nread' \"$bytes\"\n",
      {
        mode: 0o755,
      },
    );
    const direct = await startDirectServer({ remoteUser: "alice", backend });
    const total = 64 * 1024 * 1024;
    const chunk = randomBytes(1024 * 1024);
    try {
      const response = new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(direct.url, { method: "POST" }, resolve);
        req.on("error", reject);
        let sent = 0;
        const writeMore = (): void => {
          while (sent < total) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once("drain", writeMore);
          }
          req.end();
        };
        writeMore();
        // Half way through the backend's pause: only what socket and pipe buffers hold has left the client.
        setTimeout(() => flushed.push(req.socket?.bytesWritten ?? 0), 500);
      });
      const flushed: number[] = [];
      const res = await response;
      const body = await new Promise<string>((resolve) => {
        let text = "";
        res.on("data", (data: Buffer) => (text += data.toString()));
        res.on("end", () => resolve(text));
      });
      // About 4 MB here; some 40 MB when the body is read without waiting for the backend.
      expect(flushed[0]).toBeLessThan(16 * 1024 * 1024);
      expect(res.statusCode).toBe(202);
      expect(res.headers["x-read"]).toBe(String(total));
      expect(body).toBe("read");
      expect(direct.outcomes[0]).toMatchObject({ status: 202, updates: [], clientGone: false });
    } finally {
      direct.close();
    }
  });

  it("answers 500 when the backend cannot run, and says why in the outcome", async () => {
    const direct = await startDirectServer({
      remoteUser: "alice",
      backend: join(sandbox.root, "no-such-backend"),
    });
    try {
      const response = await fetch(`${direct.url}/`, { method: "POST", body: "0000" });
      expect(response.status).toBe(500);
      expect(await response.text()).toBe("The git backend failed; the server's log says why.\n");
      expect(direct.outcomes[0]?.problem).toMatch(/^cannot run .*no-such-backend: spawn .* ENOENT/);
    } finally {
      direct.close();
    }
  });

  it("refuses a push without an authenticated user, as a second lock", async () => {
    const direct = await startDirectServer({});
    try {
      const response = await fetch(`${direct.url}/`, { method: "POST", body: "0000" });
      expect(response.status).toBe(403);
      expect(await response.text()).toBe("Pushing needs a signed-in user.\n");
    } finally {
      direct.close();
    }
  });
});

/** A server that hands every request to serveSmartHttp as a push to the sandbox's root, with `options`. */
async function startDirectServer(
  options: Partial<SmartHttpOptions>,
): Promise<{ url: string; outcomes: SmartHttpOutcome[]; close: () => void }> {
  const outcomes: SmartHttpOutcome[] = [];
  const direct = createServer((req, res) => {
    void serveSmartHttp(req, res, {
      repositoryPath: sandbox.root,
      gitPath: "git-receive-pack",
      query: "",
      env: sandbox.env,
      ...options,
    }).then((outcome) => outcomes.push(outcome));
  });
  await new Promise<void>((resolve) => direct.listen(0, "127.0.0.1", resolve));
  const address = direct.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    outcomes,
    close: () => {
      direct.closeAllConnections();
      direct.close();
    },
  };
}

function pktLine(payload: string): Buffer {
  const bytes = Buffer.from(payload, "utf8");
  return Buffer.concat([Buffer.from((bytes.length + 4).toString(16).padStart(4, "0")), bytes]);
}

function authorization(): string {
  return `Basic ${Buffer.from(`${TEST_USER.user}:${TEST_USER.password}`).toString("base64")}`;
}

interface Response {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

function post(path: string, body: Buffer, headers: Record<string, string>): Promise<Response> {
  return send("POST", path, headers, body);
}

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return send("GET", path, headers);
}

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, headers: { ...headers, Authorization: authorization() } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(condition()).toBe(true);
}
