import { statfs } from 'node:fs/promises';
import path from 'node:path';
import type { FinishedJobStatus, JobRow, JobSample, JobUsage } from '@sluice/core';
import type { JobExit, JobSupervisor, SupervisedJob } from './job-supervisor.js';

/** Signals that stop a whole Slurm step or terminal session: the worker usually gets them too. */
const STOP_SIGNALS: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT', 'SIGHUP']);
/** How long a job killed by one of those waits for its worker's own stop before it counts as failed. */
const STOP_WAIT_MS = 500;

/** How a worker samples its jobs (the workflow's resource_monitor), or null when it does not. */
export interface SamplingPlan {
  intervalMs: number;
  /** keep every sample (granularity time_series), not only the summary */
  keepSamples: boolean;
}

/** What one execution ended with, ready to be recorded. */
export interface ExecutionOutcome {
  status: FinishedJobStatus;
  returnCode: number | null;
  message: string | null;
  retryable: boolean;
  usage: JobUsage | null;
  samples: JobSample[];
}

export interface ExecutionContext {
  supervisor: JobSupervisor;
  workerId: number;
  outputDir: string;
  sampling: SamplingPlan | null;
}

/**
 * The environment of a job (and of its recovery script): Sluice's names, and torc's, so that a
 * torc user's scripts run unchanged.
 */
export function jobEnvironment(job: JobRow, ctx: ExecutionContext, recovery = false): NodeJS.ProcessEnv {
  const outputDir = path.resolve(ctx.outputDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLUICE_WORKFLOW_ID: String(job.workflow_id),
    SLUICE_JOB_ID: String(job.id),
    SLUICE_JOB_NAME: job.name,
    SLUICE_OUTPUT_DIR: outputDir,
    SLUICE_WORKER_ID: String(ctx.workerId),
    SLUICE_ATTEMPT_ID: String(job.attempt_id),
    TORC_WORKFLOW_ID: String(job.workflow_id),
    TORC_JOB_ID: String(job.id),
    TORC_JOB_NAME: job.name,
    TORC_OUTPUT_DIR: outputDir,
    TORC_ATTEMPT_ID: String(job.attempt_id),
  };
  if (recovery && job.retry_return_code !== null) {
    env.SLUICE_RETURN_CODE = String(job.retry_return_code);
    env.TORC_RETURN_CODE = String(job.retry_return_code);
  }
  return env;
}

/** `<out>/job_stdio/wf<W>_job<J>_run<R>_attempt<A>`: every attempt of every run keeps its own logs. */
export function logBase(job: JobRow, outputDir: string): string {
  return path.resolve(
    outputDir,
    'job_stdio',
    `wf${job.workflow_id}_job${job.id}_run${job.run_id ?? 0}_attempt${job.attempt_id}`,
  );
}

/**
 * One execution of a claimed job: its pending recovery script first (a retry's), then its
 * command, each a process of the worker's job supervisor, sampled when the workflow monitors
 * resources. `current` is the process running now, for the worker to signal.
 */
export class JobExecutionRun {
  current: SupervisedJob | null = null;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  private stopStatus: 'terminated' | 'canceled' | null = null;
  private stopArrived: (() => void) | null = null;
  private readonly samples: JobSample[] = [];

  /** set when the worker stops the job itself: the status to record instead of exit-code based */
  get stopAs(): 'terminated' | 'canceled' | null {
    return this.stopStatus;
  }

  set stopAs(status: 'terminated' | 'canceled' | null) {
    this.stopStatus = status;
    if (status !== null) this.stopArrived?.();
  }

  constructor(
    readonly job: JobRow,
    private readonly ctx: ExecutionContext,
  ) {
    const base = logBase(job, ctx.outputDir);
    this.stdoutPath = `${base}.o`;
    this.stderrPath = `${base}.e`;
  }

