import os from 'node:os';
import {
  assertMigrated,
  CHANNELS,
  CLAIM_GATE_TRIGGER_TYPES,
  isConnectionLoss,
  MAIN_LOOP_TRIGGER_TYPES,
  openPool,
  type SluiceDb,
  type WorkerStatus,
  workersAttachAllocation,
  workersHeartbeat,
  workersRegister,
  workersStop,
  workflowsGetState,
} from '@sluice/core';
import { prepareOutputDirectory } from '../output-directory.js';
import { retryWithBackoff, withDeadline } from '../retry.js';
import { ActionRunner } from './action-runner.js';
import { ClaimHints } from './claim-hints.js';
import { Heartbeat } from './heartbeat.js';
import { JobClaimer, type WorkerResources } from './job-claimer.js';
import type { SamplingPlan } from './job-execution.js';
import { errMsg, JobRunner } from './job-runner.js';
import { JobSupervisor } from './job-supervisor.js';
import { offeredResources } from './machine-resources.js';
import { createWakeSource, type WakeSource } from './wake-sources.js';
import { Wakeup } from './wakeup.js';
import { reconcileWorker } from './worker-maintenance.js';
import type { WorkerExitReason, WorkerOptions, WorkerState, WorkerSummary } from './worker-types.js';

export type { WorkerExitReason, WorkerOptions, WorkerState, WorkerSummary } from './worker-types.js';

export class Worker {
  state: WorkerState = 'starting';
  workerId = 0;
  private readonly opts: WorkerOptions;
  private readonly resources: WorkerResources;
  private readonly log: NonNullable<WorkerOptions['log']>;
  private readonly handle: SluiceDb;
  private readonly wakeSource: WakeSource;
  private readonly heartbeat: Heartbeat;
  private readonly wake = new Wakeup();
  private readonly hints = new ClaimHints(this.wake);
  private readonly jobs: JobRunner;
  private readonly actions: ActionRunner;
  private readonly claims: JobClaimer;
  private supervisor: JobSupervisor | null = null;
  /** the workflow's resource_monitor, read with its state */
  private sampling: SamplingPlan | null = null;
  /** the workflow has actions triggered by jobs: a completion batch may make one pending */
  private watchesJobs = false;
  private idleSince = Date.now();
  private stopReason: WorkerExitReason | null = null;
  /** resolves once a stop is asked for, so that a query hanging on a dead connection cannot hold the loop */
  private readonly stopAsked: Promise<false>;
  private markStopAsked: () => void = () => {};
  /** when the worker, stopping, stops retrying writes (0: not stopping) */
  private writeDeadline = 0;
  private workflowChanged = true;
  /** false only after a claim found no action, until a notification or a poll says otherwise */
  private actionsMaybePending = true;
  /** set after a database error: what the database says the worker holds may differ from what it runs */
  private mustReconcile = false;
  private lastMaintenance = 0;
  private endsAt: Date | null = null;

  constructor(options: WorkerOptions) {
    this.opts = options;
    this.resources = offeredResources(options);
    this.log = options.log ?? (() => {});
    this.stopAsked = new Promise((resolve) => {
      this.markStopAsked = () => resolve(false);
    });
    // One connection for claims, completions and actions, which batch through it; with --wake
    // listen the listener holds the other (and carries the heartbeat).
    this.handle = openPool(options.url, { max: 1, applicationName: 'sluice-worker' });
    this.hints.watch(this.handle.pool);
    const givingUp = () =>
      this.stopReason === 'error' ||
      this.stopReason === 'fenced' ||
      (this.writeDeadline > 0 && Date.now() > this.writeDeadline);
    this.jobs = new JobRunner({
      handle: this.handle,
      supervisor: () => {
        if (!this.supervisor) throw new Error('internal: no job supervisor');
        return this.supervisor;
      },
      sampling: () => this.sampling,
      workerId: () => this.workerId,
      outputDir: options.outputDir,
      log: this.log,
      clock: () => this.hints.now(),
      onIssued: () => {
        // Claims queued right behind the batch: of actions first, where jobs trigger them.
        this.actionsMaybePending ||= this.watchesJobs;
        this.hints.issued();
      },
      onRecorded: (issuedAt) => this.hints.recorded(issuedAt),
      givingUp,
    });
    this.claims = new JobClaimer({
      handle: this.handle,
      workerId: () => this.workerId,
      workflowId: options.workflowId,
      maxParallelJobs: options.maxParallelJobs,
      claimBatchSize: options.claimBatchSize,
      inAllocation: options.scheduledNodeId !== null,
      resources: this.resources,
      endsAt: () => this.endsAt,
      jobs: this.jobs,
      log: this.log,
      onReaped: () => this.hints.add(),
    });
    this.actions = new ActionRunner({
      handle: this.handle,
      workflowId: options.workflowId,
      workerId: () => this.workerId,
      outputDir: options.outputDir,
      cliPath: options.cliPath ?? process.argv[1] ?? '',
      slurm: options.slurm,
      terminationGraceMs: options.terminationGraceMs,
      log: this.log,
      onFinished: (action) => {
        if ((CLAIM_GATE_TRIGGER_TYPES as readonly string[]).includes(action.trigger_type)) this.hints.add();
        this.wake.signal();
      },
      givingUp,
    });
    this.wakeSource = createWakeSource({
      mode: options.wake ?? 'listen',
      url: options.url,
      workflowId: options.workflowId,
      serverUrl: options.serverUrl,
      apiToken: options.apiToken,
      onWake: (hint, senderPid) => {
        if (this.hints.isOwnJobsReady(hint, senderPid)) return;
        if (hint === CHANNELS.jobsReady) return this.hints.jobs();
        if (hint === null || hint === CHANNELS.workflowState) this.workflowChanged = true;
        this.actionsMaybePending = true;
        // Pending actions alone make no job claimable.
        if (hint !== CHANNELS.actionsPending) this.hints.add();
        this.wake.signal();
      },
      log: this.log,
    });
    this.heartbeat = new Heartbeat({
      intervalMs: options.heartbeatIntervalMs,
      timeoutMs: options.heartbeatTimeoutMs,
      beat: () => this.beat(),
      onLost: () => {
        this.log('error', `worker ${this.workerId} was declared lost by another process; stopping its jobs`);
        this.requestStop('lost');
      },
      onFence: () => this.fence(),
      log: this.log,
    });
  }

