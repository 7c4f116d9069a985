import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FileArtifactStore } from "../../local/artifact-store.js";
import { FileCacheStore } from "../../local/cache-store.js";
import { checkPythonVersion, pythonVersionsFromFile, setupPythonAction } from "./setup-python.js";
import type { HostPython } from "./setup-python.js";
import { recordingContext } from "./test-context.js";
import type { RecordingContext } from "./test-context.js";
import type { BuiltinResult } from "./types.js";

/** This host's python3, as the action finds it. */
let host: { version: string; executable: string; minor: string };
beforeAll(() => {
  const probe = "import json,platform,sys;print(json.dumps([platform.python_version(), sys.executable]))";
  const [version, executable] = JSON.parse(execFileSync("python3", ["-c", probe], { encoding: "utf8" })) as [
    string,
    string,
  ];
  host = { version, executable, minor: version.split(".").slice(0, 2).join(".") };
});

let base: string;
let workspace: string;
let caches: FileCacheStore;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "conveyor-setup-python-"));
  workspace = join(base, "workspace");
  await mkdir(workspace);
  caches = new FileCacheStore(join(base, "store"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function run(
  inputs: Record<string, string>,
  options: { env?: Record<string, string>; which?: "main" | "post"; state?: Record<string, string> } = {},
): Promise<{ result: BuiltinResult; context: RecordingContext }> {
  const context = recordingContext({
    action: setupPythonAction,
    inputs,
    workspace,
    runnerTemp: join(base, "temp"),
    env: { HOME: process.env.HOME ?? "", ...options.env },
    artifacts: new FileArtifactStore(join(base, "store"), "1"),
    caches,
    ...(options.state ? { state: options.state } : {}),
  });
  const body = options.which === "post" ? setupPythonAction.post : setupPythonAction.main;
  if (!body) throw new Error("no such step");
  return { result: await body(context), context };
}

describe("checkPythonVersion", () => {
  const python: HostPython = {
    command: "/usr/bin/python3",
    version: "3.11.7",
    executable: "/usr/bin/python3.11",
    prefix: "/usr",
    implementation: "CPython",
  };
  it.each(["3.11", "3.x", "3", ">=3.9", "3.11.7", ">=3.9,<3.13", "~=3.10", "3.11-dev"])(
    "accepts %s for 3.11.7",
    (spec) => {
      expect(checkPythonVersion(spec, python).ok).toBe(true);
    },
  );
  it.each(["3.10", "3.12", "2.7", "<3.11"])("refuses %s, naming the host's Python and what to do", (spec) => {
    const checked = checkPythonVersion(spec, python);
    expect(checked).toMatchObject({
      ok: false,
      message: expect.stringContaining(
        "does not match this host's Python 3.11.7 (/usr/bin/python3.11)",
      ) as unknown,
    });
    expect(!checked.ok && checked.message).toMatch(/change python-version to match \(e\.g\. '3\.11'\)/);
  });
  it("refuses PyPy, GraalPy and free-threaded builds clearly", () => {
    expect(checkPythonVersion("pypy3.10", python)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/PyPy.*CPython 3\.11\.7/) as unknown,
    });
    expect(checkPythonVersion("graalpy-24", python)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/GraalPy/) as unknown,
    });
    expect(checkPythonVersion("3.13t", python)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/free-threaded/) as unknown,
    });
  });
});

