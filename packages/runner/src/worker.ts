import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  actionRunsFinish,
  actionsClaimable,
  actionsClaimPending,
  type ClaimedAction,
  type JobCompletion,
  type JobRow,
  jobsAnyRunnable,
  jobsClaimReady,
  jobsComplete,
  jobsStart,
  jobsStatuses,
  MAIN_LOOP_TRIGGERS,
  NotificationListener,
  openPool,
  type SluiceDb,
  SluiceError,
  workersAttachAllocation,
  workersHeartbeat,
  workersReap,
  workersRegister,
  workersStop,
  workflowsGetState,
} from '@sluice/core';
import { executeAction } from './action-executor.js';
import { JobProcess } from './job-process.js';
import { detectMachineResources } from './machine-resources.js';
import { Wakeup } from './wakeup.js';

export interface WorkerOptions {
  url: string;
  workflowId: number;
  outputDir: string;
  /** run at most this many jobs at once and ignore resource requirements */
  maxParallelJobs?: number | null;
  numCpus?: number;
  memoryBytes?: number;
  numGpus?: number;
  numNodes?: number;
  /** the worker claims no job whose runtime does not fit in what is left of this */
  timeLimitSeconds?: number | null;
  pollIntervalMs?: number;
  heartbeatIntervalMs?: number;
  /** others may declare this worker lost after this much silence */
  heartbeatTimeoutMs?: number;
  /** after SIGTERM to jobs that support termination, how long before SIGKILL */
  terminationGraceMs?: number;
  /** most jobs claimed in one transaction */
  claimBatchSize?: number;
  /** how long the worker keeps retrying through database errors before it gives up */
  databaseOutageMs?: number;
  /** the worker runs inside this Slurm allocation (a scheduled_compute_nodes row) */
  scheduledNodeId?: number | null;
  /** when the worker must be gone (a Slurm allocation's end); claims only jobs that fit before it */
  endsAt?: Date | null;
  /** leave after this long with nothing to do (allocations must not hold nodes idle) */
  idleTimeoutMs?: number | null;
  /** absolute path of the sluice CLI, for the workers of allocations this one requests */
  cliPath?: string;
  log?: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
}

/**
 * The worker loop's states (docs/state-machines.md):
 * starting -> running -> draining -> stopping -> stopped.
 * `running` claims and starts jobs; `draining` claims nothing and waits for (or terminates)
 * the jobs it has; `stopping` deregisters.
 */
export type WorkerState = 'starting' | 'running' | 'draining' | 'stopping' | 'stopped';

export type WorkerExitReason =
  | 'complete'
  | 'canceled'
  | 'signal'
  | 'nothing-runnable'
  | 'lost'
  | 'time-limit'
  | 'idle'
  | 'error';

interface RunningJob {
  job: JobRow;
  proc: JobProcess;
  startedAt: Date;
  stdoutPath: string;
  stderrPath: string;
  /** set when the worker itself stops the job: the status to record instead of exit-code based */
  stopAs: 'terminated' | 'canceled' | null;
}

export interface WorkerSummary {
  workerId: number;
  reason: WorkerExitReason;
  jobsRun: number;
  actionsRun: number;
}

export class Worker {
  state: WorkerState = 'starting';
  workerId = 0;
  private readonly opts: Required<
    Omit<WorkerOptions, 'maxParallelJobs' | 'timeLimitSeconds' | 'log' | 'scheduledNodeId' | 'endsAt' | 'idleTimeoutMs'>
  > &
    Pick<WorkerOptions, 'maxParallelJobs' | 'timeLimitSeconds' | 'scheduledNodeId' | 'endsAt' | 'idleTimeoutMs'>;
  private idleSince = Date.now();
  private readonly log: NonNullable<WorkerOptions['log']>;
  private handle: SluiceDb;
  private listener: NotificationListener;
  private readonly wake = new Wakeup();
  private readonly running = new Map<number, RunningJob>();
  private readonly completions: JobCompletion[] = [];
  private flushing: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopReason: WorkerExitReason | null = null;
  private workflowChanged = true;
  /** false only after a claim found no action, until a notification or a poll says otherwise */
  private actionsMaybePending = true;
  private endsAt: Date | null = null;
  private jobsRun = 0;
  private readonly actionsRunning = new Set<Promise<void>>();
  private actionsRun = 0;

