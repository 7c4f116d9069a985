/**
 * The runner's side of the cache service (src/agent/service-cache-store.ts) against a real server:
 * archives in concurrent parts, paths outside the workspace, and entries shared both ways with
 * GitHub's own `@actions/cache`, since both make the toolkit's tar archives and versions.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as toolkit from "@actions/cache";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheVersion } from "../../src/actions/builtin/cache-client.js";
import { ServiceCacheStore } from "../../src/agent/service-cache-store.js";
import { ConveyorServer } from "../../src/server/server.js";
import { repositoryIn, runningJob } from "./running-job.js";

let server: ConveyorServer;
let token: string;
let endJob: () => Promise<unknown>;
const base = mkdtempSync(join(tmpdir(), "conveyor-service-cache-"));
const savedEnv = { ...process.env };
const savedCwd = process.cwd();

beforeAll(async () => {
  server = await ConveyorServer.start({ dataDir: join(base, "data"), port: 0 });
  const job = await runningJob(server, await repositoryIn(server, "o", "r"), "refs/heads/main");
  token = job.token;
  endJob = job.end;
}, 30_000);

afterAll(async () => {
  process.env = savedEnv;
  process.chdir(savedCwd);
  await endJob();
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

const store = (partBytes?: number) =>
  new ServiceCacheStore({
    token,
    cacheUrl: `${server.url}/`,
    tempDir: mkdtempSync(join(base, "temp-")),
    path: process.env.PATH ?? "",
    ...(partBytes ? { partBytes } : {}),
  });

function workspaceWith(files: Record<string, string | Buffer>): string {
  const workspace = mkdtempSync(join(base, "ws-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(workspace, path, ".."), { recursive: true });
    writeFileSync(join(workspace, path), content);
  }
  return workspace;
}

describe("ServiceCacheStore", () => {
  it("saves in concurrent parts, paths outside the workspace too, and restores them in another workspace", async () => {
    const home = mkdtempSync(join(base, "home-"));
    mkdirSync(join(home, ".tool"));
    writeFileSync(join(home, ".tool", "config"), "outside");
    const blob = randomBytes(600_000);
    const first = workspaceWith({ "deps/blob.bin": blob, "deps/a/b.txt": "inside" });
    const caches = store(64 * 1024);
    const version = cacheVersion(["deps", "~/.tool"], false, process.platform, await caches.format());
    const saved = await caches.save("parts", version, [join(first, "deps"), join(home, ".tool")], {
      workspace: first,
      home,
    });
    expect(saved?.bytes).toBeGreaterThan(64 * 1024 * 2);
    expect(
      await caches.save("parts", version, [join(first, "deps")], { workspace: first, home }),
    ).toBeUndefined();

    rmSync(join(home, ".tool"), { recursive: true });
    const second = workspaceWith({});
    const hit = await caches.lookup(["part", "par"], version);
    if (!hit) throw new Error("the entry was not found by prefix");
    expect(hit.key).toBe("parts");
    await caches.restore(hit, { workspace: second, home });
    expect(readFileSync(join(second, "deps/blob.bin")).equals(blob)).toBe(true);
    expect(readFileSync(join(second, "deps/a/b.txt"), "utf8")).toBe("inside");
    expect(readFileSync(join(home, ".tool", "config"), "utf8")).toBe("outside");
    expect(await caches.lookup(["parts"], "another-version")).toBeUndefined();
  });

  it("says what went wrong when an archive cannot be had or cannot be read", async () => {
    // Not the cache service's own answers: a server that refuses, and one that sends no archive.
    const web = createServer((request, response) => {
      if (request.url === "/gone") {
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ message: "The archive has expired." }));
      } else {
        response.writeHead(200, { "content-length": String(300_000) });
        response.end(randomBytes(300_000));
      }
    });
    await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    const where = { workspace: mkdtempSync(join(base, "ws-")), home: base };
    try {
      await expect(store().restore({ key: "k", location: `${origin}/gone` }, where)).rejects.toThrow(
        "could not download the cache: the cache service answered 404: The archive has expired.",
      );
      await expect(store().restore({ key: "k", location: `${origin}/noise` }, where)).rejects.toThrow(
        /^tar -x failed \(exit code \d+\): /,
      );
    } finally {
      await new Promise((resolve) => web.close(resolve));
    }
  });

  it("shares entries with @actions/cache both ways", async () => {
    process.env.ACTIONS_RUNTIME_TOKEN = token;
    process.env.ACTIONS_CACHE_URL = `${server.url}/`;
    process.env.RUNNER_TEMP = mkdtempSync(join(base, "runner-temp-"));
    delete process.env.ACTIONS_CACHE_SERVICE_V2;

    const caches = store();
    const version = cacheVersion(["deps"], false, process.platform, await caches.format());
    const ours = workspaceWith({ "deps/x.txt": "from the built-in action" });
    await caches.save("shared-1", version, [join(ours, "deps")], { workspace: ours, home: base });
    const theirs = workspaceWith({});
    process.env.GITHUB_WORKSPACE = theirs;
    process.chdir(theirs);
    expect(await toolkit.restoreCache(["deps"], "shared-1")).toBe("shared-1");
    expect(readFileSync(join(theirs, "deps/x.txt"), "utf8")).toBe("from the built-in action");

    const toolkitSide = workspaceWith({ "deps/y.txt": "from @actions/cache" });
    process.env.GITHUB_WORKSPACE = toolkitSide;
    process.chdir(toolkitSide);
    expect(await toolkit.saveCache(["deps"], "shared-2")).toBeGreaterThan(0);
    const back = workspaceWith({});
    const hit = await caches.lookup(["shared-2"], version);
    if (!hit) throw new Error("the toolkit's entry was not found");
    await caches.restore(hit, { workspace: back, home: base });
    expect(readFileSync(join(back, "deps/y.txt"), "utf8")).toBe("from @actions/cache");
    expect(existsSync(join(back, "deps/x.txt"))).toBe(false);
  });
});
