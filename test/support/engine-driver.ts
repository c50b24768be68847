import {
  actionRunsFinish,
  actionsClaimPending,
  jobsClaimReady,
  jobsComplete,
  MAIN_LOOP_TRIGGER_TYPES,
  type SluiceDb,
  workersRegister,
} from '@sluice/core';
import { expect } from 'vitest';

/**
 * Drives the engine's SQL directly, as a worker would but without processes: registers a
 * worker, claims, completes. For tests of the database's behaviour.
 */
export async function registerTestWorker(h: SluiceDb, workflowId: number): Promise<number> {
  const w = await workersRegister(h.db, {
    workflowId,
    hostname: 'test',
    pid: 1,
    osUser: null,
    numCpus: 64,
    memoryBytes: 1e12,
    numGpus: 0,
    numNodes: 1,
    maxParallelJobs: null,
    endsAt: null,
    heartbeatTimeoutSeconds: 600,
  });
  return w.id;
}

export const SUCCEEDED = {
  succeeded: true,
  exitCode: 0,
  failedCommand: null,
  message: null,
  stdoutPath: null,
  stderrPath: null,
};

/** Runs (as succeeded) every action the worker can claim in its main loop. */
export async function runPendingActions(h: SluiceDb, workerId: number): Promise<void> {
  for (let a = await actionsClaimPending(h.db, workerId, MAIN_LOOP_TRIGGER_TYPES); a; ) {
    await actionRunsFinish(h.db, a.run_id, SUCCEEDED);
    a = await actionsClaimPending(h.db, workerId, MAIN_LOOP_TRIGGER_TYPES);
  }
}

/** Claims every ready job (or the first `limit`), like a worker with --max-parallel-jobs. */
export function claimAll(h: SluiceDb, workerId: number, limit = 1000) {
  return jobsClaimReady(h.db, {
    workerId,
    limit,
    useResources: false,
    freeCpus: 0,
    freeMemoryBytes: 0,
    freeGpus: 0,
    freeNodes: 0,
    maxRuntimeSeconds: null,
  });
}

/**
 * With a fresh worker: runs pending actions, claims every ready job, and finishes exactly the
 * named ones with the given statuses (the test fails if one of them was not ready).
 */
export async function finishJobs(
  h: SluiceDb,
  workflowId: number,
  outcome: Record<string, 'completed' | 'failed'>,
): Promise<void> {
  const w = await registerTestWorker(h, workflowId);
  await runPendingActions(h, w);
  const claimed = await claimAll(h, w);
  const done = claimed.filter((j) => outcome[j.name]);
  expect(done.map((j) => j.name).sort()).toEqual(Object.keys(outcome).sort());
  const now = new Date();
  await jobsComplete(
    h.db,
    w,
    done.map((j) => ({
      jobId: j.id,
      attempt: j.attempt,
      status: outcome[j.name] as 'completed' | 'failed',
      returnCode: outcome[j.name] === 'completed' ? 0 : 1,
      startedAt: now,
      completedAt: now,
      message: null,
      stdoutPath: null,
      stderrPath: null,
    })),
  );
}
