import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProcessResult, runProcess } from './process-runner.js';

/** The script that installs, starts and stops the test cluster (see its header for usage). */
export const SLURM_CLUSTER_SCRIPT = fileURLToPath(new URL('../../scripts/slurm-test-cluster.sh', import.meta.url));

export interface SlurmCluster {
  /** DIR/slurm.conf: what SLURM_CONF must name for any Slurm command aimed at this cluster. */
  conf: string;
  /** The cluster's directory: config, state, spool, logs (DIR/log) and room for job files. */
  dir: string;
  /** process.env without SLURM_* variables, plus SLURM_CONF: pass it to sbatch, squeue, the engine... */
  env: Record<string, string>;
  /** Cancels the cluster's jobs, stops its daemons and removes dir (kept if SLUICE_KEEP_SLURM_DIR is set). */
  stop(): Promise<void>;
}

export type SlurmResult = ProcessResult;

/** Runs a command (a Slurm client, say) to its end and keeps its output; never throws on failure. */
export function runSlurm(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<SlurmResult> {
  return runProcess(command, args, { cwd: opts.cwd, env, timeout: opts.timeoutMs ?? 30_000 });
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A test run from inside a Slurm job must not carry that job's SLURM_* into its own.
    if (v !== undefined && !k.startsWith('SLURM_')) env[k] = v;
  }
  return env;
}

function scriptFailure(what: string, r: SlurmResult): Error {
  const tail = r.stderr.trim().split('\n').slice(-30).join('\n');
  return new Error(`${what} failed (exit ${r.code}):\n${tail}`);
}

/**
 * Starts a real two-node Slurm cluster on this machine in a fresh temp directory, installing
 * Slurm and munge first if they are missing (needs root; the install takes a minute or so).
 * For a vitest `beforeAll` with a generous timeout (180 s); call `stop()` in `afterAll`.
 * Partitions: `debug` (default, no time limit) and `short` (MaxTime=5 minutes), both over
 * node1 and node2.
 */
export async function startSlurmCluster(opts: { startTimeoutS?: number } = {}): Promise<SlurmCluster> {
  const env = baseEnv();
  const install = await runSlurm('bash', [SLURM_CLUSTER_SCRIPT, 'install'], env, { timeoutMs: 600_000 });
  if (install.code !== 0) throw scriptFailure('slurm-test-cluster.sh install', install);

  // Slurm's Unix sockets live under the spool directory: keep the path short.
  const tmp = os.tmpdir().length <= 20 ? os.tmpdir() : '/tmp';
  const dir = mkdtempSync(path.join(tmp, 'sluice-slurm-'));
  const startEnv = { ...env, SLURM_TEST_START_TIMEOUT: String(opts.startTimeoutS ?? 60) };
  const start = await runSlurm('bash', [SLURM_CLUSTER_SCRIPT, 'start', dir], startEnv, { timeoutMs: 300_000 });
  if (start.code !== 0) throw scriptFailure(`slurm-test-cluster.sh start ${dir}`, start);
  const conf = /^export SLURM_CONF=(.+)$/m.exec(start.stdout)?.[1];
  if (!conf) throw new Error(`slurm-test-cluster.sh start printed no SLURM_CONF:\n${start.stdout}`);

  // Daemons outlive a test process that dies without afterAll: stop them on exit at least.
  const stopOnExit = () => {
    spawnSync('bash', [SLURM_CLUSTER_SCRIPT, 'stop', dir], { stdio: 'ignore', timeout: 30_000 });
  };
  process.once('exit', stopOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener('exit', stopOnExit);
      const r = await runSlurm('bash', [SLURM_CLUSTER_SCRIPT, 'stop', dir], env, { timeoutMs: 60_000 });
      if (r.code !== 0) throw scriptFailure(`slurm-test-cluster.sh stop ${dir}`, r);
      if (!process.env.SLUICE_KEEP_SLURM_DIR) rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  return { conf, dir, env: { ...env, SLURM_CONF: conf }, stop };
}

/** Job states after which a job changes no more. */
export const SLURM_FINAL_STATES: readonly string[] = [
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'TIMEOUT',
];

export interface SlurmJobInfo {
  jobId: string;
  /** JobState as scontrol shows it: PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, ... */
  state: string;
  /** Every field of `scontrol show job -o`: ExitCode, Reason, NodeList, StdOut, ... */
  fields: Record<string, string>;
}

/** Fields of one line of `scontrol show -o`; values may hold spaces (a Command's arguments). */
export function parseScontrolLine(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last: string | undefined;
  for (const token of line.trim().split(/\s+/)) {
    const m = /^([A-Za-z][A-Za-z0-9_:/]*)=(.*)$/.exec(token);
    if (m) {
      last = m[1]!;
      fields[last] = m[2]!;
    } else if (last !== undefined) {
      fields[last] += ` ${token}`;
    }
  }
  return fields;
}

/** The job as `scontrol show job -o` has it (finished jobs stay for MinJobAge=3600 s); undefined if unknown. */
export async function slurmJobInfo(jobId: string, env: Record<string, string>): Promise<SlurmJobInfo | undefined> {
  const r = await runSlurm('scontrol', ['show', 'job', '-o', jobId], env);
  if (r.code !== 0) {
    if (/invalid job id/i.test(r.stderr)) return undefined;
    throw new Error(`scontrol show job ${jobId} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  const line = r.stdout.split('\n').find((l) => l.includes(`JobId=${jobId} `)) ?? r.stdout;
  const fields = parseScontrolLine(line);
  if (!fields.JobState) throw new Error(`scontrol show job ${jobId} printed no JobState: ${r.stdout.trim()}`);
  return { jobId, state: fields.JobState, fields };
}

/**
 * Polls `scontrol show job` until the job is in one of `states` and returns it. Throws at once if
 * the job reaches another final state (waiting for COMPLETED, it FAILED), or on timeout.
 */
export async function waitForSlurmJob(
  jobId: string,
  states: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<SlurmJobInfo> {
  const deadline = Date.now() + timeoutMs;
  let info: SlurmJobInfo | undefined;
  let delay = 50;
  for (;;) {
    info = await slurmJobInfo(jobId, env);
    if (info && states.includes(info.state)) return info;
    if (info && SLURM_FINAL_STATES.includes(info.state)) {
      const { ExitCode, Reason } = info.fields;
      throw new Error(
        `Slurm job ${jobId} ended ${info.state} (ExitCode=${ExitCode} Reason=${Reason}), not ${states.join('/')}`,
      );
    }
    if (Date.now() > deadline) {
      const now = info ? info.state : 'unknown to scontrol';
      throw new Error(`Slurm job ${jobId} not ${states.join('/')} within ${timeoutMs} ms: ${now}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/** `sbatch --parsable ARGS`, returning the job id; throws with sbatch's message if it is rejected. */
export async function submitSlurmJob(
  args: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<string> {
  const r = await runSlurm('sbatch', ['--parsable', ...args], env, { cwd });
  const jobId = /^(\d+)/.exec(r.stdout.trim())?.[1];
  if (r.code !== 0 || !jobId) throw new Error(`sbatch ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return jobId;
}
