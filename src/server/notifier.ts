/**
 * Wakes what waits in this process: runner polls when jobs are queued or a cancel is asked, live
 * log followers when a job's events arrive, dashboards when a run changes. Only a hint: waiters
 * re-read the store, which stays the truth (another server process may have made the change, and
 * waiters poll the store at a slow pace for that).
 */
import { EventEmitter } from "node:events";

export class Notifier {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every open poll and log follower listens; there may be many.
    this.emitter.setMaxListeners(0);
  }

  jobsQueued(): void {
    this.emitter.emit("jobs-queued");
  }

  jobCancelRequested(jobId: number, runnerId: number | null): void {
    this.emitter.emit("cancel", jobId, runnerId);
  }

  jobEvents(jobId: number): void {
    this.emitter.emit(`job-events:${jobId}`);
  }

  runChanged(runId: number): void {
    this.emitter.emit("run-changed", runId);
  }

  /** Resolves on the next of `events` or after `ms`, or when `signal` aborts; cleans up after itself. */
  wait(events: readonly string[], ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        for (const event of events) this.emitter.off(event, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const event of events) this.emitter.on(event, done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  on(event: string, listener: (...args: unknown[]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }
}