  /** Resolves when the worker stops this job, or after `ms`, whichever comes first. */
  private stopWithin(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.stopArrived = null;
        resolve();
      }
      this.stopArrived = done;
    });
  }

  kill(signal: 'SIGTERM' | 'SIGKILL'): void {
    this.current?.kill(signal);
  }

  async run(): Promise<ExecutionOutcome> {
    const job = this.job;
    if (job.pending_recovery) {
      const base = logBase(job, this.ctx.outputDir);
      const exit = await this.spawn(job.pending_recovery, null, jobEnvironment(job, this.ctx, true), base, '_recovery');
      if (this.stopAs || exit.error || exit.returnCode !== 0) {
        const how = exit.error
          ? `could not run: ${exit.error.message}`
          : `exited ${exit.returnCode}${exit.signal ? ` (${exit.signal})` : ''}`;
        return this.outcome(exit, `the recovery script ${how}; the job is not retried`, false);
      }
    }
    const exit = await this.spawn(
      job.command,
      job.invocation_script,
      jobEnvironment(job, this.ctx),
      logBase(job, this.ctx.outputDir),
      '',
    );
    return this.outcome(exit, null, this.stopAs === null);
  }

  private spawn(
    command: string,
    invocationScript: string | null,
    env: NodeJS.ProcessEnv,
    base: string,
    suffix: string,
  ): Promise<JobExit> {
    const proc = this.ctx.supervisor.spawn({
      command,
      invocationScript,
      cwd: process.cwd(),
      stdoutPath: `${base}${suffix}.o`,
      stderrPath: `${base}${suffix}.e`,
      env,
      sampleIntervalMs: this.ctx.sampling?.intervalMs,
    });
    if (this.ctx.sampling) {
      proc.onSample = (s) =>
        this.samples.push({
          at: new Date(),
          memoryBytes: s.rssBytes,
          cpuPercent: s.cpuPercent,
          processes: s.processes,
        });
    }
    this.current = proc;
    // A stop asked for while nothing ran reaches the process that starts now.
    if (this.stopAs) proc.kill(this.job.supports_termination ? 'SIGTERM' : 'SIGKILL');
    return proc.exited;
  }

  private async outcome(exit: JobExit, recoveryProblem: string | null, retryable: boolean): Promise<ExecutionOutcome> {
    const job = this.job;
    // scancel, a node shutdown or a ^C in the terminal signals the job and its worker alike, and
    // the job may die first: give the worker's own stop a moment to arrive, so that the job is
    // recorded as the stop it was (terminated), not as a failure of its own.
    if (this.stopAs === null && exit.signal && STOP_SIGNALS.has(exit.signal)) await this.stopWithin(STOP_WAIT_MS);
    const usage = summarize(this.samples);
    // A job whose supervisor died was killed with it: its own outcome is unknown.
    const status: FinishedJobStatus =
      this.stopAs ??
      (exit.lost ? 'terminated' : exit.returnCode === 0 && !exit.error && !recoveryProblem ? 'completed' : 'failed');
    // A job that fails while its log directory is full most likely failed on that: say so.
    const full = status === 'failed' && !exit.error ? await logDirectoryFull(this.stdoutPath) : null;
    // SIGKILL that the worker did not send, at nearly all of the memory the job asked for: the
    // kernel's OOM killer, most likely.
    const oom =
      exit.signal === 'SIGKILL' && !this.stopAs && usage !== null && usage.peakMemoryBytes >= 0.9 * job.memory_bytes;
    const message = exit.lost
      ? (exit.error?.message ?? 'the job supervisor died')
      : recoveryProblem
        ? recoveryProblem
        : exit.error
          ? `could not start: ${exit.error.message}`
          : full
            ? `the job log directory ${full} is full (no space left): its output may be cut short`
            : oom
              ? `killed by SIGKILL, likely by the kernel's OOM killer (peak memory ${usage?.peakMemoryBytes} bytes, ${job.memory_bytes} requested)`
              : exit.signal
                ? `killed by ${exit.signal}`
                : null;
    return {
      status,
      returnCode: exit.error ? null : exit.returnCode,
      message,
      retryable: retryable && !recoveryProblem,
      usage,
      samples: this.ctx.sampling?.keepSamples ? this.samples : [],
    };
  }
}

function summarize(samples: readonly JobSample[]): JobUsage | null {
  if (samples.length === 0) return null;
  let peakMemoryBytes = 0;
  let peakCpuPercent = 0;
  let memory = 0;
  let cpu = 0;
  for (const s of samples) {
    peakMemoryBytes = Math.max(peakMemoryBytes, s.memoryBytes);
    peakCpuPercent = Math.max(peakCpuPercent, s.cpuPercent);
    memory += s.memoryBytes;
    cpu += s.cpuPercent;
  }
  return {
    peakMemoryBytes,
    avgMemoryBytes: Math.round(memory / samples.length),
    peakCpuPercent,
    avgCpuPercent: cpu / samples.length,
  };
}

/** The directory of a log file when its file system has no space left, else null. */
async function logDirectoryFull(logPath: string): Promise<string | null> {
  const dir = path.dirname(logPath);
  try {
    return (await statfs(dir)).bavail === 0 ? dir : null;
  } catch {
    return null;
  }
}
