// The wire format between a worker and its job supervisor (packages/runner/supervisor/
// sluice-job-supervisor.pl documents it in full), and the few translations around it.
import { readdir, readFile } from 'node:fs/promises';
import { constants } from 'node:os';

export const SUPERVISOR_PROTOCOL = 1;
/** every job process inherits `SLUICE_SUPERVISOR_JOB=<supervisor pid>:<job token>` */
export const JOB_MARKER = 'SLUICE_SUPERVISOR_JOB';

/** How a job ended: its exit as a shell reports it, plus what the supervisor knows. */
export interface JobExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** exit status as a shell reports it: the code, or 128 + signal number */
  returnCode: number;
  /** set when the job did not start, or was lost with its supervisor */
  error?: Error;
  /** the main process left processes behind, which were SIGKILLed when it exited */
  leftovers?: boolean;
  /** the job ran when its supervisor died: it was SIGKILLed, its own outcome is unknown (`error` says so) */
  lost?: boolean;
}

/** One reading of a job's whole process tree. */
export interface JobSample {
  /** sum of the processes' resident set sizes (shared pages count once per process) */
  rssBytes: number;
  /** CPU time since the previous sample, in percent of one core */
  cpuPercent: number;
  processes: number;
}

export interface StartRequest {
  op: 'start';
  id: number;
  command: string;
  cwd: string;
  stdout: string;
  stderr: string;
  /** changes to the supervisor's own environment */
  env: Record<string, string>;
  unset: string[];
  sample_ms?: number;
}

export type SupervisorRequest = StartRequest | { op: 'kill'; id: number; signal: 'TERM' | 'KILL' } | { op: 'shutdown' };

export interface ReadyEvent {
  ev: 'ready';
  pid: number;
  protocol: number;
  pdeathsig: boolean;
  subreaper: boolean;
  warnings: string[];
}

export interface ExitedEvent {
  ev: 'exited';
  id: number;
  code: number | null;
  signal: number | null;
  leftovers: boolean;
  unkillable: boolean;
}

export type SupervisorEvent =
  | ReadyEvent
  | { ev: 'started'; id: number; pid: number }
  | { ev: 'error'; id: number | null; message: string }
  | ExitedEvent
  | { ev: 'sample'; id: number; rss_bytes: number; cpu_percent: number; processes: number }
  | { ev: 'log'; level: 'warn' | 'error'; message: string }
  | { ev: 'bye'; unkillable: boolean };

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

export function exitFromEvent(e: ExitedEvent): JobExit {
  const signal = e.signal === null ? null : (SIGNAL_NAMES.get(e.signal) ?? null);
  const returnCode = e.code ?? 128 + (e.signal ?? 0);
  return { code: e.code, signal, returnCode, leftovers: e.leftovers };
}

/**
 * The environment the supervisor itself runs with: the worker's, without what changes how perl
 * runs (PERL5OPT=-d, PERL5LIB...). Jobs get those back through their environment changes.
 */
export function supervisorEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !k.startsWith('PERL')) out[k] = v;
  }
  // No locale warnings on a node whose LANG names a locale that is not installed.
  out.PERL_BADLANG = '0';
  return out;
}

/** What a job's environment changes in the supervisor's: a few variables per job, not the whole environment. */
export function envDelta(
  base: Record<string, string>,
  env: NodeJS.ProcessEnv,
): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && base[k] !== v) set[k] = v;
  }
  for (const k of Object.keys(base)) {
    if (env[k] === undefined) unset.push(k);
  }
  return { set, unset };
}

/**
 * SIGKILLs every process that carries the marker of the given supervisor: what its jobs left
 * outside their process groups, found when the supervisor itself is gone. Returns how many.
 */
export async function killMarkedProcesses(supervisorPid: number): Promise<number> {
  const needle = `${JOB_MARKER}=${supervisorPid}:`;
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  let killed = 0;
  for (let i = 0; i < pids.length; i += 64) {
    await Promise.all(
      pids.slice(i, i + 64).map(async (pid) => {
        let environ: string;
        try {
          environ = await readFile(`/proc/${pid}/environ`, 'latin1');
        } catch {
          return; // gone, or another user's
        }
        if (!environ.startsWith(needle) && !environ.includes(`\0${needle}`)) return;
        try {
          process.kill(Number(pid), 'SIGKILL');
          killed++;
        } catch {
          // already gone
        }
      }),
    );
  }
  return killed;
}
