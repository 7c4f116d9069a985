/**
 * How `conveyor up` serves the dashboard: the page with its security headers for every dashboard
 * path, hashed assets cached for good, and nothing shadowing the API, git or the services' paths.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConveyorServer } from "../../src/server/server.js";
import { isDashboardPath } from "../../src/server/http/web-routes.js";

let server: ConveyorServer;
let withoutBuild: ConveyorServer;

beforeAll(async () => {
  const webRoot = mkdtempSync(join(tmpdir(), "conveyor-web-root-"));
  mkdirSync(join(webRoot, "assets"));
  writeFileSync(join(webRoot, "index.html"), "<!doctype html><title>Conveyor</title>");
  writeFileSync(join(webRoot, "assets", "index-AbC123.js"), "console.log(1)");
  writeFileSync(join(webRoot, "assets", "index-AbC123.css"), "body{}");
  writeFileSync(join(webRoot, "favicon.svg"), "<svg/>");
  server = await ConveyorServer.start({
    dataDir: mkdtempSync(join(tmpdir(), "conveyor-web-")),
    port: 0,
    webRoot,
  });
  withoutBuild = await ConveyorServer.start({
    dataDir: mkdtempSync(join(tmpdir(), "conveyor-web-")),
    port: 0,
    webRoot: join(webRoot, "missing"),
  });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await withoutBuild?.close();
});

const get = (path: string) => server.app.inject({ method: "GET", url: path });

describe("the dashboard's routes", () => {
  it("serves the page for the dashboard's paths, never cached, with a strict CSP", async () => {
    for (const path of [
      "/",
      "/runs/12",
      "/jobs/3",
      "/repos/admin/app",
      "/repos/admin/app/settings",
      "/tokens",
    ]) {
      const response = await get(path);
      expect(response.statusCode, path).toBe(200);
      expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(response.headers["cache-control"]).toBe("no-cache");
      expect(response.headers["content-security-policy"]).toMatch(/script-src 'self'(;|$)/);
      expect(response.body).toContain("<title>Conveyor</title>");
    }
  });

  it("serves hashed assets with their content type, cached as immutable", async () => {
    const script = await get("/assets/index-AbC123.js");
    expect(script.statusCode).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect((await get("/assets/index-AbC123.css")).headers["content-type"]).toBe("text/css; charset=utf-8");
    expect((await get("/favicon.svg")).headers["content-type"]).toBe("image/svg+xml");
    expect((await get("/assets/missing.js")).statusCode).toBe(404);
    expect((await get("/assets/..%2f..%2findex.html")).statusCode).toBe(404);
  });

  it("leaves the API, git and the services' paths alone", async () => {
    expect((await get("/api/v1/health")).json()).toEqual({ status: "ok" });
    const unknownApi = await get("/api/v1/no-such-thing");
    expect(unknownApi.statusCode).toBe(404);
    expect(unknownApi.json()).toMatchObject({ error: expect.stringMatching(/no route/) });
    expect((await get("/admin/app.git/info/refs")).headers["content-type"]).not.toMatch(/html/);
    expect((await get("/_apis/artifactcache/nothing")).headers["content-type"]).not.toMatch(/html/);
    expect(isDashboardPath("/api/runner/v1/poll")).toBe(false);
    expect(isDashboardPath("/twirp/github.actions.results.api.v1.ArtifactService/x")).toBe(false);
    expect(isDashboardPath("/_blobs/abc")).toBe(false);
    expect(isDashboardPath("/runs/4")).toBe(true);
  });

  it("says how to build the dashboard when it is not built", async () => {
    const response = await withoutBuild.app.inject({ method: "GET", url: "/" });
    expect(response.statusCode).toBe(503);
    expect(response.body).toMatch(/npm run build/);
  });
});
