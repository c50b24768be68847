/**
 * Whether the worker loop must claim again: hints that jobs may have become claimable (a batch of
 * completions recorded, a jobs_ready notification, a reconnect) that no claim has covered yet.
 *
 * A claim covers a hint that came before it was issued: it runs later and sees what the hint's
 * commit did. It also covers a completion batch issued before it, if it is still in flight when
 * the batch's reply arrives: the worker's one connection runs its queries in order, so the claim
 * runs after the batch's commit, with the freed resources counted. Without this, each job's end
 * cost a second, empty claim: the worker's own jobs_ready notification, or the batch's reply,
 * arrived during the claim that followed the batch and woke the loop again once it was done.
 */
export class ClaimHints {
  private clock = 0;
  private claimIssuedAt = 0;
  private claimInFlight = false;
  private hintAt = 0;

  /** A time on the hints' clock. */
  now(): number {
    this.clock += 1;
    return this.clock;
  }

  /** Something may have become claimable now. */
  add(): void {
    this.hintAt = this.now();
  }

  /**
   * A completion batch issued at `issuedAt` was recorded. Returns false when the claim in flight
   * covers it; otherwise notes a hint and returns true.
   */
  recorded(issuedAt: number): boolean {
    if (this.claimInFlight && this.claimIssuedAt > issuedAt) return false;
    this.add();
    return true;
  }

  /** Runs a claim, which covers every hint up to now. */
  async claiming<T>(claim: () => Promise<T>): Promise<T> {
    this.claimIssuedAt = this.now();
    this.claimInFlight = true;
    try {
      return await claim();
    } finally {
      this.claimInFlight = false;
    }
  }

  /** A hint came after the last claim was issued. */
  get pending(): boolean {
    return this.hintAt > this.claimIssuedAt;
  }
}