  /** Asks the worker to stop claiming, terminate its jobs and leave (SIGTERM/SIGINT). The first reason stays. */
  requestStop(reason: WorkerExitReason = 'signal'): void {
    if (this.stopReason === null) this.stopReason = reason;
    this.markStopAsked();
    this.wake.signal();
  }

  async run(): Promise<WorkerSummary> {
    const db = this.handle.db;
    try {
      await this.throughLostConnections(() => assertMigrated(this.handle));
      await prepareOutputDirectory(this.opts.outputDir);
      await this.startSupervisor();
      const limits = [
        this.opts.timeLimitSeconds ? Date.now() + this.opts.timeLimitSeconds * 1000 : null,
        this.opts.endsAt ? this.opts.endsAt.getTime() : null,
      ].filter((x): x is number => x !== null);
      if (limits.length > 0) this.endsAt = new Date(Math.min(...limits));
      let registeredAt = performance.now();
      // A registration whose reply was lost and is tried again leaves a row that never beats:
      // it is declared lost after its timeout, holding nothing.
      const reg = await this.throughLostConnections(() => {
        registeredAt = performance.now();
        return workersRegister(db, {
          workflowId: this.opts.workflowId,
          hostname: os.hostname(),
          pid: process.pid,
          osUser: os.userInfo().username,
          ...this.resources,
          maxParallelJobs: this.opts.maxParallelJobs,
          endsAt: this.endsAt,
          heartbeatTimeoutSeconds: this.opts.heartbeatTimeoutMs / 1000,
        });
      });
      this.workerId = reg.id;
      this.heartbeat.start(registeredAt);
      const nodeId = this.opts.scheduledNodeId;
      if (nodeId)
        await this.throughLostConnections(() =>
          workersAttachAllocation(db, this.workerId, nodeId, this.opts.slurmJobId ?? null),
        );
      this.log('info', `worker ${this.workerId} registered for workflow ${this.opts.workflowId}`);
      await this.wakeSource.start();
      this.state = 'running';
      await this.mainLoop();
      this.state = 'draining';
      await this.drain();
    } finally {
      this.state = 'stopping';
      this.heartbeat.stop();
      this.writeDeadline ||= Date.now() + this.opts.shutdownWriteMs;
      await this.bounded(this.jobs.flush()).catch((e) => this.log('error', `recording results failed: ${errMsg(e)}`));
      // A fenced worker may not speak for its jobs any more: whoever reaps it records them.
      if (this.workerId && this.stopReason !== 'lost' && this.stopReason !== 'fenced') {
        await this.bounded(workersStop(db, this.workerId)).catch((e) =>
          this.log('warn', `deregistering failed: ${errMsg(e)}`),
        );
      }
      await this.bounded(this.wakeSource.stop()).catch(() => {});
      await this.bounded(this.handle.close()).catch(() => {});
      await this.supervisor?.stop().catch((e) => this.log('warn', `stopping the job supervisor: ${errMsg(e)}`));
      this.state = 'stopped';
    }
    return {
      workerId: this.workerId,
      reason: this.stopReason ?? 'complete',
      jobsRun: this.jobs.jobsRun,
      actionsRun: this.actions.actionsRun,
    };
  }

