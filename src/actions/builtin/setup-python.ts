/**
 * `actions/setup-python` (v4/v5 inputs) offline: the host's `python3` (else `python`) is used when
 * it satisfies `python-version` (or `python-version-file`, or `.python-version`), and the step fails
 * with what to do when it does not. A folder with `python`/`python3` (and `pip`/`pip3` when the
 * interpreter has them) pointing at that interpreter goes first on PATH, so `python` resolves even on
 * hosts that only have `python3`; with `update-environment` the real action's variables are set
 * (`pythonLocation`, `Python_ROOT_DIR`, ...; not LD_LIBRARY_PATH, which a host install does not need).
 * `cache: pip|pipenv` restores and saves with setup-python's key shape.
 *
 * Not available offline: PyPy and GraalPy, free-threaded builds, other versions than the host's.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, symlink } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { findExecutable, runCommand } from "./commands.js";
import { hashDependencyFiles, restoreDependencies, runnerOs, saveDependencies } from "./dependency-cache.js";
import type { Checked } from "./inputs.js";
import {
  checked,
  failedWith,
  readFlag,
  readInput,
  readInputLines,
  refused,
  SUCCEEDED,
  unavailable,
} from "./inputs.js";
import type { BuiltinAction, BuiltinContext, BuiltinResult } from "./types.js";
import { parseVersion, parseVersionRange, satisfies } from "./version-range.js";

export interface HostPython {
  /** The command found on PATH (`python3` or `python`). */
  readonly command: string;
  /** `3.11.7`, as `platform.python_version()` prints it. */
  readonly version: string;
  /** `sys.executable`: the interpreter itself, shims resolved. */
  readonly executable: string;
  /** `sys.prefix`, the real action's `pythonLocation`. */
  readonly prefix: string;
  readonly implementation: string;
}

/** Whether the host's interpreter satisfies one `python-version` line. */
export function checkPythonVersion(spec: string, host: HostPython): Checked<{ note?: string }> {
  const text = spec.trim();
  const lower = text.toLowerCase();
  if (/^(pypy|graalpy)/.test(lower)) {
    return unavailable(
      `python-version '${text}' asks for ${lower.startsWith("pypy") ? "PyPy" : "GraalPy"}, but this host's ${host.command} is ` +
        `${host.implementation} ${host.version}. Conveyor runs actions/setup-python offline with the host's interpreter: ` +
        `install that interpreter and put it first on PATH as python3, or use a CPython version.`,
    );
  }
  if (/^\d+(\.\d+)*t$/.test(lower)) {
    return unavailable(
      `python-version '${text}' asks for a free-threaded build, which Conveyor cannot provide offline. Use '${text.slice(0, -1)}' to run with this host's Python ${host.version}.`,
    );
  }
  const development = lower.endsWith("-dev");
  const rangeText = development ? text.slice(0, -"-dev".length) : text;
  const hostVersion = parseVersion(host.version);
  const range = parseVersionRange(rangeText);
  if (!range.ok || hostVersion === undefined) {
    return refused(
      `python-version '${text}' is not a version Conveyor can read. Use e.g. '3.12', '3.x' or '>=3.9'.`,
    );
  }
  if (!satisfies(hostVersion, range.value)) {
    const minor = host.version.split(".").slice(0, 2).join(".");
    return unavailable(
      `python-version '${text}' does not match this host's Python ${host.version} (${host.executable}). ` +
        `Conveyor runs actions/setup-python offline with the python3 found on PATH: install a Python that satisfies '${text}' ` +
        `and put it first on PATH (pyenv, uv python, or your package manager), or change python-version to match (e.g. '${minor}').`,
    );
  }
  return checked(
    development
      ? {
          note: `python-version '${text}' allows a development build; using this host's Python ${host.version}.`,
        }
      : {},
  );
}

/** Versions listed in a version file, as setup-python reads `.python-version`, `.tool-versions` and pyproject.toml. */
export function pythonVersionsFromFile(fileName: string, contents: string): string[] {
  const name = basename(fileName);
  if (name === "pyproject.toml") {
    const requires =
      tomlString(contents, "project", "requires-python") ??
      tomlString(contents, "tool.poetry.dependencies", "python");
    return requires === undefined ? [] : [requires];
  }
  const lines = contents
    .split(/\r\n|\r|\n/)
    .map((line) => (line.split("#")[0] ?? "").trim())
    .filter((line) => line !== "");
  if (name === ".tool-versions") {
    return lines.flatMap((line) => {
      const match = /^python\s+(.+)$/.exec(line);
      return match?.[1] ? match[1].split(/\s+/) : [];
    });
  }
  return lines;
}

