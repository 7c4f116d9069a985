/**
 * Requests that are held open (runner long polls, live log streams). Their handlers may still be
 * running after the client has gone and the HTTP server has closed, so shutting down first tells
 * them to end and then waits for them: the store is closed only once nothing can touch it.
 */
export class LongRequests {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();

  /** Aborted when the server is shutting down. */
  get shutdown(): AbortSignal {
    return this.closing.signal;
  }

  /** Runs a long handler, given a signal that aborts when its client goes away or the server closes. */
  run<T>(clientGone: AbortSignal, handler: (ended: AbortSignal) => Promise<T>): Promise<T> {
    const work = handler(AbortSignal.any([clientGone, this.closing.signal]));
    this.pending.add(work);
    const forget = (): void => void this.pending.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Ends every held request and resolves once their handlers have returned. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.pending]);
  }
}