  constructor(options: WorkerOptions) {
    const machine = detectMachineResources();
    this.opts = {
      numCpus: machine.numCpus,
      memoryBytes: machine.memoryBytes,
      numGpus: machine.numGpus,
      numNodes: machine.numNodes,
      pollIntervalMs: 10_000,
      heartbeatIntervalMs: 5_000,
      heartbeatTimeoutMs: 60_000,
      terminationGraceMs: 10_000,
      claimBatchSize: 64,
      databaseOutageMs: 300_000,
      cliPath: process.argv[1] ?? '',
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as typeof this.opts;
    this.log = options.log ?? (() => {});
    this.handle = openPool(this.opts.url, { max: 3, applicationName: 'sluice-worker' });
    this.listener = new NotificationListener({
      url: this.opts.url,
      onNotify: (n) => {
        if (n === null || n.workflowId === this.opts.workflowId) {
          if (n === null || n.channel === 'sluice_workflow_state') this.workflowChanged = true;
          if (n === null || n.channel !== 'sluice_jobs_ready') this.actionsMaybePending = true;
          this.wake.signal();
        }
      },
      onStateChange: (s, err) => {
        if (s === 'disconnected')
          this.log('warn', `notification connection lost (${err?.message ?? 'closed'}); polling until it is back`);
      },
    });
  }

  /** Asks the worker to stop claiming, terminate its jobs and leave (SIGTERM/SIGINT). */
  requestStop(reason: WorkerExitReason = 'signal'): void {
    if (this.stopReason === null) this.stopReason = reason;
    this.wake.signal();
  }

  async run(): Promise<WorkerSummary> {
    const db = this.handle.db;
    try {
      mkdirSync(path.join(this.opts.outputDir, 'job_stdio'), { recursive: true });
      const limits = [
        this.opts.timeLimitSeconds ? Date.now() + this.opts.timeLimitSeconds * 1000 : null,
        this.opts.endsAt ? this.opts.endsAt.getTime() : null,
      ].filter((x): x is number => x !== null);
      if (limits.length > 0) this.endsAt = new Date(Math.min(...limits));
      const reg = await workersRegister(db, {
        workflowId: this.opts.workflowId,
        hostname: os.hostname(),
        pid: process.pid,
        osUser: os.userInfo().username,
        numCpus: this.opts.numCpus,
        memoryBytes: this.opts.memoryBytes,
        numGpus: this.opts.numGpus,
        numNodes: this.opts.numNodes,
        maxParallelJobs: this.opts.maxParallelJobs ?? null,
        endsAt: this.endsAt,
        heartbeatTimeoutSeconds: this.opts.heartbeatTimeoutMs / 1000,
      });
      this.workerId = reg.id;
      if (this.opts.scheduledNodeId) await workersAttachAllocation(db, this.workerId, this.opts.scheduledNodeId);
      this.log('info', `worker ${this.workerId} registered for workflow ${this.opts.workflowId}`);
      await this.listener.start();
      this.startHeartbeat();
      this.state = 'running';
      await this.mainLoop();
      this.state = 'draining';
      await this.drain();
    } finally {
      this.state = 'stopping';
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      await this.flushCompletions().catch((e) => this.log('error', `recording results failed: ${errMsg(e)}`));
      if (this.workerId && this.stopReason !== 'lost') {
        await workersStop(db, this.workerId).catch((e) => this.log('warn', `deregistering failed: ${errMsg(e)}`));
      }
      await this.listener.stop();
      await this.handle.close();
      this.state = 'stopped';
    }
    return {
      workerId: this.workerId,
      reason: this.stopReason ?? 'complete',
      jobsRun: this.jobsRun,
      actionsRun: this.actionsRun,
    };
  }

  private async mainLoop(): Promise<void> {
    let failingSince: number | null = null;
    let backoffMs = 100;
    while (this.stopReason === null) {
      let busy: boolean;
      try {
        busy = await this.step();
        failingSince = null;
        backoffMs = 100;
      } catch (e) {
        // The database may be restarting: keep the jobs running, retry with backoff, and give
        // up only after a long outage. The tables will say what happened meanwhile.
        failingSince ??= Date.now();
        if (Date.now() - failingSince > this.opts.databaseOutageMs) {
          this.log('error', `giving up after ${this.opts.databaseOutageMs / 1000} s of database errors: ${errMsg(e)}`);
          this.stopReason = 'error';
          break;
        }
        this.log('warn', `database error, retrying in ${backoffMs} ms: ${errMsg(e)}`);
        this.workflowChanged = true;
        this.actionsMaybePending = true;
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 5000);
        continue;
      }
      if (busy || this.stopReason !== null) continue;
      if (!(await this.wake.wait(this.opts.pollIntervalMs))) {
        // The poll: whatever a missed notification would have said.
        this.workflowChanged = true;
        this.actionsMaybePending = true;
      }
    }
  }

