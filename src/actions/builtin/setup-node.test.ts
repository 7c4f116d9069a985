import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { arch, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashFiles } from "../../expressions/hash-files.js";
import { FileArtifactStore } from "../../local/artifact-store.js";
import { FileCacheStore } from "../../local/cache-store.js";
import { findExecutable } from "./commands.js";
import { checkNodeVersion, nodeVersionFromFile, npmrcContents, setupNodeAction } from "./setup-node.js";
import type { HostNode } from "./setup-node.js";
import { recordingContext } from "./test-context.js";
import type { RecordingContext } from "./test-context.js";
import type { BuiltinResult } from "./types.js";

/** The Node this host runs for jobs: the one on PATH. */
let hostVersion: string;
let hostMajor: number;
let hostNodePath: string;
beforeAll(() => {
  hostNodePath = findExecutable("node", { PATH: process.env.PATH ?? "" }) ?? process.execPath;
  hostVersion = execFileSync(hostNodePath, ["--version"], { encoding: "utf8" }).trim();
  hostMajor = Number(hostVersion.slice(1).split(".")[0]);
});

let base: string;
let workspace: string;
let caches: FileCacheStore;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "conveyor-setup-node-"));
  workspace = join(base, "workspace");
  await mkdir(workspace);
  caches = new FileCacheStore(join(base, "store"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function run(
  inputs: Record<string, string>,
  options: {
    env?: Record<string, string>;
    which?: "main" | "post";
    state?: Record<string, string>;
    in?: string;
  } = {},
): Promise<{ result: BuiltinResult; context: RecordingContext }> {
  const runnerTemp = join(base, "temp");
  await mkdir(runnerTemp, { recursive: true });
  const context = recordingContext({
    action: setupNodeAction,
    inputs,
    workspace: options.in ?? workspace,
    runnerTemp,
    env: { HOME: join(base, "home"), ...options.env },
    artifacts: new FileArtifactStore(join(base, "store"), "1"),
    caches,
    ...(options.state ? { state: options.state } : {}),
  });
  const body = options.which === "post" ? setupNodeAction.post : setupNodeAction.main;
  if (!body) throw new Error("no such step");
  return { result: await body(context), context };
}

describe("checkNodeVersion", () => {
  const host: HostNode = { path: "/usr/bin/node", version: "v20.11.1", lts: "Iron", arch: "x64" };
  it.each(["20", "20.x", "v20.11.1", ">=18", "^20.1", "18 || 20", "lts/iron", "20.11"])(
    "accepts %s for v20.11.1",
    (spec) => {
      expect(checkNodeVersion(spec, host)).toEqual({ ok: true, value: {} });
    },
  );
  it.each(["latest", "current", "node", "lts/*", "lts/-1", "20-nightly"])(
    "accepts %s with a note",
    (spec) => {
      const checked = checkNodeVersion(spec, host);
      expect(checked.ok && checked.value.note).toMatch(/v20\.11\.1/);
    },
  );
  it.each(["18", "22.x", "<20", "lts/jod", "21-nightly"])(
    "refuses %s, naming the host's Node and what to do",
    (spec) => {
      const checked = checkNodeVersion(spec, host);
      expect(checked.ok).toBe(false);
      if (!checked.ok) {
        expect(checked.message).toContain("v20.11.1 (/usr/bin/node)");
        expect(checked.message).toMatch(
          /install a Node that satisfies .* or change node-version to match \(e\.g\. '20'\)/,
        );
      }
    },
  );
  it("refuses what it cannot read", () => {
    expect(checkNodeVersion("banana", host)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/not a version/) as unknown,
    });
  });
});

describe("node-version-file contents", () => {
  it.each([
    ["v20.1.0\n", "20.1.0"],
    ["20\n", "20"],
    ["lts/iron\n", "lts/iron"],
    ["nodejs 18.2.0\npython 3.11\n", "18.2.0"],
    ['{"engines":{"node":">=18"}}', ">=18"],
    ['{"volta":{"node":"20.2.0"},"engines":{"node":">=18"}}', "20.2.0"],
  ])("%j gives %s", (contents, version) => {
    expect(nodeVersionFromFile(contents)).toEqual({ version });
  });
  it("follows volta.extends and reads nothing from a package.json without a version", () => {
    expect(nodeVersionFromFile('{"volta":{"extends":"../package.json"}}')).toEqual({
      extends: "../package.json",
    });
    expect(nodeVersionFromFile('{"name":"x"}')).toEqual({});
  });
});

describe("npmrc for registry-url", () => {
  it("writes the auth line, the (scoped) registry and always-auth, replacing an earlier registry line", () => {
    expect(npmrcContents("", "https://registry.npmjs.org", "", "false")).toBe(
      "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\nregistry=https://registry.npmjs.org/\nalways-auth=false",
    );
    expect(
      npmrcContents("@octo:registry=https://old/\nkeep=1", "https://npm.pkg.github.com/", "Octo", "true"),
    ).toBe(
      "keep=1\n//npm.pkg.github.com/:_authToken=${NODE_AUTH_TOKEN}\n@octo:registry=https://npm.pkg.github.com/\nalways-auth=true",
    );
  });
});

