import { CHANNELS } from '@sluice/core';
import type pg from 'pg';
import type { WakeHint } from './wake-sources.js';
import type { Wakeup } from './wakeup.js';

/**
 * Whether the worker loop must claim: hints that jobs may have become claimable (a batch of
 * completions recorded, a jobs_ready or workflow_state notification, a reconnect, the poll, a
 * reap, an action that held jobs back ending) that no claim has covered yet. A step claims only
 * then: a wake-up for an action alone made every worker claim for nothing.
 *
 * A claim covers a hint that came before it was issued: it runs later and sees what the hint's
 * commit did. It also covers a completion batch issued before it, if it is still in flight when
 * the batch's reply arrives: the worker's one connection runs its queries in order, so the claim
 * runs after the batch's commit, with the freed resources counted. Without this, each job's end
 * cost a second, empty claim: the worker's own jobs_ready notification, or the batch's reply,
 * arrived during the claim that followed the batch and woke the loop again once it was done.
 *
 * The worker also ignores jobs_ready notifications from its own connection's backend: it claims
 * after each of its own transactions that make jobs ready anyway.
 */
export class ClaimHints {
  // A new worker has a hint and no claim yet: its first step claims.
  private clock = 1;
  private claimIssuedAt = 0;
  private claimInFlight = false;
  private hintAt = 1;
  /** a step is running: job hints wait for the check after it (pending) instead of waking the loop */
  stepping = false;
  private ownBackendPid: number | null = null;

  constructor(private readonly wake: Wakeup) {}

  /** Follows the backend of the worker's one connection (behind a pooler: the pooler's key, which no notification carries). */
  watch(pool: pg.Pool): void {
    pool.on('connect', (client) => {
      this.ownBackendPid = (client as unknown as { processID?: number | null }).processID ?? null;
    });
    pool.on('remove', () => {
      this.ownBackendPid = null;
    });
  }

  /** A jobs_ready notification that the worker's own backend sent. */
  isOwnJobsReady(hint: WakeHint, senderPid: number | undefined): boolean {
    return hint === CHANNELS.jobsReady && senderPid !== undefined && senderPid === this.ownBackendPid;
  }

  /** Something may have become claimable: wakes the loop, or leaves it to the check after the step running. */
  jobs(): void {
    this.add();
    if (!this.stepping) this.wake.signal();
  }

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
   * A completion batch was just sent. A claim sent now waits for the connection and runs right
   * after the batch's commit, so it sees the dependents the batch released, and its reply covers
   * the batch (recorded): the dependent's claim no longer waits for the worker to read the batch's
   * reply and go round its loop first (0.7 ms of a 9 ms link along a chain of bash jobs).
   */
  issued(): void {
    this.jobs();
  }

  /** A completion batch issued at `issuedAt` was recorded: a hint, unless the claim in flight covers it. */
  recorded(issuedAt: number): void {
    if (this.claimInFlight && this.claimIssuedAt > issuedAt) return;
    this.jobs();
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
