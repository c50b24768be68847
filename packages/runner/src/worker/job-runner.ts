import { statfs } from 'node:fs/promises';
import path from 'node:path';
import {
  type FinishedJobStatus,
  type JobCompletion,
  type JobExecution,
  type JobRow,
  jobsComplete,
  type SluiceDb,
} from '@sluice/core';
import { retryWithBackoff } from '../retry.js';
import type { JobSupervisor, SupervisedJob } from './job-supervisor.js';

export interface RunningJob {
  job: JobRow;
  proc: SupervisedJob;
  startedAt: Date;
  stdoutPath: string;
  stderrPath: string;
  /** set when the worker itself stops the job: the status to record instead of exit-code based */
  stopAs: 'terminated' | 'canceled' | null;
}

export interface JobRunnerContext {
  handle: SluiceDb;
  /** starts the jobs' processes, off the worker's event loop, and outlives none of them */
  supervisor: () => JobSupervisor;
  workerId: () => number;
  outputDir: string;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** called after each batch of results is written: the loop may claim again */
  onRecorded: () => void;
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
  readonly running = new Map<number, RunningJob>();
  private readonly completions: JobCompletion[] = [];
  /** executions whose completion is being written right now */
  private readonly writing = new Set<string>();
  private flushing: Promise<void> | null = null;
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

  /** Resources the running jobs hold. */
  used(): { cpus: number; memoryBytes: number; gpus: number } {
    let cpus = 0;
    let memoryBytes = 0;
    let gpus = 0;
    for (const r of this.running.values()) {
      cpus += r.job.num_cpus;
      memoryBytes += r.job.memory_bytes;
      gpus += r.job.num_gpus;
    }
    return { cpus, memoryBytes, gpus };
  }

  /** Starts the processes of jobs a claim just recorded as running. */
  start(jobs: JobRow[]): void {
    const workerId = this.ctx.workerId();
    for (const job of jobs) {
      const base = path.join(this.ctx.outputDir, 'job_stdio', `wf${job.workflow_id}_job${job.id}_run${job.attempt}`);
      const stdoutPath = path.resolve(`${base}.o`);
      const stderrPath = path.resolve(`${base}.e`);
      const startedAt = new Date();
      const proc = this.ctx.supervisor().spawn({
        command: job.command,
        invocationScript: job.invocation_script,
        cwd: process.cwd(),
        stdoutPath,
        stderrPath,
        env: {
          ...process.env,
          SLUICE_WORKFLOW_ID: String(job.workflow_id),
          SLUICE_JOB_ID: String(job.id),
          SLUICE_JOB_NAME: job.name,
          SLUICE_OUTPUT_DIR: path.resolve(this.ctx.outputDir),
          SLUICE_WORKER_ID: String(workerId),
        },
      });
      const entry: RunningJob = { job, proc, startedAt, stdoutPath, stderrPath, stopAs: null };
      this.running.set(job.id, entry);
      this.jobsRun++;
      void proc.exited.then(async (exit) => {
        // A job that fails while its log directory is full most likely failed on that: say so.
        const full = exit.returnCode !== 0 && !exit.error ? await logDirectoryFull(stdoutPath) : null;
        this.running.delete(job.id);
        // A job whose supervisor died was killed with it: its own outcome is unknown.
        const status =
          entry.stopAs ?? (exit.lost ? 'terminated' : exit.returnCode === 0 && !exit.error ? 'completed' : 'failed');
        const message = exit.lost
          ? (exit.error?.message ?? 'the job supervisor died')
          : exit.error
            ? `could not start: ${exit.error.message}`
            : full
              ? `the job log directory ${full} is full (no space left): its output may be cut short`
              : exit.signal
                ? `killed by ${exit.signal}`
                : null;
        if (exit.leftovers) this.ctx.log('info', `job ${job.id} left processes behind; they were killed`);
        this.queueCompletion(
          job,
          status,
          exit.error ? null : exit.returnCode,
          startedAt,
          message,
          stdoutPath,
          stderrPath,
        );
      });
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
      r.proc.kill('SIGKILL');
    }
  }

  async waitAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.proc.exited));
  }

  /** Waits for the batch being written, then writes what is left. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    await this.writeCompletions();
  }

  private stop(r: RunningJob, stopAs: 'terminated' | 'canceled', graceMs: number): void {
    if (r.stopAs !== null) return;
    r.stopAs = stopAs;
    r.proc.kill(r.job.supports_termination ? 'SIGTERM' : 'SIGKILL');
    const grace = setTimeout(() => r.proc.kill('SIGKILL'), graceMs);
    void r.proc.exited.then(() => clearTimeout(grace));
  }

  private queueCompletion(
    job: JobRow,
    status: FinishedJobStatus,
    returnCode: number | null,
    startedAt: Date,
    message: string | null,
    stdoutPath: string | null,
    stderrPath: string | null,
  ): void {
    this.completions.push({
      jobId: job.id,
      attempt: job.attempt,
      status,
      returnCode,
      startedAt,
      completedAt: new Date(),
      message,
      stdoutPath,
      stderrPath,
    });
    if (!this.flushing) {
      this.flushing = this.writeCompletions().finally(() => {
        this.flushing = null;
        this.ctx.onRecorded();
      });
    }
  }

  private async writeCompletions(): Promise<void> {
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0, this.completions.length);
      for (const c of batch) this.writing.add(key(c));
      try {
        await retryWithBackoff(() => jobsComplete(this.ctx.handle.db, this.ctx.workerId(), batch), {
          initialDelayMs: 200,
          maxDelayMs: 2000,
          // A worker that gave up on the database does not wait for it forever: once it is
          // declared lost, whoever reaps it records these jobs as terminated.
          shouldStop: () => this.ctx.givingUp(),
          onRetry: (e) => this.ctx.log('error', `recording ${batch.length} result(s) failed, will retry: ${errMsg(e)}`),
        });
      } catch (e) {
        this.ctx.log('error', `could not record ${batch.length} result(s): ${errMsg(e)}`);
        return;
      } finally {
        for (const c of batch) this.writing.delete(key(c));
      }
    }
  }
}

/** The directory of a log file when its file system has no space left, else null. */
async function logDirectoryFull(logPath: string): Promise<string | null> {
  const dir = path.dirname(logPath);
  try {
    const fs = await statfs(dir);
    return fs.bavail === 0 ? dir : null;
  } catch {
    return null;
  }
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export { key as executionKey };
