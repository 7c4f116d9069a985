/**
 * `conveyor up`'s built-in runner on a thread of its own. On the server's thread, a job's work
 * (reading its steps' output, encoding and sending its log) and the server's (storing that log)
 * took turns on one event loop; on its own thread the runner has the second core, and a job that
 * prints fast no longer slows the server's answers. It is the same Runner, speaking the same
 * protocol over HTTP, as `conveyor runner` on another machine.
 */
import { Worker, parentPort, workerData } from "node:worker_threads";
import { Runner } from "./runner.js";
import { RUNNER_THREAD_ARGUMENT } from "./runner-thread-argument.js";

export interface RunnerThreadOptions {
  readonly serverUrl: string;
  readonly registrationToken: string;
  readonly dataDir: string;
  readonly capacity: number;
  readonly labels: readonly string[];
  readonly name: string;
}

type FromRunner =
  | { readonly kind: "started" }
  | { readonly kind: "failed"; readonly message: string }
  | { readonly kind: "stopped" };
type ToRunner = { readonly kind: "stop" };

export interface RunnerThread {
  /** Stops taking jobs, lets the running ones finish and report, and ends the thread. */
  stop(): Promise<void>;
}

/**
 * Starts the runner on a thread running `script` (the CLI's entry, bin/conveyor.cjs); resolves
 * once it has registered with the server, rejects with the reason if it could not.
 */
export function startRunnerThread(
  options: RunnerThreadOptions,
  script: string,
  onFailure: (message: string) => void,
): Promise<RunnerThread> {
  const worker = new Worker(script, { argv: [RUNNER_THREAD_ARGUMENT], workerData: options });
  let stopped: (() => void) | undefined;
  const ended = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const thread: RunnerThread = {
    stop: async () => {
      const told = new Promise<void>((resolve) => (stopped = resolve));
      worker.postMessage({ kind: "stop" } satisfies ToRunner);
      await Promise.race([told, ended]);
      // Its jobs have reported: what the thread may still hold open (a kept-alive connection) is not worth waiting for.
      const grace = new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref());
      await Promise.race([ended, grace]);
      await worker.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    let started = false;
    worker.on("message", (message: FromRunner) => {
      if (message.kind === "started") {
        started = true;
        resolve(thread);
      } else if (message.kind === "failed") reject(new Error(message.message));
      else stopped?.();
    });
    worker.on("error", (e) => {
      if (started) onFailure(`the built-in runner stopped: ${e.message}`);
      else reject(e);
    });
    worker.once("exit", (code) => {
      if (!started) reject(new Error(`the built-in runner's thread ended (code ${code}) before it started`));
    });
  });
}

/** The thread's side: runs the runner it was given until told to stop. */
export async function runRunnerThread(): Promise<number> {
  const port = parentPort;
  if (!port) throw new Error(`${RUNNER_THREAD_ARGUMENT} runs only on a worker thread`);
  const options = workerData as RunnerThreadOptions;
  const runner = new Runner({ ...options, labels: [...options.labels] });
  try {
    await runner.start();
  } catch (e) {
    port.postMessage({
      kind: "failed",
      message: e instanceof Error ? e.message : String(e),
    } satisfies FromRunner);
    port.close();
    return 1;
  }
  port.postMessage({ kind: "started" } satisfies FromRunner);
  await new Promise<void>((resolve) =>
    port.on("message", (message: ToRunner) => {
      if (message.kind === "stop") resolve();
    }),
  );
  await runner.stop();
  port.postMessage({ kind: "stopped" } satisfies FromRunner);
  port.close();
  return 0;
}
