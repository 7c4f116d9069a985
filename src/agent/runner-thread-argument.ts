/**
 * What makes the CLI's entry run `conveyor up`'s built-in runner thread instead of a command: kept
 * apart from runner-thread.ts so that the entry can check for it without loading the runner.
 */
export const RUNNER_THREAD_ARGUMENT = "__runner-thread";
