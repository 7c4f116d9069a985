/**
 * Removes expired artifacts (and uploads never finalized) in the background, as GitHub does when
 * their retention ends. Listing and downloading already hide an expired artifact; the sweep frees
 * its storage. Any server process may sweep: removing twice is harmless.
 */
import type { ArtifactService } from "./artifact-service.js";

const SWEEP_EVERY_MS = 10 * 60 * 1000;

export class ArtifactSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(
    private readonly service: ArtifactService,
    private readonly onError: (e: unknown) => void,
    private readonly everyMs: number = SWEEP_EVERY_MS,
  ) {}

  start(): void {
    const sweep = (): void => {
      this.sweeping ??= this.service
        .sweep()
        .catch(this.onError)
        .finally(() => (this.sweeping = undefined));
    };
    // Once at start (what expired while the server was down), then on a timer.
    sweep();
    this.timer = setInterval(sweep, this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }
}
