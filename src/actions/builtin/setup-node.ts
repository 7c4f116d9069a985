/**
 * `actions/setup-node` (v3/v4 inputs) offline: nothing is downloaded; the Node on the job's PATH
 * (else the one running Conveyor) is used when it satisfies `node-version` (or
 * `node-version-file`), and the step fails with what to do when it does not. Its folder goes first
 * on PATH, as the real action puts the tool cache's. `registry-url` writes the same `.npmrc` the real
 * action does; `cache: npm|yarn|pnpm` restores and saves the package manager's cache folder with
 * GitHub's key shape (`node-cache-<RUNNER_OS>-<arch>-<manager>-<hashFiles(lock files)>`).
 *
 * Not done offline: `check-latest` (nothing to check), problem matchers, `mirror`, yarn's
 * per-project cache folders (the root project's folder is used).
 */
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { findExecutable, runCommand } from "./commands.js";
import {
  hashDependencyFiles,
  restoreDependencies,
  runnerArch,
  runnerOs,
  saveDependencies,
} from "./dependency-cache.js";
import type { Checked } from "./inputs.js";
import { checked, failedWith, readInput, readInputLines, refused, SUCCEEDED, unavailable } from "./inputs.js";
import type { BuiltinAction, BuiltinContext, BuiltinResult } from "./types.js";
import { parseVersion, parseVersionRange, satisfies } from "./version-range.js";

export interface HostNode {
  readonly path: string;
  /** `v20.11.1`, as `node --version` prints it. */
  readonly version: string;
  /** The release line's codename (`Iron`) when the release is LTS. */
  readonly lts?: string;
  readonly arch: string;
}

/** Whether the host's Node satisfies a setup-node version spec; a note for specs offline can only approximate. */
export function checkNodeVersion(spec: string, host: HostNode): Checked<{ note?: string }> {
  const text = spec.trim();
  const lower = text.toLowerCase();
  const hostVersion = parseVersion(host.version);
  if (!hostVersion)
    return refused(`This host's node reports the version '${host.version}', which Conveyor cannot read.`);
  const hostLine = host.lts ? `${host.version} (LTS '${host.lts}')` : `${host.version} (not an LTS release)`;
  if (["latest", "current", "node"].includes(lower)) {
    return checked({
      note: `node-version '${text}' asks for the newest release; offline, Conveyor uses this host's Node ${host.version}.`,
    });
  }
  if (lower === "lts/*" || /^lts\/-\d+$/.test(lower)) {
    return checked({
      note: `node-version '${text}' names an LTS line; offline, Conveyor uses this host's Node ${hostLine}.`,
    });
  }
  if (lower.startsWith("lts/")) {
    return host.lts && lower === `lts/${host.lts.toLowerCase()}`
      ? checked({})
      : unavailable(mismatch(text, host));
  }
  const prerelease = /^(.*?)-(nightly|canary|rc)\b/i.exec(text);
  const rangeText = prerelease ? (prerelease[1] ?? "") : text;
  const range = parseVersionRange(rangeText);
  if (!range.ok)
    return refused(
      `node-version '${text}' is not a version Conveyor can read. Use e.g. '20', '20.x', '>=18' or 'lts/*'.`,
    );
  if (!satisfies(hostVersion, range.value)) return unavailable(mismatch(text, host));
  return checked(
    prerelease
      ? {
          note: `node-version '${text}' asks for a ${prerelease[2]} build; offline, Conveyor uses this host's Node ${host.version}.`,
        }
      : {},
  );
}

function mismatch(spec: string, host: HostNode): string {
  const major = host.version.replace(/^v/, "").split(".")[0] ?? "";
  return (
    `node-version '${spec}' does not match this host's Node ${host.version} (${host.path}). ` +
    "Conveyor runs actions/setup-node offline with the Node found on PATH: install a Node that satisfies " +
    `'${spec}' and put it first on PATH (nvm, fnm, volta or your package manager), or change node-version to match (e.g. '${major}').`
  );
}

/**
 * The version a `node-version-file` asks for, as setup-node reads it: package.json's `volta.node`,
 * then `engines.node` (`volta.extends` is followed by the caller); otherwise the first line that
 * looks like a version (`.nvmrc`, `.node-version`, `.tool-versions`' `nodejs 20.1.0`).
 */
export function nodeVersionFromFile(contents: string): { version?: string; extends?: string } {
  try {
    const manifest = JSON.parse(contents) as unknown;
    if (typeof manifest === "object" && manifest !== null) {
      const record = manifest as {
        volta?: { node?: unknown; extends?: unknown };
        engines?: { node?: unknown };
      };
      if (typeof record.volta?.node === "string") return { version: record.volta.node };
      if (typeof record.engines?.node === "string") return { version: record.engines.node };
      if (typeof record.volta?.extends === "string") return { extends: record.volta.extends };
      return {};
    }
  } catch {
    // not JSON: a plain version file
  }
  const found = /^(?:node(?:js)?\s+)?v?(?<version>[^\s]+)$/m.exec(contents);
  const version = found?.groups?.version ?? contents.trim();
  return version === "" ? {} : { version };
}

