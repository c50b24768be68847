import { execFile } from 'node:child_process';

/** What one `sbatch` call gave back. */
export interface SbatchOutcome {
  /** the exit code; 127 when sbatch could not be run at all, 128+N when a signal N ended it */
  code: number;
  stdout: string;
  stderr: string;
  /** true when sbatch did not answer within the timeout and was killed */
  timedOut: boolean;
}

/** What squeue says of one job: its extended state (PENDING, RUNNING, ...) and why it waits (%r). */
export interface SlurmJobState {
  state: string;
  /** squeue's %r: BeginTime, Resources, Priority, None, ... */
  reason: string;
}

/** How patient submissions through this client are: tries in all and the backoff between them. */
export interface SubmitPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Every call Sluice makes to Slurm's commands, so that each has one place: the real client runs
 * sbatch, squeue and scancel from PATH (the tests start a real Slurm, or put stand-ins first on
 * PATH).
 */
export interface SlurmClient {
  /** `sbatch --parsable SCRIPT` with this environment (it is what the allocation inherits). */
  sbatch(script: string, env: NodeJS.ProcessEnv): Promise<SbatchOutcome>;
  /**
   * The id of the job with this name and comment in any state Slurm still shows, or null when
   * there is none. Rejects when squeue could not answer (the controller busy or down), since
   * "no such job" must not be guessed: it leads to a second submission.
   */
  findJob(name: string, comment: string, env: NodeJS.ProcessEnv): Promise<string | null>;
  /**
   * Slurm's state and reason of each job it still knows, in one squeue call; missing ids are
   * gone. Rejects when squeue could not answer: "gone" must not be guessed, since a queued
   * allocation that is gone is recorded as failed.
   */
  jobStates(jobIds: readonly string[]): Promise<Map<string, SlurmJobState>>;
  /** The job's end time as squeue prints it, or null when it has no limit or is unknown. */
  jobEndTime(jobId: string, env: NodeJS.ProcessEnv): Promise<Date | null>;
  /** scancel; returns a one-line message when it could not. */
  cancel(jobIds: readonly string[]): Promise<string | null>;
  /** how submitAllocation retries through this client; its defaults when absent */
  readonly submitPolicy?: SubmitPolicy;
}

export interface CommandLineSlurmOptions {
  /**
   * How long sbatch may take before it is killed. Longer than sbatch's own retries when the
   * controller is busy (1+2+...+15 s), so that a kill rarely lands while sbatch waits its turn.
   */
  sbatchTimeoutMs?: number;
  /** the same for squeue and scancel */
  queryTimeoutMs?: number;
  submitPolicy?: SubmitPolicy;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeout: number): Promise<SbatchOutcome> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string }) | null;
      let code = 0;
      if (e) code = typeof e.code === 'number' ? e.code : e.signal ? 128 + (SIGNALS[e.signal] ?? 0) : 127;
      resolve({
        code,
        stdout: String(stdout ?? ''),
        stderr: String(stderr || (e && !stdout && !e.killed ? e.message : '')),
        timedOut: Boolean(e?.killed),
      });
    });
  });
}

/** A command's complaint on one line. */
export function firstLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).join(' ').trim();
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Slurm's own commands, found on the PATH of the environment each call is given. */
export function commandLineSlurmClient(o: CommandLineSlurmOptions = {}): SlurmClient {
  const sbatchTimeout = o.sbatchTimeoutMs ?? 180_000;
  const queryTimeout = o.queryTimeoutMs ?? 30_000;
  return {
    submitPolicy: o.submitPolicy,

    sbatch: (script, env) => run('sbatch', ['--parsable', script], env, sbatchTimeout),

    async findJob(name, comment, env) {
      // squeue cannot filter by comment: list by name (every state, or a finished job is missed)
      // and pick the comment here.
      const r = await run('squeue', ['-h', `--name=${name}`, '-t', 'all', '-o', '%i|%j|%T|%k'], env, queryTimeout);
      if (r.code !== 0 || r.timedOut) {
        throw new Error(`squeue could not look for job ${name}: ${firstLine(r.stderr) || `exit ${r.code}`}`);
      }
      for (const line of lines(r.stdout)) {
        const [id, jobName, , ...rest] = line.split('|');
        if (jobName === name && rest.join('|') === comment && id && /^\d+$/.test(id)) return id;
      }
      return null;
    },

    async jobStates(jobIds) {
      if (jobIds.length === 0) return new Map();
      // -t all: without it squeue leaves out jobs that have finished but that Slurm still knows.
      const r = await run(
        'squeue',
        ['-h', '-t', 'all', '-j', jobIds.join(','), '-o', '%i|%T|%r'],
        process.env,
        queryTimeout,
      );
      const states = new Map<string, SlurmJobState>();
      // squeue fails on a single id it does not know (several ids: it lists those it knows).
      if (r.code !== 0 && !r.timedOut && /Invalid job id/i.test(r.stderr)) return states;
      if (r.code !== 0 || r.timedOut)
        throw new Error(
          `squeue could not report on jobs ${jobIds.join(',')}: ${firstLine(r.stderr) || `exit ${r.code}`}`,
        );
      for (const line of lines(r.stdout)) {
        const [id, state, ...reason] = line.split('|');
        if (id && state) states.set(id, { state, reason: reason.join('|') });
      }
      return states;
    },

    async jobEndTime(jobId, env) {
      // squeue prints the end time in the cluster's local time, without a zone: Date parses it so.
      const r = await run('squeue', ['-h', '-j', jobId, '-o', '%e'], env, queryTimeout);
      const out = r.stdout.trim();
      if (r.code !== 0 || !out || /^(N\/A|NONE|Unknown)$/i.test(out)) return null;
      const t = new Date(out);
      return Number.isNaN(t.getTime()) ? null : t;
    },

    async cancel(jobIds) {
      if (jobIds.length === 0) return null;
      const r = await run('scancel', jobIds, process.env, queryTimeout);
      return r.code === 0 ? null : `scancel ${jobIds.join(' ')} failed: ${firstLine(r.stderr) || `exit ${r.code}`}`;
    },
  };
}

/** Slurm's own commands, found on PATH, with the default timeouts and retries. */
export const commandLineSlurm: SlurmClient = commandLineSlurmClient();
