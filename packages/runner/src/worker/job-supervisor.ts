import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import {
  type ExitedEvent,
  envDelta,
  exitFromEvent,
  type JobExit,
  type JobSample,
  killMarkedProcesses,
  type ReadyEvent,
  type StartRequest,
  SUPERVISOR_PROTOCOL,
  type SupervisorEvent,
  type SupervisorRequest,
  supervisorEnv,
} from './supervisor-protocol.js';
import { locateSupervisorScript } from './supervisor-script.js';

export type { JobExit, JobSample } from './supervisor-protocol.js';

type LogFn = (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;

export interface JobSupervisorOptions {
  log?: LogFn;
  /** the perl to run; default `perl` from PATH */
  perl?: string;
  /** default: found beside this module or the bundle (supervisor-script.ts) */
  scriptPath?: string;
  /** the supervisor went away without stop(): its jobs are already killed and resolved with an error */
  onLost?: (error: Error) => void;
}

export interface SupervisedJobSpec {
  command: string;
  invocationScript: string | null;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdoutPath: string;
  stderrPath: string;
  /** report the job's memory, CPU and process count this often */
  sampleIntervalMs?: number;
}

export interface SupervisedJob {
  /** the token that names the job to the supervisor */
  readonly id: number;
  /** the main process, which leads the job's process group and session; rejects when the job did not start */
  readonly pid: Promise<number>;
  /** resolves once the main process exited and nothing it started is left */
  readonly exited: Promise<JobExit>;
  readonly running: boolean;
  /** signals the job's process group (and what left it, as far as the supervisor knows) */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  onSample?: (sample: JobSample) => void;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 20_000;

class Job implements SupervisedJob {
  readonly pid: Promise<number>;
  readonly exited: Promise<JobExit>;
  knownPid: number | null = null;
  onSample?: (sample: JobSample) => void;
  private done = false;
  private resolvePid!: (pid: number) => void;
  private rejectPid!: (e: Error) => void;
  private resolveExit!: (exit: JobExit) => void;

  constructor(
    readonly id: number,
    private readonly signal: (job: Job, signal: 'SIGTERM' | 'SIGKILL') => void,
  ) {
    this.pid = new Promise((resolve, reject) => {
      this.resolvePid = resolve;
      this.rejectPid = reject;
    });
    // Callers that only await `exited` must not see an unhandled rejection.
    this.pid.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  get running(): boolean {
    return !this.done;
  }

  kill(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (!this.done) this.signal(this, signal);
  }

  started(pid: number): void {
    this.knownPid = pid;
    this.resolvePid(pid);
  }

  finish(exit: JobExit): void {
    if (this.done) return;
    this.done = true;
    if (this.knownPid === null) this.rejectPid(exit.error ?? new Error('the job did not start'));
    this.resolveExit(exit);
  }
}

/**
 * Runs a worker's jobs through one long-lived Perl process (packages/runner/supervisor): node's own
 * spawn and the opening of each job's log files block the event loop for milliseconds per job,
 * while a request here is one line written to a pipe. The supervisor is a child subreaper with a
 * parent-death signal, in a session of its own: no process of a job outlives the job's main
 * process (leftovers are SIGKILLed, as Slurm ends a step) or the worker (even one whose whole
 * process group is SIGKILLed).
 */
export class JobSupervisor {
  /** the supervisor's pid */
  readonly pid: number;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private state: 'starting' | 'running' | 'stopping' | 'gone' = 'starting';
  private pending = '';
  private stderrTail = '';
  private readonly closed: Promise<void>;
  private ready!: { resolve: (e: ReadyEvent) => void; reject: (e: Error) => void };
  private info: ReadyEvent | null = null;

  private constructor(
    private readonly child: ChildProcess,
    private readonly baseEnv: Record<string, string>,
    private readonly opts: JobSupervisorOptions,
  ) {
    this.pid = child.pid ?? 0;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.onStderr(chunk));
    // EPIPE once the supervisor is gone: its 'close' handles that.
    child.stdin!.on('error', () => {});
    this.closed = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        void this.onClose(code, signal).finally(resolve);
      });
    });
  }

  static async start(opts: JobSupervisorOptions = {}): Promise<JobSupervisor> {
    const script = opts.scriptPath ?? (await locateSupervisorScript());
    const perl = opts.perl ?? 'perl';
    const env = supervisorEnv(process.env);
    // A session of its own: a kill of the worker's process group does not reach it, and its
    // parent-death signal then cleans up.
    const child = spawn(perl, [script, '--parent', String(process.pid)], {
      cwd: '/',
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const sup = new JobSupervisor(child, env, opts);
    const ready = new Promise<ReadyEvent>((resolve, reject) => {
      sup.ready = { resolve, reject };
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (sup.state !== 'starting') {
        opts.log?.('error', `job supervisor: ${e.message}`);
        return;
      }
      sup.ready.reject(
        new Error(
          e.code === 'ENOENT'
            ? `cannot start the job supervisor: ${perl} not found${perl.includes('/') ? '' : ' on PATH'} ` +
                '(Sluice runs jobs through perl 5.14 or later)'
            : `cannot start the job supervisor (${perl} ${script}): ${e.message}`,
        ),
      );
    });
    const timer = setTimeout(
      () =>
        sup.ready.reject(
          new Error(`the job supervisor (${perl} ${script}) did not start within ${START_TIMEOUT_MS} ms`),
        ),
      START_TIMEOUT_MS,
    );
    try {
      const info = await ready;
      if (info.protocol !== SUPERVISOR_PROTOCOL) {
        throw new Error(`the job supervisor ${script} speaks protocol ${info.protocol}, not ${SUPERVISOR_PROTOCOL}`);
      }
      sup.info = info;
      sup.state = 'running';
      for (const w of info.warnings) opts.log?.('warn', `job supervisor: ${w}`);
      sup.updateRef();
      return sup;
    } catch (e) {
      sup.state = 'gone';
      child.kill('SIGKILL');
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** false where the OS offers no subreaper: then processes that leave a job's group are not found */
  get subreaper(): boolean {
    return this.info?.subreaper ?? false;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  spawn(spec: SupervisedJobSpec): SupervisedJob {
    const job = new Job(this.nextId++, (j, signal) => this.signal(j, signal));
    if (this.state !== 'running') {
      job.finish({ code: null, signal: null, returnCode: 127, error: new Error('the job supervisor is not running') });
      return job;
    }
    const { set, unset } = envDelta(this.baseEnv, spec.env);
    const req: StartRequest = {
      op: 'start',
      id: job.id,
      command: spec.invocationScript ? `${spec.invocationScript} ${spec.command}` : spec.command,
      // The supervisor runs in /: relative paths mean what they mean to the worker.
      cwd: path.resolve(spec.cwd),
      stdout: path.resolve(spec.stdoutPath),
      stderr: path.resolve(spec.stderrPath),
      env: set,
      unset,
    };
    if (spec.sampleIntervalMs && spec.sampleIntervalMs > 0) req.sample_ms = spec.sampleIntervalMs;
    this.jobs.set(job.id, job);
    this.send(req);
    this.updateRef();
    return job;
  }

  /** SIGKILLs what still runs, waits for the supervisor to report it and exit. */
  async stop(): Promise<void> {
    if (this.state === 'running' || this.state === 'starting') {
      this.state = 'stopping';
      this.updateRef();
      this.send({ op: 'shutdown' });
      this.child.stdin!.end();
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.closed;
    clearTimeout(timer);
  }

  private signal(job: Job, signal: 'SIGTERM' | 'SIGKILL'): void {
    // While stopping, the supervisor is SIGKILLing everything already.
    if (this.state === 'running') {
      this.send({ op: 'kill', id: job.id, signal: signal === 'SIGKILL' ? 'KILL' : 'TERM' });
    } else if (this.state === 'gone' && job.knownPid !== null) {
      killGroup(job.knownPid, signal);
    }
  }

  private send(req: SupervisorRequest): void {
    this.child.stdin!.write(`${JSON.stringify(req)}\n`);
  }

  /** Keeps the worker's event loop alive only while jobs run, like the child processes it replaces. */
  private updateRef(): void {
    const hold = this.jobs.size > 0 || this.state === 'stopping';
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as unknown[]) {
      const handle = h as { ref?: () => void; unref?: () => void } | null;
      if (hold) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  private onData(chunk: string): void {
    this.pending += chunk;
    let start = 0;
    for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n', start)) {
      const line = this.pending.slice(start, nl);
      start = nl + 1;
      if (line.length > 0) this.onLine(line);
    }
    this.pending = this.pending.slice(start);
  }

  private onLine(line: string): void {
    let e: SupervisorEvent;
    try {
      e = JSON.parse(line) as SupervisorEvent;
    } catch {
      this.opts.log?.('error', `job supervisor: unreadable event: ${line}`);
      return;
    }
    switch (e.ev) {
      case 'ready':
        this.ready.resolve(e);
        return;
      case 'started':
        this.jobs.get(e.id)?.started(e.pid);
        return;
      case 'exited':
        this.onExited(e);
        return;
      case 'error': {
        const job = e.id === null ? undefined : this.jobs.get(e.id);
        if (!job) {
          this.opts.log?.('error', `job supervisor: ${e.message}`);
          return;
        }
        this.jobs.delete(job.id);
        job.finish({ code: null, signal: null, returnCode: 127, error: new Error(e.message) });
        this.updateRef();
        return;
      }
      case 'sample':
        this.jobs.get(e.id)?.onSample?.({ rssBytes: e.rss_bytes, cpuPercent: e.cpu_percent, processes: e.processes });
        return;
      case 'log':
        this.opts.log?.(e.level, `job supervisor: ${e.message}`);
        return;
      case 'bye':
        if (e.unkillable) this.opts.log?.('error', 'job supervisor: some job processes did not die from SIGKILL');
        return;
    }
  }

  private onExited(e: ExitedEvent): void {
    const job = this.jobs.get(e.id);
    if (!job) return;
    this.jobs.delete(e.id);
    if (e.unkillable) {
      this.opts.log?.(
        'error',
        `job supervisor: processes of job ${job.knownPid} survived SIGKILL (uninterruptible sleep?)`,
      );
    }
    job.finish(exitFromEvent(e));
    this.updateRef();
  }

  private onStderr(chunk: string): void {
    if (this.state === 'starting') {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000);
      return;
    }
    for (const line of chunk.split('\n')) if (line.trim()) this.opts.log?.('warn', `job supervisor: ${line}`);
  }

  private async onClose(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const was = this.state;
    this.state = 'gone';
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (was === 'starting') {
      const why = this.stderrTail.trim().split('\n').slice(0, 3).join(' / ');
      const hint = /Can't locate \S+\.pm/.test(why)
        ? " (perl's core modules are missing, e.g. Debian's perl-modules)"
        : '';
      this.ready.reject(new Error(`the job supervisor exited at start (${how})${why ? `: ${why}` : ''}${hint}`));
    }
    const lost = [...this.jobs.values()];
    this.jobs.clear();
    if (lost.length === 0) return;
    // Its jobs' main processes died with it (their parent-death signal); the rest of their groups,
    // and whatever left the groups, carries the marker.
    const error = new Error(
      was === 'stopping'
        ? `the job supervisor stopped (${how}) before the job ended`
        : `the job supervisor (pid ${this.pid}) exited unexpectedly (${how}); the job was killed`,
    );
    for (const job of lost) if (job.knownPid !== null) killGroup(job.knownPid, 'SIGKILL');
    const swept = await killMarkedProcesses(this.pid).catch(() => 0);
    if (was !== 'stopping')
      this.opts.log?.('error', `${error.message} (${lost.length} job(s), ${swept} stray processes)`);
    for (const job of lost) job.finish({ code: null, signal: 'SIGKILL', returnCode: 137, error, lost: true });
    if (was !== 'stopping') this.opts.onLost?.(error);
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}
