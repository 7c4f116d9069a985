/**
 * Ends jobs whose runner went silent: a lease not extended within LEASE_SECONDS means the runner
 * died or lost the server. A job that never started goes back to the queue; one that started ends
 * as failed, "runner lost", so nothing stays running forever.
 */
import type { ServerStore } from "../../store/server-store.js";
import type { Notifier } from "../notifier.js";
import type { RunCoordinator } from "./run-coordinator.js";

const SWEEP_EVERY_MS = 2_000;

export class LeaseSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly store: ServerStore,
    private readonly coordinator: RunCoordinator,
    private readonly notifier: Notifier,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass: what expired before `now`. */
  async sweep(now: number = Date.now()): Promise<void> {
    for (const job of await this.store.jobs.expiredLeases(now)) {
      if (await this.store.jobs.requeue(job.id)) {
        this.notifier.jobsQueued();
        continue;
      }
      const runner =
        job.runnerId === null
          ? undefined
          : (await this.store.accounts.listRunners()).find((r) => r.id === job.runnerId);
      const reason = `runner lost: ${runner ? `runner '${runner.name}'` : "the runner"} stopped answering (last seen ${runner?.lastSeenAt ?? "never"}), so the job was ended.`;
      if (await this.store.jobs.finish(job.id, { conclusion: "failure", reason })) {
        await this.coordinator.jobCompleted(job, { conclusion: "failure", outputs: {} });
        this.notifier.jobEvents(job.id);
      }
    }
  }
}
