// Figure 8: trigger overhead. 100k jobs (10k with --quick) claimed and completed through the
// SQL in the worker's batches, with 1k on_jobs_complete actions (100 with --quick) watching
// them, 100 jobs each; baseline in the same repetitions: the same jobs without actions.
import path from 'node:path';
import { setUpWorkflow } from '../adapters/sluice-setup-adapter.mjs';
import { claimAndCompleteAll, writeWatchedSpec } from '../adapters/trigger-adapter.mjs';
import { withFreshDatabase } from '../lib/bench-database.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';

export const figure = {
  name: 'triggers',
  title: '8. trigger overhead: job status changes with and without watching actions',
  entryNames: ['trigger_overhead'],
  async run(ctx) {
    const numJobs = ctx.quick ? 5_000 : 100_000;
    const numActions = numJobs / 100;
    const templates = {};
    for (const [v, actions] of [
      ['actions', numActions],
      ['plain', 0],
    ]) {
      const spec = writeWatchedSpec(path.join(ctx.tmpDir, `watched-${numJobs}-${actions}.json`), numJobs, actions);
      templates[v] = await ctx.dbs.derivedTemplate(`triggers_${v}`, (url) => setUpWorkflow(url, spec));
    }
    const runs = await interleave(
      ctx.reps,
      ['actions', 'plain'],
      (v) =>
        withFreshDatabase(
          ctx.dbs,
          `triggers_${v}`,
          async ({ url }) => {
            const r = await claimAndCompleteAll(url, templates[v].value.id);
            if (r.done !== numJobs) throw new Error(`claimed ${r.done} of ${numJobs} jobs`);
            return r.ms / 1000;
          },
          templates[v],
        ),
      ctx.log,
    ).finally(async () => {
      for (const t of Object.values(templates)) await t.drop();
    });
    return {
      entries: [
        entry({
          name: 'trigger_overhead',
          value: median(runs.actions),
          unit: 's',
          baseline: 'the same claims and completions without actions',
          baselineValue: median(runs.plain),
          ratio: pairedRatio(runs.actions, runs.plain),
          target: { ratioAtMost: 1.5 },
          note: `${numJobs} jobs claimed + completed (${2 * numJobs} status changes), ${numActions} actions watching`,
        }),
      ],
      details: { numJobs, numActions, runs },
    };
  },
};
