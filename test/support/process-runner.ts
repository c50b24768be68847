import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedProcess {
  child: ChildProcess;
  /** resolves when the process has exited and its output is closed; never rejects */
  exited: Promise<ProcessResult>;
  /** what it printed so far */
  output(): { stdout: string; stderr: string };
}

/**
 * The one way tests start a process and collect its output: the `sluice` CLI, Slurm's commands,
 * helper scripts. A process that cannot be started resolves with code null and the reason on
 * stderr, so a test's assertion, not an unhandled error, reports it.
 */
export function spawnProcess(command: string, args: readonly string[], opts: SpawnOptions = {}): SpawnedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<ProcessResult>((resolve) => {
    child.once('error', (e) => resolve({ code: null, signal: null, stdout, stderr: `${stderr}${e.message}\n` }));
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** spawnProcess, waiting for the end. */
export function runProcess(command: string, args: readonly string[], opts: SpawnOptions = {}): Promise<ProcessResult> {
  return spawnProcess(command, args, opts).exited;
}
