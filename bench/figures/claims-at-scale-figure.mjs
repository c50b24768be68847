// Figure 6: claims at scale. One claim (resource-based, and --max-parallel-jobs style) on a
// workflow of 1M independent jobs (100k with --quick) right after `workflows create` +
// `initialize`, without a manual ANALYZE; baseline in the same repetitions: the same claim on a
// 1k-job workflow. Each claim runs on a new connection.
import path from 'node:path';
import { registerClaimWorker, timeOneClaim } from '../adapters/claim-adapter.mjs';
import { createAndInitialize } from '../adapters/sluice-setup-adapter.mjs';
import { writeIndependentJobsSpec } from '../adapters/spec-adapter.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';

/**
 * A template holding a freshly created and initialized sweep of numJobs `true` jobs (through the
 * CLI), shared with figure 7: a clone of it is in the state right after creation (no ANALYZE,
 * no statistics; autovacuum, if on, has had no time to run on the clone).
 */
export function sweepTemplate(ctx, numJobs) {
  return ctx.sharedTemplate(`sweep_${numJobs}`, (url) => {
    const spec = writeIndependentJobsSpec(path.join(ctx.tmpDir, `sweep-${numJobs}.json`), numJobs, 'true');
    return createAndInitialize(url, spec);
  });
}

async function prepare(ctx, numJobs) {
  const template = await sweepTemplate(ctx, numJobs);
  const db = await template.clone(`claims_${numJobs}`);
  const { id } = template.value;
  const workers = {
    resources: await registerClaimWorker(db.url, id, 'resources'),
    'max-parallel': await registerClaimWorker(db.url, id, 'max-parallel'),
  };
  return { db, id, workers };
}

export const figure = {
  name: 'claims',
  title: '6. claims at scale: one claim right after creating a big workflow (no ANALYZE)',
  entryNames: ['claim_at_scale_resources', 'claim_at_scale_max_parallel'],
  async run(ctx) {
    const bigJobs = ctx.quick ? 100_000 : 1_000_000;
    const small = await prepare(ctx, 1_000);
    const big = await prepare(ctx, bigJobs);
    try {
      const variants = ['big:resources', 'small:resources', 'big:max-parallel', 'small:max-parallel'];
      const runs = await interleave(
        Math.max(ctx.reps, 5),
        variants,
        (v) => {
          const [size, mode] = v.split(':');
          const w = size === 'big' ? big : small;
          return timeOneClaim(w.db.url, w.workers[mode], mode);
        },
        ctx.log,
      );
      const mk = (name, mode, label) =>
        entry({
          name,
          value: median(runs[`big:${mode}`]),
          unit: 'ms',
          baseline: `the same claim on a 1k-job workflow`,
          baselineValue: median(runs[`small:${mode}`]),
          ratio: pairedRatio(runs[`big:${mode}`], runs[`small:${mode}`]),
          target: { ratioAtMost: 2.0 },
          note: `${label} on ${bigJobs} ready jobs, fresh connection per claim`,
        });
      return {
        entries: [
          mk('claim_at_scale_resources', 'resources', 'resource-based claim (8 cpus free)'),
          mk('claim_at_scale_max_parallel', 'max-parallel', '--max-parallel-jobs 8 claim'),
        ],
        details: { bigJobs, runs },
      };
    } finally {
      await big.db.drop();
      await small.db.drop();
    }
  },
};
