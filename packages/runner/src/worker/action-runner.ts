import {
  actionRunsFinish,
  actionRunsOwned,
  actionRunsRelease,
  actionsClaimPending,
  type ClaimedAction,
  type SluiceDb,
  type TriggerType,
} from '@sluice/core';
import { retryWithBackoff } from '../retry.js';
import type { SlurmClient } from '../slurm/slurm-client.js';
import { executeAction } from './action-executor.js';
import { errMsg } from './job-runner.js';

export interface ActionRunnerContext {
  handle: SluiceDb;
  workflowId: number;
  workerId: () => number;
  outputDir: string;
  cliPath: string;
  slurm: SlurmClient;
  terminationGraceMs: number;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** called when an action ends: the loop may claim again (jobs held back by it, say) */
  onFinished: (action: ClaimedAction) => void;
  /** true once an outcome need not be retried any longer (the worker must be gone) */
  givingUp: () => boolean;
}

/** The actions one worker claims and runs, each in the background beside its jobs. */
export class ActionRunner {
  private readonly running = new Map<number, Promise<void>>();
  /** aborted to stop the actions running now; replaced, so that later actions (on_worker_complete) still run */
  private abort = new AbortController();
  private closed = false;
  actionsRun = 0;

  constructor(private readonly ctx: ActionRunnerContext) {}

  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Claims every pending action among `types` this worker can run and starts each in the background. */
  async start(types: readonly TriggerType[]): Promise<void> {
    if (this.closed) return;
    for (;;) {
      const action = await actionsClaimPending(this.ctx.handle.db, this.ctx.workerId(), types);
      if (!action) return;
      const done = this.run(action).finally(() => {
        this.running.delete(action.run_id);
        this.ctx.onFinished(action);
      });
      this.running.set(action.run_id, done);
    }
  }

  /** Runs actions among `types` until none is left to claim. */
  async runToEnd(types: readonly TriggerType[]): Promise<void> {
    for (;;) {
      await this.start(types);
      if (this.running.size === 0) return;
      await this.waitAll();
    }
  }

  async waitAll(): Promise<void> {
    await Promise.all(this.running.values());
  }

  /** Stops the running actions' commands (SIGTERM, SIGKILL after the grace). */
  stopAll(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  /** Stops the running actions and claims no more (the worker fenced itself). */
  close(): void {
    this.closed = true;
    this.stopAll();
  }

  /**
   * Gives back the runs the database says this worker holds but it does not run (a claim whose
   * reply was lost), so that they are claimed again.
   */
  async releaseUnknown(): Promise<number> {
    const owned = await actionRunsOwned(this.ctx.handle.db, this.ctx.workerId());
    const unknown = owned.filter((id) => !this.running.has(id));
    if (unknown.length === 0) return 0;
    const released = await actionRunsRelease(this.ctx.handle.db, this.ctx.workerId(), unknown);
    if (released.length > 0) this.ctx.log('warn', `released ${released.length} action run(s) it never received`);
    return released.length;
  }

  private async run(action: ClaimedAction): Promise<void> {
    this.actionsRun++;
    this.ctx.log('info', `running action ${action.action_id} (${action.trigger_type}, ${action.action_type})`);
    const outcome = await executeAction(action, {
      workflowId: this.ctx.workflowId,
      workerId: this.ctx.workerId(),
      outputDir: this.ctx.outputDir,
      handle: this.ctx.handle,
      nodePath: process.execPath,
      cliPath: this.ctx.cliPath,
      slurm: this.ctx.slurm,
      signal: this.abort.signal,
      terminationGraceMs: this.ctx.terminationGraceMs,
    });
    if (!outcome.succeeded)
      this.ctx.log('warn', `action ${action.action_id} failed: ${outcome.message ?? 'unknown reason'}`);
    try {
      await retryWithBackoff(() => actionRunsFinish(this.ctx.handle.db, action.run_id, outcome), {
        initialDelayMs: 500,
        maxDelayMs: 5_000,
        shouldStop: () => this.ctx.givingUp(),
        onRetry: (e) => this.ctx.log('warn', `recording action ${action.action_id} failed, will retry: ${errMsg(e)}`),
      });
    } catch (e) {
      // Whoever declares this worker lost or stopped records the run as abandoned.
      this.ctx.log('error', `could not record action ${action.action_id}: ${errMsg(e)}`);
    }
  }
}
