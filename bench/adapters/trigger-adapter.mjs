// ADAPTER (figure 8): job status changes through the SQL, one driver on one connection: claim
// a batch (ready -> pending) and complete it (pending -> completed), until none is left.
import { openPool } from '@sluice/core';
import { CLAIM_BATCH, claimJobs, completeJobs, registerWorker } from './coordinator-adapter.mjs';
import { onJobsCompleteAction, writeIndependentJobsSpec } from './spec-adapter.mjs';

/** numJobs independent jobs; numActions on_jobs_complete actions each watching an equal slice. */
export function writeWatchedSpec(file, numJobs, numActions) {
  const per = Math.ceil(numJobs / Math.max(1, numActions));
  return writeIndependentJobsSpec(file, numJobs, 'true', {
    numActions,
    action: (k) => {
      const idx = [];
      for (let i = k * per; i < Math.min(numJobs, (k + 1) * per); i++) idx.push(i);
      return onJobsCompleteAction(idx, ['true']);
    },
  });
}

/** Claims and completes every job; returns the time (ms) and the jobs done. */
export async function claimAndCompleteAll(url, workflowId) {
  const h = openPool(url, { max: 1 });
  try {
    const w = await registerWorker(h, workflowId, { maxParallelJobs: CLAIM_BATCH });
    let done = 0;
    const t0 = performance.now();
    for (;;) {
      const jobs = await claimJobs(h, w, CLAIM_BATCH);
      if (jobs.length === 0) break;
      await completeJobs(h, w, jobs);
      done += jobs.length;
    }
    return { ms: performance.now() - t0, done };
  } finally {
    await h.close();
  }
}