describe("python version files", () => {
  it("reads .python-version lines, .tool-versions and pyproject.toml", () => {
    expect(pythonVersionsFromFile(".python-version", "# comment\n3.11\n\n3.12 # trailing\n")).toEqual([
      "3.11",
      "3.12",
    ]);
    expect(pythonVersionsFromFile("/x/.tool-versions", "nodejs 20\npython 3.11.2 3.10\n")).toEqual([
      "3.11.2",
      "3.10",
    ]);
    expect(
      pythonVersionsFromFile("pyproject.toml", '[project]\nname = "x"\nrequires-python = ">=3.9"\n'),
    ).toEqual([">=3.9"]);
    expect(
      pythonVersionsFromFile("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.10"\n'),
    ).toEqual(["^3.10"]);
    expect(pythonVersionsFromFile("pyproject.toml", "[project]\nname = 'x'\n")).toEqual([]);
  });
});

describe("actions/setup-python with this host's python3", () => {
  it("accepts a matching version, makes `python` resolve to it first on PATH and sets the outputs", async () => {
    const { result, context } = await run({ "python-version": host.minor });
    expect(result.ok).toBe(true);
    expect(context.outputs).toEqual({ "python-version": host.version, "python-path": host.executable });
    const links = join(base, "temp", "conveyor-python", "bin");
    expect(context.addedPaths.at(-1)).toBe(links);
    expect(await readlink(join(links, "python"))).toBe(host.executable);
    const reported = execFileSync(
      join(links, "python"),
      ["-c", "import platform;print(platform.python_version())"],
      { encoding: "utf8" },
    );
    expect(reported.trim()).toBe(host.version);
    expect(context.exported.pythonLocation).toBeDefined();
    expect(context.exported.Python3_ROOT_DIR).toBe(context.exported.pythonLocation);
  });

  it("leaves PATH and the environment alone with update-environment: false", async () => {
    const { context } = await run({ "python-version": host.minor, "update-environment": "false" });
    expect(context.addedPaths).toEqual([]);
    expect(context.exported).toEqual({});
    expect(context.outputs["python-version"]).toBe(host.version);
  });

  it("fails for another version, naming the host version", async () => {
    const { result } = await run({ "python-version": "3.2" });
    expect(result).toMatchObject({
      ok: false,
      message: expect.stringContaining(`does not match this host's Python ${host.version}`) as unknown,
    });
  });

  it("reads python-version-file and falls back to .python-version", async () => {
    await writeFile(join(workspace, "pyproject.toml"), `[project]\nrequires-python = ">=${host.minor}"\n`);
    const fromFile = await run({ "python-version-file": "pyproject.toml" });
    expect(fromFile.result.ok).toBe(true);
    expect(fromFile.context.logs).toContain(`Resolved pyproject.toml as >=${host.minor}`);
    await writeFile(join(workspace, ".python-version"), "2.7\n");
    const fallback = await run({});
    expect(fallback.context.warnings[0]).toMatch(/Attempting to find '\.python-version' file/);
    expect(fallback.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/'2\.7' does not match/) as unknown,
    });
    const missing = await run({ "python-version-file": "nope.txt" });
    expect(missing.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/doesn't exist/) as unknown,
    });
  });

  it("caches pip's folder under setup-python's key: miss, save in post, exact hit next time", async () => {
    const pipCache = join(base, "pip-cache");
    const env = { PIP_CACHE_DIR: pipCache };
    await writeFile(join(workspace, "requirements.txt"), "requests==2.0\n");
    const first = await run({ "python-version": host.minor, cache: "pip" }, { env });
    expect(first.result.ok).toBe(true);
    expect(first.context.outputs["cache-hit"]).toBe("false");
    expect(first.context.state.CACHE_KEY).toMatch(
      new RegExp(
        `^setup-python-Linux-${process.arch}-.*-python-${host.version.replace(/\./g, "\\.")}-pip-[0-9a-f]{64}$`,
      ),
    );
    expect(JSON.parse(first.context.state.CACHE_PATHS ?? "[]")).toEqual([pipCache]);
    await mkdir(join(pipCache, "http"), { recursive: true });
    await writeFile(join(pipCache, "http", "wheel"), "whl");
    const post = await run({ cache: "pip" }, { env, which: "post", state: first.context.state });
    expect(post.context.logs.some((line) => line.startsWith("Cache saved with the key:"))).toBe(true);

    await rm(pipCache, { recursive: true });
    const second = await run({ "python-version": host.minor, cache: "pip" }, { env });
    expect(second.context.outputs["cache-hit"]).toBe("true");
    expect(await readFile(join(pipCache, "http", "wheel"), "utf8")).toBe("whl");
  });

  it("restores a partial pip match (another requirements hash) without calling it a hit", async () => {
    const env = { PIP_CACHE_DIR: join(base, "pip-cache") };
    await writeFile(join(workspace, "requirements.txt"), "a==1\n");
    const first = await run({ "python-version": host.minor, cache: "pip" }, { env });
    await mkdir(join(base, "pip-cache"), { recursive: true });
    await writeFile(join(base, "pip-cache", "x"), "x");
    await run({ cache: "pip" }, { env, which: "post", state: first.context.state });
    await writeFile(join(workspace, "requirements.txt"), "a==2\n");
    const second = await run({ "python-version": host.minor, cache: "pip" }, { env });
    expect(second.context.outputs["cache-hit"]).toBe("false");
    expect(second.context.state.CACHE_RESULT).toBe(first.context.state.CACHE_KEY);
  });

  it("fails when no dependency file matches, and for managers it does not cache", async () => {
    const none = await run({ "python-version": host.minor, cache: "pip" });
    expect(none.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /No file in .* matched to \[\*\*\/requirements\.txt or \*\*\/pyproject\.toml\]/,
      ) as unknown,
    });
    const poetry = await run({ "python-version": host.minor, cache: "poetry" });
    expect(poetry.result).toMatchObject({
      ok: false,
      message: expect.stringMatching(/'poetry' is not supported.*actions\/cache/) as unknown,
    });
    expect(existsSync(join(base, "store", "caches"))).toBe(false);
  });
});
