/**
 * `conveyor up`: the whole system on this machine — the server, git hosting, the runner protocol
 * and a built-in runner — with settings from flags, environment variables and a config file
 * (docs/configuration.md).
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { UpSettings } from "../../server/settings.js";

interface UpFlags {
  readonly host?: string;
  readonly port?: string;
  readonly dataDir?: string;
  readonly publicUrl?: string;
  readonly runnerCapacity?: string;
  readonly runnerLabels?: string;
  readonly config?: string;
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description("start Conveyor on this machine: server, git hosting, dashboard API and a built-in runner")
    .option("--host <address>", "address to listen on (default 127.0.0.1)")
    .option("-p, --port <port>", "port to listen on (default 8080; 0 picks a free one)")
    .option(
      "-d, --data-dir <dir>",
      "where the database, repositories and logs live (default ~/.local/share/conveyor)",
    )
    .option("--public-url <url>", "the URL runners and people reach this server at")
    .option("--runner-capacity <n>", "jobs the built-in runner runs at once; 0 turns it off")
    .option("--runner-labels <labels>", "extra labels of the built-in runner, comma-separated")
    .option("-c, --config <file>", "a YAML config file (default <data dir>/config.yml when it exists)")
    .addHelpText(
      "after",
      `
Every setting can also come from an environment variable (CONVEYOR_PORT, CONVEYOR_DATA_DIR, ...)
or the config file; flags win over the environment, which wins over the file. See
docs/configuration.md.`,
    )
    .action(async (flags: UpFlags) => {
      process.exitCode = await up(flags);
    });
}

async function up(flags: UpFlags): Promise<number> {
  // Loaded only here: `conveyor run` never pays for the server's modules.
  const { defaultSettings, resolveSettings } = await import("../../server/settings.js");
  const defaults = defaultSettings(availableParallelism());
  const dataDirGuess = flags.dataDir ?? process.env.CONVEYOR_DATA_DIR ?? defaults.dataDir;
  const configPath = flags.config ?? join(dataDirGuess, "config.yml");
  if (flags.config && !existsSync(flags.config)) {
    process.stderr.write(`conveyor up: the config file ${flags.config} does not exist.\n`);
    return 2;
  }
  const resolved = resolveSettings({
    defaults,
    flags: {
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      publicUrl: flags.publicUrl,
      runnerCapacity: flags.runnerCapacity,
      runnerLabels: flags.runnerLabels,
    },
    env: process.env,
    configText: existsSync(configPath) ? readFileSync(configPath, "utf8") : undefined,
    configPath,
  });
  if (!resolved.ok) {
    for (const message of resolved.errors) process.stderr.write(`conveyor up: ${message}\n`);
    return 2;
  }
  return serve(resolved.settings);
}

async function serve(settings: UpSettings): Promise<number> {
  const { startConveyor } = await import("../../server/start.js");
  let started;
  try {
    started = await startConveyor(settings, (line) => process.stdout.write(line + "\n"));
  } catch (e) {
    const code = e instanceof Error && "code" in e ? String(e.code) : "";
    if (code === "EADDRINUSE") {
      process.stderr.write(
        `conveyor up: ${settings.host}:${settings.port} is in use: stop what listens there, or pick another port with --port.\n`,
      );
      return 1;
    }
    if (code === "ECONVEYORCONFIG" && e instanceof Error) {
      process.stderr.write(`conveyor up: ${e.message}\n`);
      return 2;
    }
    if (code === "EACCES") {
      process.stderr.write(
        `conveyor up: not allowed to listen on ${settings.host}:${settings.port} or to write ${settings.dataDir}.\n`,
      );
      return 1;
    }
    throw e;
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stdout.write("Stopping Conveyor...\n");
      void started.stop().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return 0;
}
