/**
 * `conveyor up`'s settings, from (strongest first) flags, environment variables, a config file and
 * defaults. docs/configuration.md lists every one; this table is its source. Pure: the caller reads
 * the file and the environment.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";

export interface UpSettings {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Empty: http://<host>:<port>. */
  readonly publicUrl: string;
  /** Slots of the built-in runner; 0 turns it off. */
  readonly runnerCapacity: number;
  /** Extra labels of the built-in runner. */
  readonly runnerLabels: readonly string[];
  /** runs-on names mapped to runner labels (over the built-in map). */
  readonly labelMap: Readonly<Record<string, string>>;
  /** The first administrator's password; empty: a random one, printed once. */
  readonly adminPassword: string;
  /** Bytes of caches kept per repository before the least recently used are evicted. */
  readonly cacheQuota: number;
  /** The largest artifact accepted, in bytes. */
  readonly artifactMaxSize: number;
  /** The most days an artifact is kept. */
  readonly artifactRetentionDays: number;
}

type Kind = "string" | "port" | "count" | "days" | "list" | "map" | "size";

interface SettingSpec {
  readonly key: keyof UpSettings;
  /** The config file's key. */
  readonly file: string;
  readonly env: string;
  readonly kind: Kind;
  readonly describe: string;
}

export const SETTINGS: readonly SettingSpec[] = [
  {
    key: "host",
    file: "host",
    env: "CONVEYOR_HOST",
    kind: "string",
    describe: "address to listen on (default 127.0.0.1)",
  },
  {
    key: "port",
    file: "port",
    env: "CONVEYOR_PORT",
    kind: "port",
    describe: "port to listen on (default 8080)",
  },
  {
    key: "dataDir",
    file: "dataDir",
    env: "CONVEYOR_DATA_DIR",
    kind: "string",
    describe: "database, repositories and logs (default ~/.local/share/conveyor)",
  },
  {
    key: "publicUrl",
    file: "publicUrl",
    env: "CONVEYOR_PUBLIC_URL",
    kind: "string",
    describe: "URL runners and people reach the server at (default http://<host>:<port>)",
  },
  {
    key: "runnerCapacity",
    file: "runner.capacity",
    env: "CONVEYOR_RUNNER_CAPACITY",
    kind: "count",
    describe: "jobs the built-in runner runs at once; 0 turns it off (default: the number of CPUs)",
  },
  {
    key: "runnerLabels",
    file: "runner.labels",
    env: "CONVEYOR_RUNNER_LABELS",
    kind: "list",
    describe: "extra labels of the built-in runner, comma-separated",
  },
  {
    key: "labelMap",
    file: "labelMap",
    env: "CONVEYOR_LABEL_MAP",
    kind: "map",
    describe:
      "runs-on names mapped to runner labels, `name=label,...` (ubuntu-latest=linux and friends are built in)",
  },
  {
    key: "adminPassword",
    file: "adminPassword",
    env: "CONVEYOR_ADMIN_PASSWORD",
    kind: "string",
    describe: "the first administrator's password (default: random, printed once)",
  },
  {
    key: "cacheQuota",
    file: "caches.quota",
    env: "CONVEYOR_CACHE_QUOTA",
    kind: "size",
    describe: "bytes of caches kept per repository, e.g. 10GiB or 500MB (default 10GiB)",
  },
  {
    key: "artifactMaxSize",
    file: "artifacts.maxSize",
    env: "CONVEYOR_ARTIFACT_MAX_SIZE",
    kind: "size",
    describe: "the largest artifact accepted, e.g. 10GiB or 500MB (default 10GiB)",
  },
  {
    key: "artifactRetentionDays",
    file: "artifacts.retentionDays",
    env: "CONVEYOR_ARTIFACT_RETENTION_DAYS",
    kind: "days",
    describe: "the most days an artifact is kept, 1 to 3650 (default 90)",
  },
];

export function defaultSettings(cpus: number): UpSettings {
  return {
    host: "127.0.0.1",
    port: 8080,
    dataDir: join(homedir(), ".local", "share", "conveyor"),
    publicUrl: "",
    runnerCapacity: Math.max(1, cpus),
    runnerLabels: [],
    labelMap: {},
    adminPassword: "",
    cacheQuota: 10 * 1024 ** 3,
    artifactMaxSize: 10 * 1024 ** 3,
    artifactRetentionDays: 90,
  };
}