async function resolveVersionSpec(context: BuiltinContext): Promise<Checked<string>> {
  const version = readInput(context, "node-version");
  const versionFile = readInput(context, "node-version-file");
  if (version !== "" && versionFile !== "") {
    context.warning(
      "Both node-version and node-version-file inputs are specified, only node-version will be used",
    );
  }
  if (version !== "" || versionFile === "") return checked(version);
  let path = resolve(context.workspace, versionFile);
  for (let hops = 0; hops < 10; hops++) {
    if (!existsSync(path)) return refused(`The specified node version file at: ${path} does not exist`);
    const read = nodeVersionFromFile(await readFile(path, "utf8"));
    if (read.extends !== undefined) {
      path = resolve(dirname(path), read.extends);
      context.log(`Resolving node version from ${path}`);
      continue;
    }
    if (read.version === undefined) {
      return refused(
        `${versionFile} does not say which Node to use (no volta.node or engines.node). Add one, or use node-version.`,
      );
    }
    context.log(`Resolved ${versionFile} as ${read.version}`);
    return checked(read.version);
  }
  return refused(`${versionFile}: too many volta.extends hops.`);
}

async function probeHostNode(context: BuiltinContext): Promise<Checked<HostNode>> {
  const path = findExecutable("node", context.env) ?? process.execPath;
  const script =
    "console.log(JSON.stringify({version:process.version,lts:process.release.lts||null,arch:process.arch}))";
  const result = await runCommand(path, ["-e", script], {
    cwd: context.workspace,
    env: context.env,
    signal: context.signal,
  });
  if (result.exitCode !== 0)
    return refused(`Could not run ${path} to read its version: ${result.stderr.trim()}`);
  const parsed = JSON.parse(result.stdout) as { version: string; lts: string | null; arch: string };
  return checked({
    path,
    version: parsed.version,
    arch: parsed.arch,
    ...(parsed.lts ? { lts: parsed.lts } : {}),
  });
}

/** The `.npmrc` lines setup-node writes for `registry-url` (and `scope`). */
export function npmrcContents(
  existing: string,
  registryUrl: string,
  scope: string,
  alwaysAuth: string,
): string {
  const registry = registryUrl.endsWith("/") ? registryUrl : `${registryUrl}/`;
  const scoped = scope === "" ? "" : `${(scope.startsWith("@") ? scope : `@${scope}`).toLowerCase()}:`;
  const kept = existing
    .split(/\r?\n/)
    .filter((line) => line !== "" && !line.toLowerCase().startsWith(`${scoped}registry`));
  const auth = `${registry.replace(/^\w+:/, "")}:_authToken=\${NODE_AUTH_TOKEN}`;
  return [...kept, auth, `${scoped}registry=${registry}`, `always-auth=${alwaysAuth}`].join("\n");
}

async function configureRegistry(context: BuiltinContext, registryUrl: string): Promise<void> {
  let scope = readInput(context, "scope");
  if (scope === "" && registryUrl.includes("npm.pkg.github.com"))
    scope = context.run.repository.split("/")[0] ?? "";
  const npmrc = join(context.runnerTemp, ".npmrc");
  const existing = existsSync(npmrc) ? await readFile(npmrc, "utf8") : "";
  await writeFile(
    npmrc,
    npmrcContents(existing, registryUrl, scope, readInput(context, "always-auth") || "false"),
  );
  context.exportVariable("NPM_CONFIG_USERCONFIG", npmrc);
  // As setup-node: a placeholder so npm does not complain before the job sets the real token.
  context.exportVariable("NODE_AUTH_TOKEN", context.env.NODE_AUTH_TOKEN ?? "XXXXX-XXXXX-XXXXX-XXXXX");
}

interface PackageManager {
  readonly lockFiles: readonly string[];
  /** The command printing the cache folder, by the manager's version. */
  cacheFolderCommand(context: BuiltinContext): Promise<Checked<readonly string[]>>;
}

const PACKAGE_MANAGERS: Readonly<Record<string, PackageManager>> = {
  npm: {
    lockFiles: ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock"],
    cacheFolderCommand: async () => checked(["npm", "config", "get", "cache"]),
  },
  pnpm: {
    lockFiles: ["pnpm-lock.yaml"],
    cacheFolderCommand: async () => checked(["pnpm", "store", "path", "--silent"]),
  },
  yarn: {
    lockFiles: ["yarn.lock"],
    cacheFolderCommand: async (context) => {
      const version = await commandOutput(context, ["yarn", "--version"]);
      if (!version.ok) return version;
      return checked(
        version.value.startsWith("1.") ? ["yarn", "cache", "dir"] : ["yarn", "config", "get", "cacheFolder"],
      );
    },
  },
};