  /** One turn of the loop; true when it started work and should go round again at once. */
  private async step(): Promise<boolean> {
    if (this.workflowChanged) {
      this.workflowChanged = false;
      const wf = await workflowsGetState(this.handle.db, this.opts.workflowId);
      if (wf.is_canceled) {
        this.stopReason = 'canceled';
        return false;
      }
    }
    if (this.endsAt && Date.now() >= this.endsAt.getTime()) {
      this.stopReason = 'time-limit';
      return false;
    }
    // Actions first: on_worker_start (and on_workflow_start) must run before any job here,
    // which jobs_claim enforces by refusing jobs until they have.
    if (this.actionsMaybePending) {
      this.actionsMaybePending = false;
      await this.startActions(MAIN_LOOP_TRIGGERS);
    }
    const claimed = await this.claim();
    if (claimed.length > 0) {
      await this.startJobs(claimed);
      return true;
    }
    if (this.running.size > 0 || this.actionsRunning.size > 0) this.idleSince = Date.now();
    else if (this.opts.idleTimeoutMs && Date.now() - this.idleSince > this.opts.idleTimeoutMs) {
      this.log('info', `idle for ${Math.round(this.opts.idleTimeoutMs / 1000)} s: leaving`);
      this.stopReason = 'idle';
      return false;
    }
    if (this.running.size === 0 && this.completions.length === 0 && !this.flushing && this.actionsRunning.size === 0) {
      const reason = await this.idleExitReason();
      if (reason) this.stopReason = reason;
    }
    return false;
  }

  /** Why an idle worker should leave, or null to keep waiting. The tables decide, not an empty claim. */
  private async idleExitReason(): Promise<WorkerExitReason | null> {
    const db = this.handle.db;
    await workersReap(db, this.opts.workflowId);
    // A worker never leaves while an action it could run is pending (on_workflow_complete).
    if (await actionsClaimable(db, this.workerId, MAIN_LOOP_TRIGGERS)) {
      this.actionsMaybePending = true;
      this.wake.signal();
      return null;
    }
    const wf = await workflowsGetState(db, this.opts.workflowId);
    if (wf.is_canceled) return 'canceled';
    if (wf.run_id > 0 && wf.unfinished_jobs === 0) return 'complete';
    const runnable = await jobsAnyRunnable(
      db,
      this.workerId,
      this.opts.workflowId,
      this.opts.maxParallelJobs
        ? null
        : {
            cpus: this.opts.numCpus,
            memoryBytes: this.opts.memoryBytes,
            gpus: this.opts.numGpus,
            nodes: this.opts.numNodes,
          },
      this.remainingSeconds(),
    );
    // An allocation leaves as soon as nothing left could run on it, so as not to hold nodes;
    // a plain worker waits for jobs running elsewhere, whose dependents may fit it.
    if (!runnable && (this.opts.scheduledNodeId || wf.active_jobs === 0)) {
      this.log(
        'warn',
        `no remaining job of workflow ${this.opts.workflowId} fits this worker (${this.opts.numCpus} cpus, ` +
          `${this.opts.memoryBytes} bytes, ${this.opts.numGpus} gpus, time left ${this.remainingSeconds() ?? 'unlimited'} s)`,
      );
      return 'nothing-runnable';
    }
    return null;
  }

  private remainingSeconds(): number | null {
    return this.endsAt ? Math.max(0, Math.floor((this.endsAt.getTime() - Date.now()) / 1000)) : null;
  }

