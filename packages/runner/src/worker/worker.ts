import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  actionsClaimable,
  assertMigrated,
  CHANNELS,
  type JobRow,
  jobsAnyRunnable,
  jobsClaimReady,
  jobsStatuses,
  MAIN_LOOP_TRIGGER_TYPES,
  NotificationListener,
  openPool,
  type SluiceDb,
  workersAttachAllocation,
  workersHeartbeat,
  workersReap,
  workersRegister,
  workersStop,
  workflowsGetState,
} from '@sluice/core';
import { retryWithBackoff } from '../retry.js';
import type { SlurmClient } from '../slurm/slurm-client.js';
import { ActionRunner } from './action-runner.js';
import { errMsg, JobRunner } from './job-runner.js';
import { detectMachineResources } from './machine-resources.js';
import { Wakeup } from './wakeup.js';

/** A worker's options, every default filled in (operations/worker-options.ts builds them). */
export interface WorkerOptions {
  url: string;
  workflowId: number;
  outputDir: string;
  /** run at most this many jobs at once and ignore resource requirements */
  maxParallelJobs: number | null;
  /** what the worker offers; undefined: this machine's */
  numCpus: number | undefined;
  memoryBytes: number | undefined;
  numGpus: number | undefined;
  numNodes: number | undefined;
  /** the worker claims no job whose runtime does not fit in what is left of this */
  timeLimitSeconds: number | null;
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  /** others may declare this worker lost after this much silence */
  heartbeatTimeoutMs: number;
  /** after SIGTERM to jobs that support termination, how long before SIGKILL */
  terminationGraceMs: number;
  /** most jobs claimed in one transaction */
  claimBatchSize: number;
  /** how long the worker keeps retrying through database errors before it gives up */
  databaseOutageMs: number;
  /** the worker runs inside this Slurm allocation (a scheduled_compute_nodes row) */
  scheduledNodeId: number | null;
  /** when the worker must be gone (a Slurm allocation's end); claims only jobs that fit before it */
  endsAt: Date | null;
  /** leave after this long with nothing to do (allocations must not hold nodes idle) */
  idleTimeoutMs: number | null;
  /** absolute path of the sluice CLI, for the workers of allocations this one requests */
  cliPath?: string;
  slurm: SlurmClient;
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

export interface WorkerSummary {
  workerId: number;
  reason: WorkerExitReason;
  jobsRun: number;
  actionsRun: number;
}

interface Resources {
  numCpus: number;
  memoryBytes: number;
  numGpus: number;
  numNodes: number;
}

export class Worker {
  state: WorkerState = 'starting';
  workerId = 0;
  private readonly opts: WorkerOptions;
  private readonly resources: Resources;
  private readonly log: NonNullable<WorkerOptions['log']>;
  private readonly handle: SluiceDb;
  private readonly listener: NotificationListener;
  private readonly wake = new Wakeup();
  private readonly jobs: JobRunner;
  private readonly actions: ActionRunner;
  private idleSince = Date.now();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopReason: WorkerExitReason | null = null;
  private workflowChanged = true;
  /** false only after a claim found no action, until a notification or a poll says otherwise */
  private actionsMaybePending = true;
  private endsAt: Date | null = null;

