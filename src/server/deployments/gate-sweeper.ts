/**
 * Looks at waiting jobs every second: wait timers that ran out, approvals or group changes made by
 * another server process, a holder that ended without letting go. Each look is the same idempotent
 * `reconsiderJob` that approvals and group changes call directly in this process.
 */
import type { ServerStore } from "../../store/server-store.js";
import type { RunCoordinator } from "../runs/run-coordinator.js";

const SWEEP_EVERY_MS = 1_000;

export class GateSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly store: ServerStore,
    private readonly coordinator: RunCoordinator,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch(() => undefined) // the next pass tries again
        .finally(() => (this.sweeping = undefined));
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  async sweep(): Promise<void> {
    for (const job of await this.store.jobs.waiting()) await this.coordinator.reconsiderJob(job.id);
  }
}