  private async claim(): Promise<JobRow[]> {
    const busy = [...this.running.values()];
    if (this.opts.maxParallelJobs) {
      const limit = Math.min(this.opts.maxParallelJobs - busy.length, this.opts.claimBatchSize);
      if (limit <= 0) return [];
      return jobsClaimReady(this.handle.db, {
        workerId: this.workerId,
        limit,
        useResources: false,
        freeCpus: 0,
        freeMemoryBytes: 0,
        freeGpus: 0,
        freeNodes: 0,
        maxRuntimeSeconds: this.remainingSeconds(),
      });
    }
    const sum = (f: (j: JobRow) => number) => busy.reduce((acc, r) => acc + f(r.job), 0);
    const free = {
      cpus: this.opts.numCpus - sum((j) => j.num_cpus),
      mem: this.opts.memoryBytes - sum((j) => j.memory_bytes),
      gpus: this.opts.numGpus - sum((j) => j.num_gpus),
      nodes: this.opts.numNodes,
    };
    if (free.cpus < 0 || free.mem < 0) return [];
    return jobsClaimReady(this.handle.db, {
      workerId: this.workerId,
      limit: this.opts.claimBatchSize,
      useResources: true,
      freeCpus: free.cpus,
      freeMemoryBytes: free.mem,
      freeGpus: free.gpus,
      freeNodes: free.nodes,
      maxRuntimeSeconds: this.remainingSeconds(),
    });
  }

  private async startJobs(jobs: JobRow[]): Promise<void> {
    const starts: { jobId: number; startedAt: Date }[] = [];
    // A quick job can exit before its start is written; its completion waits for that write,
    // so that the job goes pending -> running -> done and its job_started event exists.
    let recordStarts: () => void = () => {};
    const startsRecorded = new Promise<void>((resolve) => {
      recordStarts = resolve;
    });
    for (const job of jobs) {
      const base = path.join(this.opts.outputDir, 'job_stdio', `wf${job.workflow_id}_job${job.id}_run${job.attempt}`);
      const stdoutPath = path.resolve(`${base}.o`);
      const stderrPath = path.resolve(`${base}.e`);
      const startedAt = new Date();
      let proc: JobProcess;
      try {
        proc = new JobProcess({
          command: job.command,
          invocationScript: job.invocation_script,
          cwd: process.cwd(),
          stdoutPath,
          stderrPath,
          env: {
            ...process.env,
            SLUICE_WORKFLOW_ID: String(job.workflow_id),
            SLUICE_JOB_ID: String(job.id),
            SLUICE_JOB_NAME: job.name,
            SLUICE_OUTPUT_DIR: path.resolve(this.opts.outputDir),
            SLUICE_WORKER_ID: String(this.workerId),
          },
        });
      } catch (e) {
        this.queueCompletion({
          jobId: job.id,
          attempt: job.attempt,
          status: 'failed',
          returnCode: null,
          startedAt,
          completedAt: new Date(),
          message: `could not start: ${errMsg(e)}`,
          stdoutPath: null,
          stderrPath: null,
        });
        continue;
      }
      const entry: RunningJob = { job, proc, startedAt, stdoutPath, stderrPath, stopAs: null };
      this.running.set(job.id, entry);
      this.jobsRun++;
      starts.push({ jobId: job.id, startedAt });
      void Promise.all([proc.exited, startsRecorded]).then(([exit]) => {
        this.running.delete(job.id);
        const status = entry.stopAs ?? (exit.returnCode === 0 && !exit.error ? 'completed' : 'failed');
        this.queueCompletion({
          jobId: job.id,
          attempt: job.attempt,
          status,
          returnCode: exit.error ? null : exit.returnCode,
          startedAt,
          completedAt: new Date(),
          message: exit.error
            ? `could not start: ${exit.error.message}`
            : exit.signal
              ? `killed by ${exit.signal}`
              : null,
          stdoutPath,
          stderrPath,
        });
      });
    }
    try {
      if (starts.length > 0) await jobsStart(this.handle.db, this.workerId, starts);
    } finally {
      recordStarts();
    }
  }

  /**
   * Completions that arrive while a batch is being written wait for the next one, so a busy
   * worker records many per transaction and an idle one records each at once.
   */
  private queueCompletion(c: JobCompletion): void {
    this.completions.push(c);
    if (!this.flushing) {
      this.flushing = this.flushCompletions().finally(() => {
        this.flushing = null;
        this.wake.signal();
      });
    }
  }

