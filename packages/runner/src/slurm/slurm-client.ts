import { execFile } from 'node:child_process';

/** What one `sbatch` call gave back. */
export interface SbatchOutcome {
  /** the exit code; 127 when sbatch could not be run at all */
  code: number;
  stdout: string;
  stderr: string;
  /** true when sbatch did not answer within the timeout and was killed */
  timedOut: boolean;
}

/**
 * Every call Sluice makes to Slurm's commands, so that each has one place: the real client runs
 * sbatch, squeue and scancel from PATH (the tests start a real Slurm), and a test can hand the
 * code a stand-in that answers like them.
 */
export interface SlurmClient {
  /** `sbatch --parsable SCRIPT` with this environment (it is what the allocation inherits). */
  sbatch(script: string, env: NodeJS.ProcessEnv): Promise<SbatchOutcome>;
  /** Slurm's state of each job it still knows (PENDING, RUNNING, ...); missing ids are gone. */
  jobStates(jobIds: readonly string[]): Promise<Map<string, string>>;
  /** The job's end time as squeue prints it, or null when it has no limit or is unknown. */
  jobEndTime(jobId: string, env: NodeJS.ProcessEnv): Promise<Date | null>;
  /** scancel; returns a one-line message when it could not. */
  cancel(jobIds: readonly string[]): Promise<string | null>;
}

const TIMEOUT_MS = 60_000;

function run(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  timeout = TIMEOUT_MS,
): Promise<SbatchOutcome> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : 127) : 0;
      resolve({
        code,
        stdout: String(stdout ?? ''),
        stderr: String(stderr || (e && !stdout ? e.message : '')),
        timedOut: Boolean(e?.killed),
      });
    });
  });
}

/** The first line of a command's complaint, for a message on one line. */
export function firstLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).join(' ').trim();
}

/** Slurm's own commands, found on PATH. */
export const commandLineSlurm: SlurmClient = {
  sbatch: (script, env) => run('sbatch', ['--parsable', script], env),

  async jobStates(jobIds) {
    if (jobIds.length === 0) return new Map();
    const r = await run('squeue', ['-h', '-j', jobIds.join(','), '-o', '%i %T'], process.env, 30_000);
    if (r.code !== 0) return new Map();
    return new Map(
      r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/) as [string, string]),
    );
  },

  async jobEndTime(jobId, env) {
    // squeue prints the end time in the cluster's local time, without a zone: Date parses it so.
    const r = await run('squeue', ['-h', '-j', jobId, '-o', '%e'], env, 30_000);
    const out = r.stdout.trim();
    if (r.code !== 0 || !out || /^(N\/A|NONE|Unknown)$/i.test(out)) return null;
    const t = new Date(out);
    return Number.isNaN(t.getTime()) ? null : t;
  },

  async cancel(jobIds) {
    if (jobIds.length === 0) return null;
    const r = await run('scancel', jobIds, process.env, 30_000);
    return r.code === 0 ? null : `scancel ${jobIds.join(' ')} failed: ${firstLine(r.stderr) || `exit ${r.code}`}`;
  },
};
