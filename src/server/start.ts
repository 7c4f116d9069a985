/**
 * Starts the whole system for `conveyor up`: the server, the first administrator on first start,
 * and the built-in runner, which speaks the same runner protocol as `conveyor runner` on another
 * machine. Prints how to log in and push a first repository.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { bundleFolder } from "../bundle-location.js";
import { ConveyorServer } from "./server.js";
import type { UpSettings } from "./settings.js";
import { saveClientConfig } from "../cli/client-config.js";

export interface StartedConveyor {
  readonly server: ConveyorServer;
  stop(): Promise<void>;
}

export async function startConveyor(
  settings: UpSettings,
  print: (line: string) => void,
): Promise<StartedConveyor> {
  const server = await ConveyorServer.start({
    host: settings.host,
    port: settings.port,
    dataDir: settings.dataDir,
    publicUrl: settings.publicUrl || undefined,
    labelMap: settings.labelMap,
    cacheQuota: settings.cacheQuota,
    artifactMaxSize: settings.artifactMaxSize,
    artifactRetentionDays: settings.artifactRetentionDays,
  });
  const url = server.context.publicUrl;
  const admin = await server.bootstrapAdmin(settings.adminPassword);
  let stopRunner = async (): Promise<void> => undefined;
  if (settings.runnerCapacity > 0) {
    const options = {
      serverUrl: url,
      registrationToken: await server.store.accounts.createRegistrationToken(),
      dataDir: join(settings.dataDir, "runner"),
      capacity: settings.runnerCapacity,
      labels: [...settings.runnerLabels],
      name: `${hostname()} (built in)`,
    };
    const bundle = bundleFolder();
    if (bundle !== undefined) {
      // Bundled: the runner gets a thread of its own, started from the CLI's entry.
      const { startRunnerThread } = await import("../agent/runner-thread.js");
      const script = join(bundle, "..", "bin", "conveyor.cjs");
      const runner = await startRunnerThread(options, script, print);
      stopRunner = () => runner.stop();
    } else {
      // The sources, as tests run them: the same runner on this thread.
      const { Runner } = await import("../agent/runner.js");
      const runner = new Runner(options);
      await runner.start();
      stopRunner = () => runner.stop();
    }
  }

  print(`Conveyor is up at ${url}  (data in ${settings.dataDir})`);
  if (settings.runnerCapacity > 0)
    print(`A built-in runner takes up to ${settings.runnerCapacity} job(s) at once.`);
  if (admin) {
    saveClientConfig({ server: url, token: admin.token });
    print("");
    print(`First start: created the administrator '${admin.login}'.`);
    if (!settings.adminPassword) print(`  password:  ${admin.password}   (shown once)`);
    print(`  API token: ${admin.token}   (shown once; saved for the conveyor CLI on this machine)`);
    print("");
    print("Push a first repository:");
    print("  conveyor repo create my-app");
    print(`  git remote add conveyor ${url}/${admin.login}/my-app.git`);
    print("  git push conveyor main        (user: admin, password: the API token)");
  }
  print("Stop with Ctrl-C.");
  return {
    server,
    stop: async () => {
      await stopRunner();
      await server.close();
    },
  };
}