async function commandOutput(context: BuiltinContext, command: readonly string[]): Promise<Checked<string>> {
  const [name = "", ...args] = command;
  const executable = findExecutable(name, context.env);
  if (!executable)
    return refused(`Unable to locate executable file: ${name}. Install it, or put it on PATH.`);
  const result = await runCommand(executable, args, {
    cwd: context.workspace,
    env: context.env,
    signal: context.signal,
  });
  if (result.exitCode !== 0) return refused(`\`${command.join(" ")}\` failed: ${result.stderr.trim()}`);
  return checked(result.stdout.trim());
}

async function restorePackageCache(context: BuiltinContext, managerName: string): Promise<Checked<boolean>> {
  const manager = PACKAGE_MANAGERS[managerName];
  if (!manager) return refused(`Caching for '${managerName}' is not supported. Use npm, yarn or pnpm.`);
  const command = await manager.cacheFolderCommand(context);
  if (!command.ok) return command;
  const folder = await commandOutput(context, command.value);
  if (!folder.ok) return folder;
  if (folder.value === "") return refused(`Could not get the cache folder path for ${managerName}.`);
  let patterns = readInputLines(context, "cache-dependency-path");
  if (patterns.length === 0) {
    const rootContent = await readdir(context.workspace);
    const lockFile = manager.lockFiles.find((name) => rootContent.includes(name));
    if (!lockFile) {
      return refused(
        `Dependencies lock file is not found in ${context.workspace}. Supported file patterns: ${manager.lockFiles.join(",")}`,
      );
    }
    patterns = [lockFile];
  }
  const hash = hashDependencyFiles(context, patterns);
  if (!hash.ok) return hash;
  if (hash.value === "")
    return refused("Some specified paths were not resolved, unable to cache dependencies.");
  const prefix = `node-cache-${runnerOs(context.env)}-${runnerArch()}-${managerName}`;
  const restored = await restoreDependencies(context, {
    manager: managerName,
    paths: [resolve(context.workspace, folder.value)],
    primaryKey: `${prefix}-${hash.value}`,
    restoreKeys: [],
  });
  return restored.ok ? checked(restored.value !== undefined) : restored;
}

async function setupNode(context: BuiltinContext): Promise<BuiltinResult> {
  const spec = await resolveVersionSpec(context);
  if (!spec.ok) return failedWith(spec.message);
  const host = await probeHostNode(context);
  if (!host.ok) return failedWith(host.message);
  if (spec.value !== "") {
    const fits = checkNodeVersion(spec.value, host.value);
    if (!fits.ok) return failedWith(fits.message, fits.unavailableOnHost);
    if (fits.value.note) context.notice(fits.value.note);
  }
  const architecture = readInput(context, "architecture");
  if (architecture !== "" && architecture.toLowerCase() !== host.value.arch) {
    return failedWith(
      `architecture '${architecture}' was asked for, but this host's Node is ${host.value.arch}. Remove architecture, or run on a ${architecture} host.`,
      true,
    );
  }
  if (readInput(context, "check-latest").toLowerCase() === "true") {
    context.log("check-latest has no effect offline: the host's Node is used as it is.");
  }
  context.log(
    `Using this host's Node ${host.value.version} (${host.value.path})${spec.value ? ` for node-version '${spec.value}'` : ""}`,
  );
  context.addPath(dirname(host.value.path));

  const registryUrl = readInput(context, "registry-url");
  if (registryUrl !== "") await configureRegistry(context, registryUrl);

  const cache = readInput(context, "cache");
  if (cache !== "") {
    const restored = await restorePackageCache(context, cache);
    if (!restored.ok) return failedWith(restored.message);
    context.setOutput("cache-hit", String(restored.value));
  }
  context.setOutput("node-version", host.value.version);
  return SUCCEEDED;
}

async function saveNodeCache(context: BuiltinContext): Promise<BuiltinResult> {
  const cache = readInput(context, "cache");
  return cache === "" ? SUCCEEDED : saveDependencies(context, cache);
}

export const setupNodeAction: BuiltinAction = {
  name: "actions/setup-node",
  inputs: {
    "always-auth": { default: "false" },
    "node-version": {},
    "node-version-file": {},
    architecture: {},
    "check-latest": { default: "false" },
    "registry-url": {},
    scope: {},
    token: {},
    cache: {},
    "cache-dependency-path": {},
    mirror: {},
    "mirror-token": {},
  },
  main: setupNode,
  post: saveNodeCache,
  postIf: "success()",
};