  constructor(options: WorkerOptions) {
    const machine = detectMachineResources();
    this.opts = options;
    this.resources = {
      numCpus: options.numCpus ?? machine.numCpus,
      memoryBytes: options.memoryBytes ?? machine.memoryBytes,
      numGpus: options.numGpus ?? machine.numGpus,
      numNodes: options.numNodes ?? machine.numNodes,
    };
    this.log = options.log ?? (() => {});
    this.handle = openPool(options.url, { max: 3, applicationName: 'sluice-worker' });
    const signal = () => this.wake.signal();
    this.jobs = new JobRunner({
      handle: this.handle,
      workerId: () => this.workerId,
      outputDir: options.outputDir,
      log: this.log,
      onRecorded: signal,
      givingUp: () => this.stopReason === 'error',
    });
    this.actions = new ActionRunner({
      handle: this.handle,
      workflowId: options.workflowId,
      workerId: () => this.workerId,
      outputDir: options.outputDir,
      cliPath: options.cliPath ?? process.argv[1] ?? '',
      slurm: options.slurm,
      log: this.log,
      onFinished: signal,
    });
    this.listener = new NotificationListener({
      url: options.url,
      onNotify: (n) => {
        if (n === null || n.workflowId === options.workflowId) {
          if (n === null || n.channel === CHANNELS.workflowState) this.workflowChanged = true;
          if (n === null || n.channel !== CHANNELS.jobsReady) this.actionsMaybePending = true;
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
      await assertMigrated(this.handle);
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
        ...this.resources,
        maxParallelJobs: this.opts.maxParallelJobs,
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
      await this.jobs.flush().catch((e) => this.log('error', `recording results failed: ${errMsg(e)}`));
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
      jobsRun: this.jobs.jobsRun,
      actionsRun: this.actions.actionsRun,
    };
  }

  private async mainLoop(): Promise<void> {
    while (this.stopReason === null) {
      let busy: boolean;
      try {
        // The database may be restarting: keep the jobs running, retry with backoff, and give
        // up only after a long outage. The tables will say what happened meanwhile.
        busy = await retryWithBackoff(() => this.step(), {
          giveUpAfterMs: this.opts.databaseOutageMs,
          shouldStop: () => this.stopReason !== null,
          onRetry: (e, delayMs) => {
            this.log('warn', `database error, retrying in ${delayMs} ms: ${errMsg(e)}`);
            this.workflowChanged = true;
            this.actionsMaybePending = true;
          },
        });
      } catch (e) {
        if (this.stopReason !== null) break;
        this.log('error', `giving up after ${this.opts.databaseOutageMs / 1000} s of database errors: ${errMsg(e)}`);
        this.stopReason = 'error';
        break;
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
      await this.actions.start(MAIN_LOOP_TRIGGER_TYPES);
    }
    const claimed = await this.claim();
    if (claimed.length > 0) {
      await this.jobs.start(claimed);
      return true;
    }
    if (this.jobs.running.size > 0 || this.actions.busy) this.idleSince = Date.now();
    else if (this.opts.idleTimeoutMs && Date.now() - this.idleSince > this.opts.idleTimeoutMs) {
      this.log('info', `idle for ${Math.round(this.opts.idleTimeoutMs / 1000)} s: leaving`);
      this.stopReason = 'idle';
      return false;
    }
    if (this.jobs.idle && !this.actions.busy) {
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
    if (await actionsClaimable(db, this.workerId, MAIN_LOOP_TRIGGER_TYPES)) {
      this.actionsMaybePending = true;
      this.wake.signal();
      return null;
    }
    const wf = await workflowsGetState(db, this.opts.workflowId);
    if (wf.is_canceled) return 'canceled';
    if (wf.run_id > 0 && wf.unfinished_jobs === 0) return 'complete';
    const r = this.resources;
    const runnable = await jobsAnyRunnable(
      db,
      this.workerId,
      this.opts.maxParallelJobs
        ? null
        : { cpus: r.numCpus, memoryBytes: r.memoryBytes, gpus: r.numGpus, nodes: r.numNodes },
      this.remainingSeconds(),
    );
    // An allocation leaves as soon as nothing left could run on it, so as not to hold nodes;
    // a plain worker waits for jobs running elsewhere, whose dependents may fit it.
    if (!runnable && (this.opts.scheduledNodeId || wf.active_jobs === 0)) {
      this.log(
        'warn',
        `no remaining job of workflow ${this.opts.workflowId} fits this worker (${r.numCpus} cpus, ` +
          `${r.memoryBytes} bytes, ${r.numGpus} gpus, time left ${this.remainingSeconds() ?? 'unlimited'} s)`,
      );
      return 'nothing-runnable';
    }
    return null;
  }

  private remainingSeconds(): number | null {
    return this.endsAt ? Math.max(0, Math.floor((this.endsAt.getTime() - Date.now()) / 1000)) : null;
  }

  private async claim(): Promise<JobRow[]> {
    const claimLimits = { workerId: this.workerId, maxRuntimeSeconds: this.remainingSeconds() };
    if (this.opts.maxParallelJobs) {
      const limit = Math.min(this.opts.maxParallelJobs - this.jobs.running.size, this.opts.claimBatchSize);
      if (limit <= 0) return [];
      return jobsClaimReady(this.handle.db, {
        ...claimLimits,
        limit,
        useResources: false,
        freeCpus: 0,
        freeMemoryBytes: 0,
        freeGpus: 0,
        freeNodes: 0,
      });
    }
    const used = this.jobs.used();
    const free = {
      cpus: this.resources.numCpus - used.cpus,
      mem: this.resources.memoryBytes - used.memoryBytes,
      gpus: this.resources.numGpus - used.gpus,
    };
    if (free.cpus < 0 || free.mem < 0) return [];
    return jobsClaimReady(this.handle.db, {
      ...claimLimits,
      limit: this.opts.claimBatchSize,
      useResources: true,
      freeCpus: free.cpus,
      freeMemoryBytes: free.mem,
      freeGpus: free.gpus,
      freeNodes: this.resources.numNodes,
    });
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
      if (this.jobs.running.size > 0) {
        // A canceled workflow's running jobs must stop even if the NOTIFY was missed.
        const statuses = await jobsStatuses(db, [...this.jobs.running.keys()]);
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
    if (this.jobs.running.size > 0 && reason !== 'complete' && reason !== 'nothing-runnable') {
      this.log('info', `stopping ${this.jobs.running.size} running job(s) (${reason})`);
      await this.jobs.stopAll(reason === 'canceled' ? 'canceled' : 'terminated', this.opts.terminationGraceMs);
    } else {
      await this.jobs.waitAll();
    }
    await this.jobs.flush();
    await this.actions.waitAll();
    if (reason === 'lost') return;
    if (reason === 'complete' || reason === 'canceled' || reason === 'nothing-runnable') {
      await this.actions.runToEnd(MAIN_LOOP_TRIGGER_TYPES);
    }
    await this.actions.runToEnd(['on_worker_complete']);
  }
}