  /**
   * A statement outside the main loop (starting, the last actions), tried again while the
   * connection is lost (a restart, a terminated backend), up to the outage limit; any other
   * error ends the worker at once.
   */
  private throughLostConnections<T>(fn: () => Promise<T>): Promise<T> {
    return retryWithBackoff(fn, {
      giveUpAfterMs: this.opts.databaseOutageMs,
      retryIf: isConnectionLoss,
      // Starting, a stop ends the retries; draining, the stop is why it is here.
      shouldStop: () => this.state !== 'draining' && this.stopReason !== null,
      onRetry: (e, delayMs) => this.log('warn', `database error, retrying in ${delayMs} ms: ${errMsg(e)}`),
    });
  }

  /** A write while stopping: given up on at the write deadline, so that a dead database cannot hold the exit. */
  private bounded<T>(p: Promise<T>): Promise<T> {
    return withDeadline(p, this.writeDeadline, 'gave up waiting for the database');
  }

  /**
   * The process that starts and watches this worker's jobs (packages/runner/supervisor): it kills
   * them all if the worker dies, however it dies. If it dies itself, its jobs die with it (they
   * are recorded terminated) and the worker starts a new one before it claims again.
   */
  private async startSupervisor(): Promise<void> {
    this.supervisor = await JobSupervisor.start({
      log: this.log,
      onLost: (e) => {
        this.log('error', `the job supervisor died (${e.message}); its jobs were killed`);
        this.supervisor = null;
        this.hints.add();
        this.wake.signal();
      },
    });
  }

  /** The heartbeat, on the wake source's own path when it has one (wake-sources.ts), else through the pool. */
  private beat(): Promise<WorkerStatus | null> {
    return this.wakeSource.heartbeat(this.workerId, () => workersHeartbeat(this.handle.db, this.workerId));
  }

  /** The worker can no longer show it is alive: it stops everything now, before anyone runs its jobs elsewhere. */
  private fence(): void {
    this.stopReason = 'fenced';
    this.markStopAsked();
    this.jobs.killAll();
    this.actions.close();
    this.wake.signal();
  }

  private async mainLoop(): Promise<void> {
    while (this.stopReason === null) {
      let busy: boolean;
      this.hints.stepping = true;
      try {
        // The database may be restarting: keep the jobs running, retry with backoff, and give
        // up only after a long outage. The tables will say what happened meanwhile.
        // A step waiting on a connection that went silent (a cut network answers nothing, it
        // does not fail) is left behind once a stop is asked for: draining must not wait on it.
        busy = await Promise.race([
          this.stopAsked,
          retryWithBackoff(() => this.step(), {
            giveUpAfterMs: this.opts.databaseOutageMs,
            shouldStop: () => this.stopReason !== null,
            onRetry: (e, delayMs) => {
              this.log('warn', `database error, retrying in ${delayMs} ms: ${errMsg(e)}`);
              this.hints.add();
              this.workflowChanged = true;
              this.actionsMaybePending = true;
              this.mustReconcile = true;
            },
          }),
        ]);
      } catch (e) {
        if (this.stopReason !== null) break;
        this.log('error', `giving up after ${this.opts.databaseOutageMs / 1000} s of database errors: ${errMsg(e)}`);
        this.requestStop('error');
        break;
      } finally {
        this.hints.stepping = false;
      }
      if (busy || this.stopReason !== null || this.hints.pending) continue;
      const untilMaintenance = this.lastMaintenance + this.opts.heartbeatIntervalMs - Date.now();
      if (!(await this.wake.wait(Math.max(1, Math.min(this.opts.pollIntervalMs, untilMaintenance))))) {
        // The poll: whatever a missed notification would have said.
        if (untilMaintenance >= this.opts.pollIntervalMs) {
          this.workflowChanged = true;
          this.actionsMaybePending = true;
          this.hints.add();
        }
      }
    }
  }

