import {
  actionRunsFinish,
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
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** called when an action ends: the loop may claim again (jobs held back by it, say) */
  onFinished: () => void;
}

/** The actions one worker claims and runs, each in the background beside its jobs. */
export class ActionRunner {
  private readonly running = new Set<Promise<void>>();
  actionsRun = 0;

  constructor(private readonly ctx: ActionRunnerContext) {}

  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Claims every pending action among `types` this worker can run and starts each in the background. */
  async start(types: readonly TriggerType[]): Promise<void> {
    for (;;) {
      const action = await actionsClaimPending(this.ctx.handle.db, this.ctx.workerId(), types);
      if (!action) return;
      const done = this.run(action).finally(() => {
        this.running.delete(done);
        this.ctx.onFinished();
      });
      this.running.add(done);
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
    await Promise.all(this.running);
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
    });
    if (!outcome.succeeded)
      this.ctx.log('warn', `action ${action.action_id} failed: ${outcome.message ?? 'unknown reason'}`);
    await retryWithBackoff(() => actionRunsFinish(this.ctx.handle.db, action.run_id, outcome), {
      attempts: 6,
      initialDelayMs: 500,
      maxDelayMs: 16_000,
      onRetry: (e) => this.ctx.log('warn', `recording action ${action.action_id} failed, will retry: ${errMsg(e)}`),
    });
  }
}
