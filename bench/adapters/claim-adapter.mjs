// ADAPTER (figure 6): one claim as a worker makes it, on a connection of its own (so the
// claim function is planned afresh, as on a worker's first claim), in both claim modes.
import { openPool } from '@sluice/core';
import { claimJobs, claimJobsByResources, registerWorker } from './coordinator-adapter.mjs';

export const CLAIM_MODES = {
  /** default claiming: jobs that fit 8 free cpus (1-cpu jobs: 8 of them) */
  resources: { register: { numCpus: 8 }, claim: (h, w) => claimJobsByResources(h, w, { limit: 64, cpus: 8 }) },
  /** --max-parallel-jobs 8 */
  'max-parallel': { register: { maxParallelJobs: 8 }, claim: (h, w) => claimJobs(h, w, 8) },
};

export async function registerClaimWorker(url, workflowId, mode) {
  const h = openPool(url, { max: 1 });
  try {
    return await registerWorker(h, workflowId, CLAIM_MODES[mode].register);
  } finally {
    await h.close();
  }
}

/** Times one claim (ms) on a new connection; connecting is not timed. */
export async function timeOneClaim(url, workerId, mode) {
  const h = openPool(url, { max: 1, applicationName: 'sluice-bench-claim' });
  try {
    await h.pool.query('SELECT 1');
    const t0 = performance.now();
    const jobs = await CLAIM_MODES[mode].claim(h, workerId);
    const ms = performance.now() - t0;
    if (jobs.length === 0) throw new Error(`the ${mode} claim returned no job`);
    return ms;
  } finally {
    await h.close();
  }
}