/** A `key = "value"` string in a TOML table: just enough TOML for requires-python. */
function tomlString(contents: string, table: string, key: string): string | undefined {
  let current = "";
  for (const raw of contents.split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = (header[1] ?? "").trim();
      continue;
    }
    if (current !== table) continue;
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*(["'])(.*)\2\s*(#.*)?$/.exec(line);
    if (pair && pair[1] === key) return pair[3];
  }
  return undefined;
}

async function resolveVersionSpecs(context: BuiltinContext): Promise<Checked<string[]>> {
  const versions = readInputLines(context, "python-version");
  const versionFile = readInput(context, "python-version-file");
  if (versions.length > 0 && versionFile !== "") {
    context.warning(
      "Both python-version and python-version-file inputs are specified, only python-version will be used.",
    );
  }
  if (versions.length > 0) return checked(versions);
  if (versionFile !== "") {
    const path = resolve(context.workspace, versionFile);
    if (!existsSync(path)) return refused(`The specified python version file at: ${path} doesn't exist.`);
    const found = pythonVersionsFromFile(path, await readFile(path, "utf8"));
    if (found.length === 0) return refused(`No versions found in ${versionFile}`);
    context.log(`Resolved ${versionFile} as ${found.join(", ")}`);
    return checked(found);
  }
  context.warning(
    "Neither 'python-version' nor 'python-version-file' inputs were supplied. Attempting to find '.python-version' file.",
  );
  const fallback = resolve(context.workspace, ".python-version");
  if (!existsSync(fallback)) {
    context.warning(".python-version doesn't exist.");
    return checked([]);
  }
  return checked(pythonVersionsFromFile(fallback, await readFile(fallback, "utf8")));
}

const PROBE = [
  "import json, platform, sys",
  "print(json.dumps({'version': platform.python_version(), 'executable': sys.executable, 'prefix': sys.prefix, 'implementation': platform.python_implementation()}))",
].join("\n");

async function probeHostPython(context: BuiltinContext): Promise<Checked<HostPython>> {
  for (const command of ["python3", "python"]) {
    const path = findExecutable(command, context.env);
    if (!path) continue;
    const result = await runCommand(path, ["-c", PROBE], {
      cwd: context.workspace,
      env: context.env,
      signal: context.signal,
    });
    if (result.exitCode !== 0) continue; // e.g. a pyenv shim with no version selected, or Python 2
    const parsed = JSON.parse(result.stdout) as Omit<HostPython, "command">;
    return checked({ command: path, ...parsed });
  }
  return unavailable(
    "No python3 or python on PATH. Conveyor runs actions/setup-python offline with the host's interpreter: install Python 3 and put it on PATH.",
  );
}

/** A folder with `python`, `python3` (and pip's names) pointing at the chosen interpreter. */
async function linkFolder(context: BuiltinContext, host: HostPython): Promise<string> {
  const folder = join(context.runnerTemp, "conveyor-python", "bin");
  await mkdir(folder, { recursive: true });
  const links: [string, string][] = [
    ["python", host.executable],
    ["python3", host.executable],
  ];
  for (const pip of ["pip", "pip3"]) {
    const target = join(dirname(host.executable), pip);
    if (existsSync(target)) links.push([pip, target]);
  }
  for (const [name, target] of links) {
    await rm(join(folder, name), { force: true });
    await symlink(target, join(folder, name));
  }
  return folder;
}

async function linuxRelease(): Promise<{ name: string; version: string }> {
  const text = await readFile("/etc/os-release", "utf8").catch(() => "");
  const field = (key: string): string => new RegExp(`^${key}="?([^"\\n]*)"?`, "m").exec(text)?.[1] ?? "";
  // lsb_release -i prints the distribution's first name (`Debian`, `Ubuntu`): the key part setup-python uses.
  return { name: field("NAME").split(" ")[0] ?? "", version: field("VERSION_ID") };
}

interface PythonPackageManager {
  readonly defaultDependencyPaths: readonly (readonly string[])[];
  folders(context: BuiltinContext, host: HostPython): Promise<string[]>;
  readonly withRestoreKey: boolean;
}

const PYTHON_PACKAGE_MANAGERS: Readonly<Record<string, PythonPackageManager>> = {
  pip: {
    // requirements files first, pyproject.toml when there are none (setup-python's fallback).
    defaultDependencyPaths: [["**/requirements.txt"], ["**/pyproject.toml"]],
    folders: async (context, host) => {
      const result = await runCommand(host.executable, ["-m", "pip", "cache", "dir"], {
        cwd: context.workspace,
        env: context.env,
        signal: context.signal,
      });
      const folder = result.exitCode === 0 ? result.stdout.trim() : "";
      return [folder !== "" ? folder : join(context.env.HOME ?? homedir(), ".cache", "pip")];
    },
    withRestoreKey: true,
  },
  pipenv: {
    defaultDependencyPaths: [["**/Pipfile.lock"]],
    folders: async (context) => [join(context.env.HOME ?? homedir(), ".local", "share", "virtualenvs")],
    withRestoreKey: false,
  },
};

async function restorePythonCache(
  context: BuiltinContext,
  managerName: string,
  host: HostPython,
): Promise<Checked<boolean>> {
  const manager = PYTHON_PACKAGE_MANAGERS[managerName];
  if (!manager) {
    return refused(
      `Caching for '${managerName}' is not supported by Conveyor's built-in setup-python (pip and pipenv are). Cache its folders with actions/cache.`,
    );
  }
  const given = readInputLines(context, "cache-dependency-path");
  let hash = "";
  const tried = given.length > 0 ? [given] : manager.defaultDependencyPaths;
  for (const patterns of tried) {
    const result = hashDependencyFiles(context, patterns);
    if (!result.ok) return result;
    hash = result.value;
    if (hash !== "") break;
  }
  if (hash === "") {
    return refused(
      `No file in ${context.workspace} matched to [${tried.map((p) => p.join(",")).join(" or ")}], make sure you have checked out the target repository`,
    );
  }
  const os = runnerOs(context.env);
  const release = os === "Linux" ? await linuxRelease() : undefined;
  const platform = release
    ? `${os}-${process.arch}-${release.version}-${release.name}`
    : `${os}-${process.arch}`;
  const prefix = `setup-python-${platform}-python-${host.version}-${managerName}`;
  const primaryKey = `${prefix}-${hash}`;
  const restored = await restoreDependencies(context, {
    manager: managerName,
    paths: await manager.folders(context, host),
    primaryKey,
    restoreKeys: manager.withRestoreKey ? [prefix] : [],
  });
  return restored.ok ? checked(restored.value === primaryKey) : restored;
}

async function setupPython(context: BuiltinContext): Promise<BuiltinResult> {
  const specs = await resolveVersionSpecs(context);
  if (!specs.ok) return failedWith(specs.message);
  if (readFlag(context, "freethreaded", false)) {
    return failedWith(
      "freethreaded: true asks for a free-threaded Python build, which Conveyor cannot provide offline. Remove it to use the host's Python.",
      true,
    );
  }
  const host = await probeHostPython(context);
  if (!host.ok) return failedWith(host.message, host.unavailableOnHost);
  for (const spec of specs.value) {
    const fits = checkPythonVersion(spec, host.value);
    if (!fits.ok) return failedWith(fits.message, fits.unavailableOnHost);
    if (fits.value.note) context.notice(fits.value.note);
  }
  if (specs.value.length > 1) {
    context.log(
      `Several versions were asked for (${specs.value.join(", ")}); this host has one Python, ${host.value.version}, and it satisfies them all.`,
    );
  }
  const architecture = readInput(context, "architecture");
  if (architecture !== "" && architecture.toLowerCase() !== process.arch) {
    return failedWith(
      `architecture '${architecture}' was asked for, but this host is ${process.arch}. Remove architecture, or run on a ${architecture} host.`,
      true,
    );
  }
  context.log(`Using this host's Python ${host.value.version} (${host.value.executable})`);
  if (readFlag(context, "update-environment", true)) {
    const prefix = host.value.prefix;
    context.exportVariable("pythonLocation", prefix);
    context.exportVariable("PKG_CONFIG_PATH", join(prefix, "lib", "pkgconfig"));
    context.exportVariable("Python_ROOT_DIR", prefix);
    context.exportVariable("Python2_ROOT_DIR", prefix);
    context.exportVariable("Python3_ROOT_DIR", prefix);
    // Added last so it comes first: `python` is the chosen interpreter, whatever else PATH holds.
    context.addPath(dirname(host.value.executable));
    context.addPath(await linkFolder(context, host.value));
  }
  context.setOutput("python-version", host.value.version);
  context.setOutput("python-path", host.value.executable);
  const cache = readInput(context, "cache");
  if (cache !== "") {
    const restored = await restorePythonCache(context, cache, host.value);
    if (!restored.ok) return failedWith(restored.message);
    context.setOutput("cache-hit", String(restored.value));
  }
  return SUCCEEDED;
}

async function savePythonCache(context: BuiltinContext): Promise<BuiltinResult> {
  const cache = readInput(context, "cache");
  return cache === "" ? SUCCEEDED : saveDependencies(context, cache);
}

export const setupPythonAction: BuiltinAction = {
  name: "actions/setup-python",
  inputs: {
    "python-version": {},
    "python-version-file": {},
    cache: {},
    architecture: {},
    "check-latest": { default: "false" },
    token: {},
    "cache-dependency-path": {},
    "update-environment": { default: "true" },
    "allow-prereleases": { default: "false" },
    freethreaded: { default: "false" },
  },
  main: setupPython,
  post: savePythonCache,
  postIf: "success()",
};
