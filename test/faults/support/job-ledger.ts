import { existsSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LedgerRun {
  jobId: number;
  workerId: number;
  pid: number;
  /** exit status of the work, when the run got to its end */
  rc: number | null;
}

export interface ActionRunEntry {
  actionId: number;
  workerId: number;
  pid: number;
  tag: string;
}

/**
 * Jobs that record their own runs, so that overlap is detected without trusting the database:
 * each run takes an exclusive flock on fd 9 of a per-job lock file, which every process it
 * starts inherits. A second run of a job while any process of an earlier run (the shell or an
 * orphan) still holds fd 9 is an OVERLAP: it says so in `overlaps` and exits 97.
 */
export class JobLedger {
  readonly dir: string;

  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(path.join(os.tmpdir(), 'sluice-ledger-'));
  }

  private file(name: string): string {
    return `'${path.join(this.dir, name)}'`;
  }

  /** A job command running `work` (shell) inside the ledger's bookkeeping. */
  job(work: string): string {
    const lock = `'${this.dir}/job-'"$SLUICE_JOB_ID"'.lock'`;
    return [
      `exec 9>>${lock}`,
      `flock -n 9 || { echo "OVERLAP $SLUICE_JOB_ID $SLUICE_WORKER_ID $$" >> ${this.file('overlaps')}; exit 97; }`,
      `echo "start $SLUICE_JOB_ID $SLUICE_WORKER_ID $$" >> ${this.file('ledger')}`,
      work,
      `rc=$?; echo "end $SLUICE_JOB_ID $SLUICE_WORKER_ID $$ $rc" >> ${this.file('ledger')}; exit $rc`,
    ].join('\n');
  }

  /** An action command that records each execution (tagged) before running `work`. */
  action(tag: string, work = 'true'): string {
    return `echo "action $SLUICE_ACTION_ID $SLUICE_WORKER_ID $$ ${tag}" >> ${this.file('actions')}; ${work}`;
  }

  private lines(name: string): string[][] {
    const f = path.join(this.dir, name);
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));
  }

  overlaps(): string[] {
    return this.lines('overlaps').map((l) => l.join(' '));
  }

  starts(jobId?: number): LedgerRun[] {
    return this.lines('ledger')
      .filter((l) => l[0] === 'start' && (jobId === undefined || Number(l[1]) === jobId))
      .map((l) => ({ jobId: Number(l[1]), workerId: Number(l[2]), pid: Number(l[3]), rc: null }));
  }

  ends(jobId?: number): LedgerRun[] {
    return this.lines('ledger')
      .filter((l) => l[0] === 'end' && (jobId === undefined || Number(l[1]) === jobId))
      .map((l) => ({ jobId: Number(l[1]), workerId: Number(l[2]), pid: Number(l[3]), rc: Number(l[4]) }));
  }

  actions(tag?: string): ActionRunEntry[] {
    return this.lines('actions')
      .filter((l) => tag === undefined || l[4] === tag)
      .map((l) => ({ actionId: Number(l[1]), workerId: Number(l[2]), pid: Number(l[3]), tag: l[4] ?? '' }));
  }

  /** Extra pids a job wrote to `file` in the ledger directory (children it started, say). */
  pidsIn(file: string): number[] {
    return this.lines(file)
      .map((l) => Number(l[0]))
      .filter((n) => n > 0);
  }

  /** Every pid the ledger knows of (runs, actions, pid files), to clean up after a test. */
  killAll(pidFiles: string[] = []): void {
    const pids = [
      ...this.starts().map((r) => r.pid),
      ...this.actions().map((a) => a.pid),
      ...pidFiles.flatMap((f) => this.pidsIn(f)),
    ];
    for (const pid of new Set(pids)) {
      // Pids are recycled fast here (pid_max 32768): a pid the ledger saw long ago may be anyone's
      // process now. Only a process that still holds the ledger's files (fd 9, the run's lock,
      // which every process of a run inherits) or runs the ledger's script is signaled.
      if (!this.owns(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  /** Whether the process belongs to a run of this ledger (see killAll). */
  private owns(pid: number): boolean {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      if (readlinkSync(`/proc/${pid}/fd/9`).startsWith(this.dir)) return true;
    } catch {
      // no fd 9, or gone
    }
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(this.dir);
    } catch {
      return false;
    }
  }
}
