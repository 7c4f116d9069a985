/**
 * The newest poll seen from each runner. A runner makes one poll at a time, but gives a held poll
 * up as soon as one of its slots frees, to ask again at once; the poll it gave up may still reach
 * the server's handler after its successor. The older poll's `running` list is out of date then:
 * acted on, it would send a job leased meanwhile back to the queue while the runner runs it.
 */
export interface NumberedPoll {
  readonly session?: string;
  readonly sequence?: number;
}

export class PollOrder {
  private readonly latest = new Map<string, { readonly session: string; readonly sequence: number }>();

  /** Whether this poll is the newest from its runner so far (recording it if so). */
  isLatest(runnerId: string | number, poll: NumberedPoll): boolean {
    // A runner that does not number its polls (an older version) is taken at its word.
    if (poll.session === undefined || poll.sequence === undefined) return true;
    const key = String(runnerId);
    const seen = this.latest.get(key);
    // Another session is a new runner process: its numbering starts again.
    if (seen && seen.session === poll.session && poll.sequence <= seen.sequence) return false;
    this.latest.set(key, { session: poll.session, sequence: poll.sequence });
    return true;
  }
}
