// Figure 1: coordinator throughput. N no-op jobs through Sluice's claim/start/complete SQL with
// 1, 2 and 4 driver processes; baselines in the same repetitions: graphile-worker in batched
// mode with the same processes, batch size and connections, and the raw SQL floor.
import path from 'node:path';
import { CLAIM_BATCH, CONNECTIONS_PER_DRIVER, openSluiceObserver } from '../adapters/coordinator-adapter.mjs';
import { setUpWorkflow } from '../adapters/sluice-setup-adapter.mjs';
import { writeIndependentJobsSpec } from '../adapters/spec-adapter.mjs';
import { withFreshDatabase } from '../lib/bench-database.mjs';
import { addGraphileJobs, openGraphileObserver } from '../lib/graphile-harness.mjs';
import { openRawObserver, setupRawQueue } from '../lib/raw-sql-floor.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';
import { runFleet } from '../lib/worker-fleet.mjs';

const driverConfig = (url, kind, workflowId) => (i) => ({ url, kind, workflowId, workerIndex: i });

const goNow = (children) => {
  const t0 = performance.now();
  for (const c of children) c.send({ type: 'go' });
  return t0;
};

/** A template database holding the initialized workflow of numJobs no-op jobs. */
export function sluiceNoopTemplate(dbs, tmpDir, numJobs) {
  const specPath = writeIndependentJobsSpec(path.join(tmpDir, `coord-${numJobs}.json`), numJobs);
  return dbs.derivedTemplate('coord_sluice', (url) => setUpWorkflow(url, specPath));
}

/** One timed run of Sluice's drivers; returns jobs/s. `around(url, run)` may wrap the run (figure 9). */
export async function sluiceNoopRun({ dbs, pools }, { template, numJobs, workers, around = (_url, run) => run() }) {
  const { id } = template.value;
  return withFreshDatabase(
    dbs,
    'coord_sluice',
    async ({ url }) => {
      const observer = await openSluiceObserver(url, id);
      try {
        const r = await around(url, () =>
          runFleet({
            count: workers,
            pool: pools.driver,
            configure: driverConfig(url, 'sluice', id),
            total: numJobs,
            countKey: 'committed',
            go: goNow,
            observer,
          }),
        );
        return { rate: numJobs / (r.ms / 1000), errors: r.done.reduce((s, d) => s + d.stats.errors, 0) };
      } finally {
        await observer.close();
      }
    },
    template,
  );
}

async function graphileRun({ dbs, pools }, { numJobs, workers }) {
  return withFreshDatabase(dbs, 'coord_graphile', async ({ url }) => {
    const observer = openGraphileObserver(url);
    try {
      const r = await runFleet({
        count: workers,
        pool: pools.graphile,
        configure: () => ({
          url,
          task: 'noop',
          concurrency: CLAIM_BATCH,
          maxPoolSize: CONNECTIONS_PER_DRIVER,
          batched: true,
          localQueueSize: CLAIM_BATCH,
        }),
        total: numJobs,
        countKey: 'executed',
        go: () => addGraphileJobs(url, 'noop', numJobs),
        observer,
        stopMessage: true,
      });
      return { rate: numJobs / (r.ms / 1000) };
    } finally {
      await observer.close();
    }
  });
}

async function rawRun({ dbs, pools }, { rawTemplate, numJobs, workers }) {
  return withFreshDatabase(
    dbs,
    'coord_raw',
    async ({ url }) => {
      const observer = openRawObserver(url);
      try {
        const r = await runFleet({
          count: workers,
          pool: pools.driver,
          configure: driverConfig(url, 'raw', 0),
          total: numJobs,
          countKey: 'committed',
          go: goNow,
          observer,
        });
        return { rate: numJobs / (r.ms / 1000) };
      } finally {
        await observer.close();
      }
    },
    rawTemplate,
  );
}

export const figure = {
  name: 'coordinator',
  title: '1. coordinator throughput (no-op jobs, claim/start/complete SQL)',
  entryNames: [1, 2, 4].flatMap((w) => [`coordinator_throughput_${w}w`, `coordinator_raw_floor_${w}w`]),
  async run(ctx) {
    const numJobs = ctx.quick ? 2_000 : 50_000;
    const workerCounts = [1, 2, 4];
    const template = await sluiceNoopTemplate(ctx.dbs, ctx.tmpDir, numJobs);
    const rawTemplate = await ctx.dbs.derivedTemplate('coord_raw', (url) => setupRawQueue(url, numJobs));
    const variants = workerCounts.flatMap((w) => ['sluice', 'graphile', 'raw'].map((k) => `${k}@${w}`));
    const runs = await interleave(
      ctx.reps,
      variants,
      (v) => {
        const [kind, w] = v.split('@');
        const opts = { template, rawTemplate, numJobs, workers: Number(w) };
        if (kind === 'sluice') return sluiceNoopRun(ctx, opts);
        if (kind === 'graphile') return graphileRun(ctx, opts);
        return rawRun(ctx, opts);
      },
      ctx.log,
    ).finally(async () => {
      await template.drop();
      await rawTemplate.drop();
    });
    const rates = (v) => runs[v].map((r) => r.rate);
    const entries = [];
    for (const w of workerCounts) {
      const s = rates(`sluice@${w}`);
      const errors = runs[`sluice@${w}`].reduce((a, r) => a + r.errors, 0);
      entries.push(
        entry({
          name: `coordinator_throughput_${w}w`,
          value: median(s),
          unit: 'jobs/s',
          baseline: `graphile-worker batched, ${w} process(es)`,
          baselineValue: median(rates(`graphile@${w}`)),
          ratio: pairedRatio(s, rates(`graphile@${w}`)),
          target: { ratioAtLeast: 1.0 },
          note: `${numJobs} jobs; ${errors} SQL error(s) retried`,
        }),
        entry({
          name: `coordinator_raw_floor_${w}w`,
          value: median(s),
          unit: 'jobs/s',
          baseline: `raw SQL floor (SKIP LOCKED claim + batch update), ${w} process(es)`,
          baselineValue: median(rates(`raw@${w}`)),
          ratio: pairedRatio(s, rates(`raw@${w}`)),
          target: null,
        }),
      );
    }
    return { entries, details: { numJobs, claimBatch: CLAIM_BATCH, runs } };
  },
};
