import { type JobCompletion, type JobExecution, type JobRow, jobsComplete, type SluiceDb } from '@sluice/core';
import { retryWithBackoff } from '../retry.js';
import { type ExecutionOutcome, JobExecutionRun, type SamplingPlan } from './job-execution.js';
import type { JobSupervisor } from './job-supervisor.js';

export interface JobRunnerContext {
  handle: SluiceDb;
  /** starts the jobs' processes, off the worker's event loop, and outlives none of them */
  supervisor: () => JobSupervisor;
  /** how the workflow wants its jobs sampled (resource_monitor), or null */
  sampling: () => SamplingPlan | null;
  workerId: () => number;
  outputDir: string;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** a time on the claim hints' clock (ClaimHints.now) */
  clock: () => number;
  /** called as a batch of results is sent: a claim sent now runs right after it, on the same connection */
  onIssued: () => void;
  /** called after batches of results are written, with when the last one was issued: the loop may claim again */
  onRecorded: (issuedAt: number) => void;
  /** true once results need not be retried any longer (the worker gave up, or must be gone) */
  givingUp: () => boolean;
}

const key = (e: { jobId: number; attempt: number }) => `${e.jobId}:${e.attempt}`;

/**
 * The jobs one worker runs: their processes and their completions, written in batches. A claim
 * has already recorded each job as running. Completions that arrive while a batch is being
 * written wait for the next one, so a busy worker records many per transaction and an idle one
 * records each at once. Writing a batch is idempotent (one result per execution), so a batch
 * whose reply was lost is simply written again.
 */
export class JobRunner {
  readonly running = new Map<number, JobExecutionRun>();
  private readonly done = new Map<number, Promise<void>>();
  private readonly completions: JobCompletion[] = [];
  /** executions whose completion is being written right now */
  private readonly writing = new Set<string>();
  private flushing: Promise<void> | null = null;
  /** when the last batch of completions was sent (ctx.clock) */
  private issuedAt = 0;
  jobsRun = 0;

  constructor(private readonly ctx: JobRunnerContext) {}

  /** Nothing running and nothing left to record. */
  get idle(): boolean {
    return this.running.size === 0 && this.completions.length === 0 && !this.flushing;
  }

  /** Every execution this worker still answers for: running, or finished and not yet recorded. */
  held(): Set<string> {
    const out = new Set<string>(this.writing);
    for (const r of this.running.values()) out.add(key({ jobId: r.job.id, attempt: r.job.attempt }));
    for (const c of this.completions) out.add(key(c));
    return out;
  }

  /** Resources the running jobs hold. A one-node job shares its node; a multi-node job holds its nodes. */
  used(): { cpus: number; memoryBytes: number; gpus: number; nodes: number } {
    let cpus = 0;
    let memoryBytes = 0;
    let gpus = 0;
    let nodes = 0;
    for (const r of this.running.values()) {
      cpus += r.job.num_cpus;
      memoryBytes += r.job.memory_bytes;
      gpus += r.job.num_gpus;
      if (r.job.num_nodes > 1) nodes += r.job.num_nodes;
    }
    return { cpus, memoryBytes, gpus, nodes };
  }

  /** Starts the processes of jobs a claim just recorded as running. */
  start(jobs: JobRow[]): void {
    const ctx = {
      supervisor: this.ctx.supervisor(),
      workerId: this.ctx.workerId(),
      outputDir: this.ctx.outputDir,
      sampling: this.ctx.sampling(),
    };
    for (const job of jobs) {
      const run = new JobExecutionRun(job, ctx);
      const startedAt = new Date();
      this.running.set(job.id, run);
      this.jobsRun++;
      const done = run
        .run()
        .catch(
          (e): ExecutionOutcome => ({
            status: 'failed',
            returnCode: null,
            message: `could not run: ${errMsg(e)}`,
            retryable: false,
            usage: null,
            samples: [],
          }),
        )
        .then((outcome) => {
          this.running.delete(job.id);
          this.done.delete(job.id);
          this.queueCompletion(job, startedAt, outcome, run);
        });
      this.done.set(job.id, done);
    }
  }

  /**
   * Stops the jobs running here that the database no longer counts as this worker's (canceled,
   * reset, set by an admin, or ended by a reap): the worker must never run what it does not own.
   */
  stopDisowned(owned: readonly JobExecution[], graceMs: number): number {
    const mine = new Set(owned.map(key));
    const disowned = [...this.running.values()].filter(
      (r) => !mine.has(key({ jobId: r.job.id, attempt: r.job.attempt })),
    );
    for (const r of disowned) this.stop(r, 'canceled', graceMs);
    return disowned.length;
  }

  /** Stops every running job (SIGTERM to those that support it, SIGKILL to the rest, then to all after the grace). */
  async stopAll(stopAs: 'terminated' | 'canceled', graceMs: number): Promise<void> {
    for (const r of this.running.values()) this.stop(r, stopAs, graceMs);
    await this.waitAll();
  }

  /** SIGKILL at once to every job: the worker can no longer vouch for them (it fenced itself). */
  killAll(): void {
    for (const r of this.running.values()) {
      r.stopAs = 'terminated';
      r.kill('SIGKILL');
    }
  }

  async waitAll(): Promise<void> {
    await Promise.all(this.done.values());
  }

  /** Waits for the batch being written, then writes what is left. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    await this.writeCompletions();
  }

  private stop(r: JobExecutionRun, stopAs: 'terminated' | 'canceled', graceMs: number): void {
    if (r.stopAs !== null) return;
    r.stopAs = stopAs;
    r.kill(r.job.supports_termination ? 'SIGTERM' : 'SIGKILL');
    const grace = setTimeout(() => r.kill('SIGKILL'), graceMs);
    void this.done.get(r.job.id)?.then(() => clearTimeout(grace));
  }

  private queueCompletion(job: JobRow, startedAt: Date, o: ExecutionOutcome, run: JobExecutionRun): void {
    this.completions.push({
      jobId: job.id,
      attempt: job.attempt,
      status: o.status,
      returnCode: o.returnCode,
      startedAt,
      completedAt: new Date(),
      message: o.message,
      stdoutPath: run.stdoutPath,
      stderrPath: run.stderrPath,
      retryable: o.retryable,
      usage: o.usage,
      samples: o.samples,
    });
    if (!this.flushing) {
      this.flushing = this.writeCompletions().finally(() => {
        this.flushing = null;
        this.ctx.onRecorded(this.issuedAt);
      });
    }
  }

  private async writeCompletions(): Promise<void> {
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0, this.completions.length);
      for (const c of batch) this.writing.add(key(c));
      try {
        await retryWithBackoff(
          () => {
            this.issuedAt = this.ctx.clock();
            const written = jobsComplete(this.ctx.handle.db, this.ctx.workerId(), batch);
            this.ctx.onIssued();
            return written;
          },
          {
            initialDelayMs: 200,
            maxDelayMs: 2000,
            // A worker that gave up on the database does not wait for it forever: once it is
            // declared lost, whoever reaps it records these jobs as terminated.
            shouldStop: () => this.ctx.givingUp(),
            onRetry: (e) =>
              this.ctx.log('error', `recording ${batch.length} result(s) failed, will retry: ${errMsg(e)}`),
          },
        );
      } catch (e) {
        this.ctx.log('error', `could not record ${batch.length} result(s): ${errMsg(e)}`);
        return;
      } finally {
        for (const c of batch) this.writing.delete(key(c));
      }
    }
  }
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export { key as executionKey };
