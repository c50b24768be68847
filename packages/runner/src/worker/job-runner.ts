import path from 'node:path';
import {
  type FinishedJobStatus,
  type JobCompletion,
  type JobRow,
  jobsComplete,
  jobsStart,
  type SluiceDb,
} from '@sluice/core';
import { retryWithBackoff } from '../retry.js';
import { JobProcess } from './job-process.js';

export interface RunningJob {
  job: JobRow;
  proc: JobProcess;
  startedAt: Date;
  stdoutPath: string;
  stderrPath: string;
  /** set when the worker itself stops the job: the status to record instead of exit-code based */
  stopAs: 'terminated' | 'canceled' | null;
}

export interface JobRunnerContext {
  handle: SluiceDb;
  workerId: () => number;
  outputDir: string;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** called after each batch of results is written: the loop may claim again */
  onRecorded: () => void;
  /** true once the worker gave up on the database: stop retrying result writes soon */
  givingUp: () => boolean;
}

/**
 * The jobs one worker runs: their processes, their starts, and their completions, written in
 * batches. Completions that arrive while a batch is being written wait for the next one, so a
 * busy worker records many per transaction and an idle one records each at once.
 */
export class JobRunner {
  readonly running = new Map<number, RunningJob>();
  private readonly completions: JobCompletion[] = [];
  private flushing: Promise<void> | null = null;
  jobsRun = 0;

  constructor(private readonly ctx: JobRunnerContext) {}

  /** Nothing running and nothing left to record. */
  get idle(): boolean {
    return this.running.size === 0 && this.completions.length === 0 && !this.flushing;
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

  async start(jobs: JobRow[]): Promise<void> {
    const starts: { jobId: number; startedAt: Date }[] = [];
    // A quick job can exit before its start is written; its completion waits for that write,
    // so that the job goes pending -> running -> done and its job_started event exists.
    let recordStarts: () => void = () => {};
    const startsRecorded = new Promise<void>((resolve) => {
      recordStarts = resolve;
    });
    const workerId = this.ctx.workerId();
    for (const job of jobs) {
      const base = path.join(this.ctx.outputDir, 'job_stdio', `wf${job.workflow_id}_job${job.id}_run${job.attempt}`);
      const stdoutPath = path.resolve(`${base}.o`);
      const stderrPath = path.resolve(`${base}.e`);
      const startedAt = new Date();
      let proc: JobProcess;
      try {
        proc = new JobProcess({
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
      } catch (e) {
        this.queueCompletion(job, 'failed', null, startedAt, `could not start: ${errMsg(e)}`, null, null);
        continue;
      }
      const entry: RunningJob = { job, proc, startedAt, stdoutPath, stderrPath, stopAs: null };
      this.running.set(job.id, entry);
      this.jobsRun++;
      starts.push({ jobId: job.id, startedAt });
      void Promise.all([proc.exited, startsRecorded]).then(([exit]) => {
        this.running.delete(job.id);
        const status = entry.stopAs ?? (exit.returnCode === 0 && !exit.error ? 'completed' : 'failed');
        const message = exit.error
          ? `could not start: ${exit.error.message}`
          : exit.signal
            ? `killed by ${exit.signal}`
            : null;
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
    try {
      if (starts.length > 0) await jobsStart(this.ctx.handle.db, workerId, starts);
    } finally {
      recordStarts();
    }
  }

  /** Stops every running job (SIGTERM to those that support it, SIGKILL to the rest, then to all after the grace). */
  async stopAll(stopAs: 'terminated' | 'canceled', graceMs: number): Promise<void> {
    for (const r of this.running.values()) {
      r.stopAs = stopAs;
      r.proc.kill(r.job.supports_termination ? 'SIGTERM' : 'SIGKILL');
    }
    const grace = setTimeout(() => {
      for (const r of this.running.values()) r.proc.kill('SIGKILL');
    }, graceMs);
    await this.waitAll();
    clearTimeout(grace);
  }

  async waitAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.proc.exited));
  }

  /** Waits for the batch being written, then writes what is left. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    await this.writeCompletions();
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
      try {
        await retryWithBackoff(() => jobsComplete(this.ctx.handle.db, this.ctx.workerId(), batch), {
          initialDelayMs: 1000,
          maxDelayMs: 1000,
          // A worker that gave up on the database does not wait for it forever: once it is
          // declared lost, whoever reaps it records these jobs as terminated.
          shouldStop: (attempt) => this.ctx.givingUp() && attempt >= 3,
          onRetry: (e) => this.ctx.log('error', `recording ${batch.length} result(s) failed, will retry: ${errMsg(e)}`),
        });
      } catch (e) {
        this.ctx.log('error', `could not record ${batch.length} result(s): ${errMsg(e)}`);
        return;
      }
    }
  }
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
