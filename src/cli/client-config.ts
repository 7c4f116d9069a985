/**
 * Where the `conveyor` CLI finds its server and token: flags, else CONVEYOR_SERVER and
 * CONVEYOR_TOKEN, else the file `conveyor login` (or the first `conveyor up`) saved, readable by
 * its owner only: `$XDG_CONFIG_HOME/conveyor/client.json` (default ~/.config/conveyor/client.json).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface ClientConfig {
  readonly server: string;
  readonly token: string;
}

export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "conveyor", "client.json");
}

export function saveClientConfig(config: ClientConfig, env: NodeJS.ProcessEnv = process.env): void {
  const path = clientConfigPath(env);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The saved config, or undefined when there is none (or it cannot be read as one). */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): Partial<ClientConfig> | undefined {
  const path = clientConfigPath(env);
  if (!existsSync(path)) return undefined;
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (!parsed || typeof parsed !== "object") return undefined;
    const { server, token } = parsed as Record<string, unknown>;
    return {
      server: typeof server === "string" ? server : undefined,
      token: typeof token === "string" ? token : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Flags first, then the environment, then the saved file. */
export function resolveClientConfig(
  flags: { readonly server?: string; readonly token?: string },
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; config: ClientConfig } | { ok: false; message: string } {
  const saved = loadClientConfig(env);
  const server = flags.server ?? env.CONVEYOR_SERVER ?? saved?.server;
  const token = flags.token ?? env.CONVEYOR_TOKEN ?? saved?.token;
  if (!server) {
    return {
      ok: false,
      message:
        "no server given: pass --server URL, set CONVEYOR_SERVER, or run `conveyor login --server URL --token T`.",
    };
  }
  if (!token) {
    return {
      ok: false,
      message:
        "no token given: pass --token T, set CONVEYOR_TOKEN, or run `conveyor login --server URL --token T`.",
    };
  }
  return { ok: true, config: { server: server.replace(/\/+$/, ""), token } };
}
