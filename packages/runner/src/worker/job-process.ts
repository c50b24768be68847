import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface JobProcessSpec {
  command: string;
  invocationScript: string | null;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
}

export interface JobExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** exit status as a shell reports it: the code, or 128 + signal number */
  returnCode: number;
  error?: Error;
}

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGUSR1: 10,
  SIGUSR2: 12,
};

/** A job's shell in its own process group, so that stopping it stops everything it started. */
export class JobProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<JobExit>;
  private done = false;

  constructor(spec: JobProcessSpec) {
    const script = spec.invocationScript ? `${spec.invocationScript} ${spec.command}` : spec.command;
    const out = openSync(spec.stdoutPath, 'w');
    const err = openSync(spec.stderrPath, 'w');
    try {
      this.child = spawn('bash', ['-c', script], {
        cwd: spec.cwd,
        env: spec.env,
        stdio: ['ignore', out, err],
        detached: true,
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.done = true;
        resolve({ code: null, signal: null, returnCode: 127, error });
      });
      this.child.once('exit', (code, signal) => {
        this.done = true;
        const returnCode = code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0);
        resolve({ code, signal, returnCode });
      });
    });
  }

  get running(): boolean {
    return !this.done;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.done || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}
