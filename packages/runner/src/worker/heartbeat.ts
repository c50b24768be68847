import type { WorkerStatus } from '@sluice/core';

export interface HeartbeatOptions {
  intervalMs: number;
  /** others may declare the worker lost after this much silence (measured on the database's clock) */
  timeoutMs: number;
  /** renews the worker's heartbeat; resolves with its status after the beat */
  beat: () => Promise<WorkerStatus | null>;
  /** the database says this worker is no longer running (it was declared lost) */
  onLost: () => void;
  /** the worker could not renew its heartbeat in time: it must stop everything it runs now */
  onFence: () => void;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
}

/**
 * The worker's heartbeat, and its fence. Another process declares the worker lost once the
 * database's `heartbeat_at` is older than the timeout. `heartbeat_at` is the database's time of
 * a beat, never earlier than when this process sent it; so measuring from the sending of the last
 * beat that succeeded, on this process's own clock, and fencing a margin before the timeout, the
 * worker stops its jobs before anyone can think it is gone and run them elsewhere.
 */
export class Heartbeat {
  private lastRenewed = performance.now();
  private interval: NodeJS.Timeout | null = null;
  private fence: NodeJS.Timeout | null = null;
  private inFlight = false;
  private stopped = false;
  readonly fenceAfterMs: number;

  constructor(private readonly o: HeartbeatOptions) {
    // The margin covers stopping the jobs and the delay between sending a beat and the database
    // stamping it: a second or a fifth of the timeout, and never most of it.
    this.fenceAfterMs = o.timeoutMs - Math.min(Math.max(1_000, o.timeoutMs * 0.2), o.timeoutMs * 0.3);
  }

  /** Starts beating; `renewedAt` is when the registration that set the first heartbeat was sent. */
  start(renewedAt: number): void {
    this.lastRenewed = renewedAt;
    this.armFence();
    this.interval = setInterval(() => void this.beatOnce(), this.o.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    if (this.fence) clearTimeout(this.fence);
  }

  private armFence(): void {
    if (this.fence) clearTimeout(this.fence);
    const due = this.lastRenewed + this.fenceAfterMs - performance.now();
    this.fence = setTimeout(
      () => {
        if (this.stopped) return;
        this.stop();
        this.o.log(
          'error',
          `no heartbeat renewed for ${Math.round((performance.now() - this.lastRenewed) / 1000)} s ` +
            `(timeout ${this.o.timeoutMs / 1000} s): fencing this worker, stopping its jobs and actions`,
        );
        this.o.onFence();
      },
      Math.max(0, due),
    );
  }

  private async beatOnce(): Promise<void> {
    // A beat that hangs (a partition) must not pile up more behind it: the fence ends the wait.
    if (this.inFlight || this.stopped) return;
    this.inFlight = true;
    const sentAt = performance.now();
    try {
      const status = await this.o.beat();
      if (this.stopped) return;
      if (status !== 'running') {
        this.stop();
        this.o.onLost();
        return;
      }
      this.lastRenewed = sentAt;
      this.armFence();
    } catch (e) {
      this.o.log('warn', `heartbeat failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.inFlight = false;
    }
  }
}
