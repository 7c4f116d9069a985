/** Entry point of the bundled `conveyor` executable. */
import { main } from "./program.js";
import { RUNNER_THREAD_ARGUMENT } from "../agent/runner-thread-argument.js";

// `conveyor up` starts its built-in runner on a thread running this same entry (src/agent/runner-thread.ts).
const run =
  process.argv[2] === RUNNER_THREAD_ARGUMENT
    ? import("../agent/runner-thread.js").then((thread) => thread.runRunnerThread())
    : main(process.argv.slice(2));
void run.then((code) => {
  process.exitCode = code;
});