describe("actions/setup-node with this host's Node", () => {
  it("accepts a matching node-version, puts the host Node's folder on PATH and outputs its version", async () => {
    const { result, context } = await run({ "node-version": `${hostMajor}.x` });
    expect(result.ok).toBe(true);
    expect(context.outputs).toEqual({ "node-version": hostVersion });
    expect(context.addedPaths).toEqual([dirname(hostNodePath)]);
  });

  it("fails for another version, naming the host version", async () => {
    const { result } = await run({ "node-version": String(hostMajor - 2) });
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringContaining(`does not match this host's Node ${hostVersion}`) as unknown,
    });
  });

  it("reads node-version-file, .nvmrc or package.json, and prefers node-version", async () => {
    await writeFile(join(workspace, ".nvmrc"), `v${hostMajor}\n`);
    const nvmrc = await run({ "node-version-file": ".nvmrc" });
    expect(nvmrc.result.ok).toBe(true);
    expect(nvmrc.context.logs).toContain(`Resolved .nvmrc as ${hostMajor}`);
    await mkdir(join(workspace, "app"));
    await writeFile(join(workspace, "package.json"), JSON.stringify({ volta: { node: "1.0.0" } }));
    await writeFile(
      join(workspace, "app", "package.json"),
      JSON.stringify({ volta: { extends: "../package.json" } }),
    );
    const extended = await run({ "node-version-file": "app/package.json" });
    expect(extended.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/'1\.0\.0' does not match/) as unknown,
    });
    const both = await run({ "node-version": String(hostMajor), "node-version-file": "app/package.json" });
    expect(both.result.ok).toBe(true);
    expect(both.context.warnings[0]).toMatch(/only node-version will be used/);
    const missing = await run({ "node-version-file": "nope" });
    expect(missing.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/does not exist/) as unknown,
    });
  });

  it("refuses another architecture", async () => {
    const other = arch() === "arm64" ? "x64" : "arm64";
    const { result } = await run({ "node-version": String(hostMajor), architecture: other });
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringMatching(new RegExp(`architecture '${other}'`)) as unknown,
    });
  });

  it("writes an .npmrc for registry-url and exports NPM_CONFIG_USERCONFIG and a placeholder token", async () => {
    const { context } = await run({ "registry-url": "https://npm.pkg.github.com" });
    const npmrc = join(base, "temp", ".npmrc");
    expect(context.exported).toEqual({
      NPM_CONFIG_USERCONFIG: npmrc,
      NODE_AUTH_TOKEN: "XXXXX-XXXXX-XXXXX-XXXXX",
    });
    expect(await readFile(npmrc, "utf8")).toContain("@octo:registry=https://npm.pkg.github.com/");
  });

  it("caches npm's cache folder under GitHub's key shape: miss, save in post, hit in the next job", async () => {
    const npmCache = join(base, "npm-cache");
    const env = { npm_config_cache: npmCache };
    await writeFile(join(workspace, "package-lock.json"), '{"lockfileVersion":3}');
    const hash = hashFiles(workspace, ["package-lock.json"]);
    const key = `node-cache-Linux-${arch()}-npm-${hash.ok ? hash.value : ""}`;

    const first = await run({ "node-version": String(hostMajor), cache: "npm" }, { env });
    expect(first.result.ok).toBe(true);
    expect(first.context.outputs["cache-hit"]).toBe("false");
    expect(first.context.state.CACHE_KEY).toBe(key);
    expect(first.context.state.CACHE_PATHS).toBe(JSON.stringify([npmCache]));
    await mkdir(join(npmCache, "_cacache"), { recursive: true });
    await writeFile(join(npmCache, "_cacache", "entry"), "tarball");
    const post = await run({ cache: "npm" }, { env, which: "post", state: first.context.state });
    expect(post.result.ok).toBe(true);
    expect(post.context.logs).toContain(`Cache saved with the key: ${key}`);

    await rm(npmCache, { recursive: true });
    const second = await run({ "node-version": String(hostMajor), cache: "npm" }, { env });
    expect(second.context.outputs["cache-hit"]).toBe("true");
    expect(await readFile(join(npmCache, "_cacache", "entry"), "utf8")).toBe("tarball");
    const secondPost = await run({ cache: "npm" }, { env, which: "post", state: second.context.state });
    expect(secondPost.context.logs).toContain(
      `Cache hit occurred on the primary key ${key}, not saving cache.`,
    );
  });

  it("uses cache-dependency-path, and fails without a lock file or for an unknown manager", async () => {
    const env = { npm_config_cache: join(base, "npm-cache") };
    const noLock = await run({ cache: "npm" }, { env });
    expect(noLock.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Dependencies lock file is not found/) as unknown,
    });
    await mkdir(join(workspace, "sub"));
    await writeFile(join(workspace, "sub", "package-lock.json"), "{}");
    const withPath = await run({ cache: "npm", "cache-dependency-path": "sub/package-lock.json" }, { env });
    expect(withPath.result.ok).toBe(true);
    const unknown = await run({ cache: "bun" }, { env });
    expect(unknown.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Caching for 'bun' is not supported/) as unknown,
    });
  });
});
