import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, type CliResult, REPO_ROOT, runCli } from '../../support/cli-runner.js';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<CliResult>;
  /** exit code once exited, else undefined */
  readonly exitCode: number | null | undefined;
  output(): { stdout: string; stderr: string };
  /** the last non-empty line of stderr so far */
  lastStderrLine(): string;
  kill(signal: NodeJS.Signals): void;
  /** signals the worker's whole process group (it was started detached) */
  killGroup(signal: NodeJS.Signals): void;
}

export interface StartOptions {
  /** SLUICE_DATABASE_URL: the server's or a proxy's */
  url: string;
  cwd: string;
  args?: string[];
  /** own process group (default true), so that the test can kill the group */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
}

const started = new Set<WorkerProcess>();

export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) is gone for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Runs any sluice command in its own process group (for commands the test may have to kill). */
export function startSluice(args: string[], o: StartOptions): WorkerProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: o.cwd ?? REPO_ROOT,
    env: { ...process.env, ...o.env, SLUICE_DATABASE_URL: o.url },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: o.detached ?? true,
  });
  let stdout = '';
  let stderr = '';
  let code: number | null | undefined;
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (c, signal) => {
      code = c ?? (signal ? 128 : null);
      started.delete(w);
      resolve({ code: c, signal, stdout, stderr });
    });
  });
  const w: WorkerProcess = {
    child,
    pid: child.pid as number,
    exited,
    get exitCode() {
      return code;
    },
    output: () => ({ stdout, stderr }),
    lastStderrLine: () => stderr.trim().split('\n').filter(Boolean).at(-1) ?? '',
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch {
        // gone
      }
    },
    killGroup: (signal) => {
      // Only while node has not reaped it: pids are recycled fast here (pid_max 32768), and a
      // signal to a reaped worker's pid or group may reach anyone's process.
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // gone
      }
    },
  };
  started.add(w);
  return w;
}

/** `sluice worker ID ARGS` as a background process. */
export function startWorker(workflowId: number, o: StartOptions): WorkerProcess {
  return startSluice(['worker', String(workflowId), ...(o.args ?? [])], o);
}

/** SIGKILLs the process group of every worker still running (for afterEach/afterAll). */
export async function killAllWorkers(): Promise<void> {
  const all = [...started];
  for (const w of all) w.killGroup('SIGKILL');
  await Promise.all(all.map((w) => w.exited));
}

/** `sluice ARGS` against the database `url`, run to its end. */
export function sluice(url: string, args: string[], cwd?: string): Promise<CliResult> {
  return runCli(args, { env: { SLUICE_DATABASE_URL: url }, cwd });
}