export type SettingsResult = { ok: true; settings: UpSettings } | { ok: false; errors: string[] };

/**
 * Merges the sources. `flags` hold values as the command line gave them (strings), keyed like
 * UpSettings; `configText` is the config file's YAML (or JSON) and `configPath` names it in errors.
 */
export function resolveSettings(sources: {
  readonly defaults: UpSettings;
  readonly flags: Readonly<Partial<Record<keyof UpSettings, string>>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly configText?: string;
  readonly configPath?: string;
}): SettingsResult {
  const errors: string[] = [];
  let file: Record<string, unknown> = {};
  if (sources.configText !== undefined) {
    try {
      const parsed: unknown = parseYaml(sources.configText);
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== "object" || Array.isArray(parsed))
          errors.push(`${sources.configPath}: the config file must be a mapping of settings.`);
        else file = parsed as Record<string, unknown>;
      }
    } catch (e) {
      errors.push(`${sources.configPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const known = new Set(SETTINGS.map((s) => s.file.split(".")[0]));
  for (const key of Object.keys(file)) {
    if (!known.has(key))
      errors.push(`${sources.configPath}: unknown setting '${key}'; known: ${[...known].join(", ")}.`);
  }
  const settings: Record<string, unknown> = { ...sources.defaults };
  for (const spec of SETTINGS) {
    const fromFile = valueAtPath(file, spec.file);
    const candidates: [unknown, string][] = [
      [sources.flags[spec.key], `--${kebab(spec.key)}`],
      [sources.env[spec.env], spec.env],
      [fromFile, `${sources.configPath}: ${spec.file}`],
    ];
    const found = candidates.find(([value]) => value !== undefined && value !== "");
    if (!found) continue;
    const converted = convert(found[0], spec.kind);
    if (!converted.ok) errors.push(`${found[1]}: ${converted.message}`);
    else settings[spec.key] = converted.value;
  }
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, settings: settings as unknown as UpSettings };
}

function valueAtPath(object: Record<string, unknown>, path: string): unknown {
  let current: unknown = object;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function convert(value: unknown, kind: Kind): { ok: true; value: unknown } | { ok: false; message: string } {
  switch (kind) {
    case "string":
      return typeof value === "string" ? { ok: true, value } : { ok: false, message: "must be a string." };
    case "port":
    case "count": {
      const number = typeof value === "number" ? value : Number(String(value).trim());
      const max = kind === "port" ? 65_535 : 1_024;
      if (!Number.isInteger(number) || number < 0 || number > max) {
        return { ok: false, message: `must be a whole number from 0 to ${max}; got '${String(value)}'.` };
      }
      return { ok: true, value: number };
    }
    case "days": {
      const days = typeof value === "number" ? value : Number(String(value).trim());
      return Number.isInteger(days) && days >= 1 && days <= 3650
        ? { ok: true, value: days }
        : { ok: false, message: `must be a whole number of days from 1 to 3650; got '${String(value)}'.` };
    }
    case "size": {
      const size = parseSize(value);
      return size === undefined
        ? {
            ok: false,
            message: `must be a size such as 10GiB, 500MB or a number of bytes; got '${String(value)}'.`,
          }
        : { ok: true, value: size };
    }
    case "list": {
      const items = Array.isArray(value) ? value.map(String) : String(value).split(",");
      return { ok: true, value: items.map((s) => s.trim()).filter((s) => s.length > 0) };
    }
    case "map": {
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        return {
          ok: true,
          value: Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), String(v)])),
        };
      }
      const map: Record<string, string> = {};
      for (const pair of String(value)
        .split(",")
        .filter((p) => p.trim())) {
        const [name, label] = pair.split("=").map((s) => s.trim());
        if (!name || !label)
          return { ok: false, message: `'${pair}' is not name=label (e.g. ubuntu-latest=linux).` };
        map[name.toLowerCase()] = label;
      }
      return { ok: true, value: map };
    }
  }
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `10GiB`, `1.5 GB`, `500mb`, `1048576`: bytes, or undefined when it is not a size. */
export function parseSize(value: unknown): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(String(value).trim());
  const unit = SIZE_UNITS[(match?.[2] || "b").toLowerCase()];
  if (!match || unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
