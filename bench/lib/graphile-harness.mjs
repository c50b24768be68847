// The graphile-worker baselines (0.17.3): its schema in the template database, bulk job
// inserts through graphile_worker.add_jobs, and worker processes (processes/graphile-worker-process.mjs).
import { runMigrations } from 'graphile-worker';
import pg from 'pg';
import { startNodeChild } from './child-process-harness.mjs';
import { GRAPHILE_SCRIPT } from './process-pool.mjs';

export async function migrateGraphile(url) {
  await runMigrations({ connectionString: url, logger: undefined });
}

/**
 * Adds n jobs of task `identifier` (payload {i}) in one transaction. Returns performance.now()
 * taken just before COMMIT: the jobs are invisible to the workers until then.
 */
export async function addGraphileJobs(url, identifier, n) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(
      `SELECT graphile_worker.add_jobs(array(
         SELECT ($1::text, json_build_object('i', g), null, null, null, null, null, null)::graphile_worker.job_spec
           FROM generate_series(0, $2::int - 1) g))`,
      [identifier, n],
    );
    const t0 = performance.now();
    await c.query('COMMIT');
    return t0;
  } finally {
    await c.end();
  }
}

export function openGraphileObserver(url) {
  const c = new pg.Client({ connectionString: url });
  const ready = c.connect();
  return {
    drained: async () => {
      await ready;
      return (await c.query('SELECT NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS d')).rows[0].d;
    },
    close: () => c.end(),
  };
}

/**
 * Batched mode as graphile-worker documents it (worker.graphile.org/docs/performance): a local
 * queue that locks and fetches `localQueueSize` jobs at a time, and completions written in
 * batches. `batched: false` is graphile-worker's default mode. A fresh process (its start-up is
 * part of what is timed); reused processes come from ctx.pools.graphile.
 */
export function startGraphileWorker(url, cfg) {
  return startNodeChild(GRAPHILE_SCRIPT, [JSON.stringify({ url, ...cfg })], { label: 'graphile-worker' });
}
