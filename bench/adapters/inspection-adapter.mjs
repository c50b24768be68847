// ADAPTER (figure 7): what a user or `sluice run` reads while a workflow runs:
// `sluice workflows status <id>`, run's progress query (workflowsGet), and
// `sluice jobs list <id> --json --limit 1000` (unbounded where --limit does not exist yet).
// Also the set-up: a share of the jobs claimed and completed through the SQL.
import { openPool, workflowsGet } from '@sluice/core';
import { claimJobs, completeJobs, registerWorker } from './coordinator-adapter.mjs';
import { runSluice } from './sluice-setup-adapter.mjs';

export const JOBS_LIST_LIMIT = 1000;

/** Whether `sluice jobs list` takes --limit (asked of its --help). */
export async function jobsListHasLimit(url) {
  const r = await runSluice(url, ['jobs', 'list', '--help']);
  return /--limit\b/.test(r.stdout);
}

/** Claims, starts and completes `count` jobs of the workflow in batches (one driver). */
export async function completeSomeJobs(url, workflowId, count) {
  const h = openPool(url, { max: 1 });
  try {
    const w = await registerWorker(h, workflowId, { maxParallelJobs: 1000 });
    for (let done = 0; done < count; ) {
      const jobs = await claimJobs(h, w, Math.min(1000, count - done));
      if (jobs.length === 0) break;
      await completeJobs(h, w, jobs);
      done += jobs.length;
    }
  } finally {
    await h.close();
  }
}

export function openInspector(url, workflowId, withLimit) {
  const h = openPool(url, { max: 1 });
  const id = String(workflowId);
  return {
    /** wall time (ms) of the `workflows status` process */
    status: async () => (await runSluice(url, ['workflows', 'status', id])).ms,
    /** time (ms) of one workflowsGet on a warm connection */
    progress: async () => {
      await h.pool.query('SELECT 1');
      const t0 = performance.now();
      await workflowsGet(h.db, workflowId);
      return performance.now() - t0;
    },
    /** wall time (ms) of the `jobs list --json` process, and how many rows it printed */
    jobsList: async () => {
      const r = await runSluice(url, [
        'jobs',
        'list',
        id,
        '--json',
        ...(withLimit ? ['--limit', String(JOBS_LIST_LIMIT)] : []),
      ]);
      return { ms: r.ms, rows: JSON.parse(r.stdout).length };
    },
    close: () => h.close(),
  };
}