  /** One turn of the loop; true when it started work and should go round again at once. */
  private async step(): Promise<boolean> {
    if (this.mustReconcile || Date.now() - this.lastMaintenance >= this.opts.heartbeatIntervalMs) {
      await this.maintain();
    }
    if (this.workflowChanged) {
      this.workflowChanged = false;
      const wf = await workflowsGetState(this.handle.db, this.opts.workflowId);
      const rm = wf.resource_monitor;
      this.watchesJobs = wf.watches_jobs;
      this.sampling = rm.enabled
        ? { intervalMs: (rm.sample_interval_seconds ?? 5) * 1000, keepSamples: rm.granularity === 'time_series' }
        : null;
      if (wf.is_canceled) {
        this.requestStop('canceled');
        return false;
      }
    }
    if (this.endsAt && Date.now() >= this.endsAt.getTime()) {
      this.requestStop('time-limit');
      return false;
    }
    // Actions first: on_worker_start (and on_workflow_start) must run before any job here,
    // which jobs_claim enforces by refusing jobs until they have.
    if (this.actionsMaybePending) {
      this.actionsMaybePending = false;
      await this.actions.start(MAIN_LOOP_TRIGGER_TYPES);
    }
    if (!this.supervisor) await this.startSupervisor();
    // Only when something may have become claimable since the last claim (claim-hints.ts): a
    // wake-up for an action alone, say, is no reason for an empty claim.
    if (this.hints.pending) {
      const { jobs: claimed, more } = await this.hints.claiming(() => this.claims.claim());
      // A claim that answers after the stop was asked for is left to workers_stop (or the reap),
      // which ends its jobs terminated: nothing starts on a stopping worker.
      if (this.stopReason !== null) return false;
      if (claimed.length > 0) {
        this.jobs.start(claimed);
        // Claiming again at once is an empty transaction unless the batch size cut this one short:
        // a job's end, a notification or the poll wakes the loop for what becomes claimable.
        if (more) this.hints.add();
        return more;
      }
    }
    if (this.jobs.running.size > 0 || this.actions.busy) this.idleSince = Date.now();
    else if (this.opts.idleTimeoutMs && Date.now() - this.idleSince > this.opts.idleTimeoutMs) {
      this.log('info', `idle for ${Math.round(this.opts.idleTimeoutMs / 1000)} s: leaving`);
      this.requestStop('idle');
      return false;
    }
    if (this.jobs.idle && !this.actions.busy) {
      const reason = await this.idleExitReason();
      if (reason) this.requestStop(reason);
    }
    return false;
  }

  /** Every heartbeat interval, and after any database error (worker-maintenance.ts). */
  private async maintain(): Promise<void> {
    // A reap or a requeue may make jobs ready, for this worker too.
    this.hints.add();
    await reconcileWorker(
      {
        handle: this.handle,
        workflowId: this.opts.workflowId,
        workerId: this.workerId,
        jobs: this.jobs,
        actions: this.actions,
        terminationGraceMs: this.opts.terminationGraceMs,
        log: this.log,
      },
      this.mustReconcile,
    );
    this.mustReconcile = false;
    this.lastMaintenance = Date.now();
  }

  /** Why an idle worker should leave, or null to keep waiting. The tables decide, not an empty claim. */
  private async idleExitReason(): Promise<WorkerExitReason | null> {
    const why = await this.claims.idleExitReason();
    if (why === 'action-pending') {
      // A worker never leaves while an action it could run is pending (on_workflow_complete).
      this.actionsMaybePending = true;
      this.wake.signal();
      return null;
    }
    return why;
  }

  /** Stops what is still running according to why the worker leaves, then waits for it. */
  private async drain(): Promise<void> {
    const reason = this.stopReason;
    if (reason === 'fenced') {
      await this.jobs.waitAll();
      await this.actions.waitAll();
      return;
    }
    if (reason === 'signal' || reason === 'lost' || reason === 'error') this.actions.stopAll();
    if (this.jobs.running.size > 0 && reason !== 'complete' && reason !== 'nothing-runnable') {
      this.log('info', `stopping ${this.jobs.running.size} running job(s) (${reason})`);
      await this.jobs.stopAll(reason === 'canceled' ? 'canceled' : 'terminated', this.opts.terminationGraceMs);
    } else {
      await this.jobs.waitAll();
    }
    this.writeDeadline = Date.now() + this.opts.shutdownWriteMs;
    await this.bounded(this.jobs.flush()).catch(() => {});
    await this.actions.waitAll();
    if (reason === 'lost' || reason === 'error') return;
    if (reason === 'complete' || reason === 'canceled' || reason === 'nothing-runnable') {
      // The workflow's last actions (on_workflow_complete): through a lost connection as well.
      // Not bounded by the write deadline: such an action may rightly run for hours.
      await this.throughLostConnections(() => this.actions.runToEnd(MAIN_LOOP_TRIGGER_TYPES)).catch((e) =>
        this.log('warn', `the workflow's remaining actions did not finish: ${errMsg(e)}`),
      );
    }
    // After a signal the worker still runs its on_worker_complete hooks, bounded like the rest.
    try {
      await this.bounded(this.actions.runToEnd(['on_worker_complete']));
    } catch (e) {
      this.log('warn', `on_worker_complete actions did not finish: ${errMsg(e)}`);
      this.actions.stopAll();
      await this.actions.waitAll();
    }
  }
}
