// Figure 7: inspection at scale, on a workflow of 1M independent jobs (100k with --quick) with
// 10% of them completed: `sluice workflows status`, run's progress query (workflowsGet) and
// `sluice jobs list --json --limit 1000`; baseline in the same repetitions: the same calls on a
// 1k-job workflow (10% completed). Where `jobs list` has no --limit yet, the unbounded call is
// measured and the entry is marked not met.
import { completeSomeJobs, jobsListHasLimit, openInspector } from '../adapters/inspection-adapter.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';
import { sweepTemplate } from './claims-at-scale-figure.mjs';

async function prepare(ctx, numJobs, withLimit) {
  const template = await sweepTemplate(ctx, numJobs);
  const db = await template.clone(`inspect_${numJobs}`);
  const { id } = template.value;
  await completeSomeJobs(db.url, id, Math.round(numJobs / 10));
  return { db, inspector: openInspector(db.url, id, withLimit) };
}

export const figure = {
  name: 'inspection',
  title: '7. inspection at scale: workflows status, workflowsGet, jobs list',
  entryNames: ['inspect_workflows_status', 'inspect_workflows_get', 'inspect_jobs_list'],
  async run(ctx) {
    const bigJobs = ctx.quick ? 100_000 : 1_000_000;
    const withLimit = await jobsListHasLimit(ctx.dbs.urlOf(ctx.dbs.template));
    const small = await prepare(ctx, 1_000, withLimit);
    const big = await prepare(ctx, bigJobs, withLimit);
    try {
      const calls = ['status', 'progress', 'jobsList'];
      const variants = calls.flatMap((c) => [`big:${c}`, `small:${c}`]);
      const runs = await interleave(
        ctx.reps,
        variants,
        async (v) => {
          const [size, call] = v.split(':');
          const r = await (size === 'big' ? big : small).inspector[call]();
          return typeof r === 'number' ? { ms: r } : r;
        },
        ctx.log,
      );
      const ms = (v) => runs[v].map((r) => r.ms);
      const mk = (name, call, what, extra = {}) =>
        entry({
          name,
          value: median(ms(`big:${call}`)),
          unit: 'ms',
          baseline: `${what} on a 1k-job workflow`,
          baselineValue: median(ms(`small:${call}`)),
          ratio: pairedRatio(ms(`big:${call}`), ms(`small:${call}`)),
          target: { ratioAtMost: 2.0 },
          ...extra,
        });
      const rows = runs['big:jobsList'][0]?.rows;
      return {
        entries: [
          mk('inspect_workflows_status', 'status', '`sluice workflows status` (process wall time)', {
            note: `${bigJobs} jobs, 10% completed`,
          }),
          mk('inspect_workflows_get', 'progress', 'workflowsGet (warm connection)'),
          mk(
            'inspect_jobs_list',
            'jobsList',
            `\`sluice jobs list --json${withLimit ? ' --limit 1000' : ''}\` (process wall time)`,
            withLimit
              ? { note: `printed ${rows} rows` }
              : { ok: false, note: `\`jobs list\` has no --limit: measured unbounded (${rows} rows), so not met` },
          ),
        ],
        details: { bigJobs, withLimit, runs },
      };
    } finally {
      await big.inspector.close();
      await small.inspector.close();
      await big.db.drop();
      await small.db.drop();
    }
  },
};
