// ADAPTER (figures 1, 9, 10, and the job status changes of 6, 7, 8): Sluice's coordinator SQL
// driven like a worker drives it, with execution replaced by a no-op. A driver registers as a
// worker, claims a batch (jobsClaimReady, which also records the jobs started), and completes
// what "ran" in batches (jobsComplete); it waits for NOTIFY (NotificationListener) when nothing is ready.
import {
  jobsClaimReady,
  jobsComplete,
  NotificationListener,
  openPool,
  workersRegister,
  workersStop,
  workflowsGetState,
} from '@sluice/core';
import { WORKER_DEFAULTS } from '@sluice/runner';

/** The worker's claim batch: what one claim asks for. */
export const CLAIM_BATCH = WORKER_DEFAULTS.claimBatchSize;

/** Connections one driver holds: its pool (claims on one, completions on the other) + LISTEN. */
export const CONNECTIONS_PER_DRIVER = 3;

export async function registerWorker(h, workflowId, { numCpus = 64, maxParallelJobs = null } = {}) {
  const w = await workersRegister(h.db, {
    workflowId,
    hostname: 'bench',
    pid: process.pid,
    osUser: null,
    numCpus,
    memoryBytes: 2 ** 40,
    numGpus: 0,
    numNodes: 1,
    maxParallelJobs,
    endsAt: null,
    heartbeatTimeoutSeconds: 3600,
  });
  return w.id;
}

/** Claims like a worker with --max-parallel-jobs: any ready jobs, up to `limit`. */
export const claimJobs = (h, workerId, limit) =>
  jobsClaimReady(h.db, {
    workerId,
    limit,
    useResources: false,
    freeCpus: 0,
    freeMemoryBytes: 0,
    freeGpus: 0,
    freeNodes: 0,
    maxRuntimeSeconds: null,
  });

/** Claims like a worker without --max-parallel-jobs: jobs that fit in the free resources. */
export const claimJobsByResources = (h, workerId, { limit, cpus }) =>
  jobsClaimReady(h.db, {
    workerId,
    limit,
    useResources: true,
    freeCpus: cpus,
    freeMemoryBytes: 2 ** 40,
    freeGpus: 0,
    freeNodes: 1,
    maxRuntimeSeconds: null,
  });

export const completeJobs = (h, workerId, jobs, at = new Date()) =>
  jobsComplete(
    h.db,
    workerId,
    jobs.map((j) => ({
      jobId: j.id,
      attempt: j.attempt,
      status: 'completed',
      returnCode: 0,
      startedAt: at,
      completedAt: at,
      message: null,
      stdoutPath: null,
      stderrPath: null,
    })),
  );

export async function workflowDone(h, workflowId) {
  const s = await workflowsGetState(h.db, workflowId);
  return s.run_id > 0 && s.unfinished_jobs === 0;
}

/**
 * The operations of the no-op driver (lib/noop-driver.mjs) for one Sluice worker.
 */
export async function openSluiceDriver(url, workflowId) {
  const h = openPool(url, { max: CONNECTIONS_PER_DRIVER - 1, applicationName: 'sluice-bench-driver' });
  let wake = null;
  let notified = false;
  const listener = new NotificationListener({
    url,
    onNotify: (n) => {
      if (n !== null && n.workflowId !== workflowId) return;
      notified = true;
      wake?.();
    },
  });
  await listener.start();
  const workerId = await registerWorker(h, workflowId, { maxParallelJobs: CLAIM_BATCH });
  return {
    workerId,
    claim: (limit) => {
      notified = false;
      return claimJobs(h, workerId, limit);
    },
    complete: (jobs) => completeJobs(h, workerId, jobs),
    done: () => workflowDone(h, workflowId),
    /** Resolves on a notification for the workflow, or after ms. */
    waitForWork: (ms) =>
      new Promise((resolve) => {
        if (notified) return resolve();
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = null;
          resolve();
        }
        wake = done;
      }),
    async close() {
      await workersStop(h.db, workerId).catch(() => {});
      await listener.stop();
      await h.close();
    },
  };
}

/** For the parent: whether the workflow is done (the drained check). */
export async function openSluiceObserver(url, workflowId) {
  const h = openPool(url, { max: 1, applicationName: 'sluice-bench-observer' });
  return { drained: () => workflowDone(h, workflowId), close: () => h.close() };
}
