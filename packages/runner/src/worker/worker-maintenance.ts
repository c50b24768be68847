import { jobsOwned, jobsRequeue, type SluiceDb, workersReap } from '@sluice/core';
import type { ActionRunner } from './action-runner.js';
import { executionKey, type JobRunner } from './job-runner.js';

export interface MaintenanceContext {
  handle: SluiceDb;
  workflowId: number;
  workerId: number;
  jobs: JobRunner;
  actions: ActionRunner;
  terminationGraceMs: number;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
}

/**
 * Declares silent workers lost, and makes what this worker runs agree with what the database
 * says it holds. Jobs it runs that are no longer its own (canceled, reset, ended by a reap) are
 * stopped; after a database error (`afterError`), claims whose reply was lost (the database says
 * it holds them, it runs nothing for them) are given back, and so are action runs.
 */
export async function reconcileWorker(ctx: MaintenanceContext, afterError: boolean): Promise<void> {
  const db = ctx.handle.db;
  await workersReap(db, ctx.workflowId);
  const owned = await jobsOwned(db, ctx.workerId);
  const stopped = ctx.jobs.stopDisowned(owned, ctx.terminationGraceMs);
  if (stopped > 0) ctx.log('warn', `stopped ${stopped} job(s) that are no longer this worker's`);
  if (!afterError) return;
  const held = ctx.jobs.held();
  const unknown = owned.filter((e) => !held.has(executionKey(e)));
  const requeued = await jobsRequeue(db, ctx.workerId, unknown);
  if (requeued.length > 0) ctx.log('warn', `gave back ${requeued.length} job claim(s) it never received`);
  await ctx.actions.releaseUnknown();
}