  private async flushCompletions(): Promise<void> {
    let failures = 0;
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0, this.completions.length);
      try {
        await jobsComplete(this.handle.db, this.workerId, batch);
        failures = 0;
      } catch (e) {
        failures++;
        // A worker that gave up on the database does not wait for it forever: once it is
        // declared lost, whoever reaps it records these jobs as terminated.
        if (this.stopReason === 'error' && failures >= 3) {
          this.log('error', `could not record ${batch.length} result(s): ${errMsg(e)}`);
          return;
        }
        this.log('error', `recording ${batch.length} result(s) failed, will retry: ${errMsg(e)}`);
        this.completions.unshift(...batch);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private startHeartbeat(): void {
    this.heartbeatTimer = setInterval(() => {
      void this.beat();
    }, this.opts.heartbeatIntervalMs);
  }

  private async beat(): Promise<void> {
    const db = this.handle.db;
    try {
      const status = await workersHeartbeat(db, this.workerId);
      if (status !== 'running') {
        this.log('error', `worker ${this.workerId} was declared lost by another process; stopping its jobs`);
        this.requestStop('lost');
        return;
      }
      await workersReap(db, this.opts.workflowId);
      if (this.running.size > 0) {
        // A canceled workflow's running jobs must stop even if the NOTIFY was missed.
        const statuses = await jobsStatuses(db, [...this.running.keys()]);
        if ([...statuses.values()].some((s) => s === 'canceled')) {
          this.workflowChanged = true;
          this.wake.signal();
        }
      }
    } catch (e) {
      this.log('warn', `heartbeat failed: ${errMsg(e)}`);
    }
  }

  /** Stops what is still running according to why the worker leaves, then waits for it. */
  private async drain(): Promise<void> {
    const reason = this.stopReason;
    if (this.running.size > 0 && reason !== 'complete' && reason !== 'nothing-runnable') {
      const stopAs = reason === 'canceled' ? 'canceled' : 'terminated';
      this.log('info', `stopping ${this.running.size} running job(s) (${reason})`);
      for (const r of this.running.values()) {
        r.stopAs = stopAs;
        r.proc.kill(r.job.supports_termination ? 'SIGTERM' : 'SIGKILL');
      }
      const grace = setTimeout(() => {
        for (const r of this.running.values()) r.proc.kill('SIGKILL');
      }, this.opts.terminationGraceMs);
      await Promise.all([...this.running.values()].map((r) => r.proc.exited));
      clearTimeout(grace);
    } else {
      await Promise.all([...this.running.values()].map((r) => r.proc.exited));
    }
    if (this.flushing) await this.flushing;
    await Promise.all(this.actionsRunning);
    if (reason === 'lost') return;
    if (reason === 'complete' || reason === 'canceled' || reason === 'nothing-runnable') {
      await this.runActionsToEnd(MAIN_LOOP_TRIGGERS);
    }
    await this.runActionsToEnd(['on_worker_complete']);
  }

  /** Claims every pending action among `types` this worker can run and starts each in the background. */
  private async startActions(types: Parameters<typeof actionsClaimPending>[2]): Promise<void> {
    for (;;) {
      const action = await actionsClaimPending(this.handle.db, this.workerId, types);
      if (!action) return;
      const done = this.runAction(action).finally(() => {
        this.actionsRunning.delete(done);
        this.wake.signal();
      });
      this.actionsRunning.add(done);
    }
  }

  private async runActionsToEnd(types: Parameters<typeof actionsClaimPending>[2]): Promise<void> {
    for (;;) {
      await this.startActions(types);
      if (this.actionsRunning.size === 0) return;
      await Promise.all(this.actionsRunning);
    }
  }

  private async runAction(action: ClaimedAction): Promise<void> {
    this.actionsRun++;
    this.log('info', `running action ${action.action_id} (${action.trigger_type}, ${action.action_type})`);
    const outcome = await executeAction(action, {
      workflowId: this.opts.workflowId,
      workerId: this.workerId,
      outputDir: this.opts.outputDir,
      handle: this.handle,
      nodePath: process.execPath,
      cliPath: this.opts.cliPath,
    });
    if (!outcome.succeeded)
      this.log('warn', `action ${action.action_id} failed: ${outcome.message ?? 'unknown reason'}`);
    for (let attempt = 0; ; attempt++) {
      try {
        await actionRunsFinish(this.handle.db, action.run_id, outcome);
        return;
      } catch (e) {
        if (attempt >= 5) throw e;
        this.log('warn', `recording action ${action.action_id} failed, will retry: ${errMsg(e)}`);
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
  }
}

function errMsg(e: unknown): string {
  return e instanceof SluiceError || e instanceof Error ? e.message : String(e);
}
