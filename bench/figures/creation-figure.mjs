// Figure 5: creating a big workflow. A spec of 100k jobs, 100k dependencies and 1k actions,
// created and initialized through the CLI (`workflows create --initialize`, the process timed,
// node start-up and spec parsing included; at 100k also `workflows create` + `workflows
// initialize`, both processes timed); and 1M jobs, 1M dependencies and 10k actions (not with
// --quick), with the peak RSS of the creating process. Baseline in the same repetitions: a bare
// unnest() INSERT of the same rows into unindexed tables.
import path from 'node:path';
import { createViaCli, createViaCliTwoSteps, writeCreationSpec } from '../adapters/creation-adapter.mjs';
import { bareInsert, stagedRows } from '../lib/bare-insert-baseline.mjs';
import { withFreshDatabase } from '../lib/bench-database.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';

async function measure(ctx, numJobs, numActions, { twoSteps }) {
  const specPath = writeCreationSpec(path.join(ctx.tmpDir, `creation-${numJobs}.json`), numJobs, numActions);
  let rows = null;
  const runs = await interleave(
    ctx.reps,
    twoSteps ? ['sluice', 'two_steps', 'bare'] : ['sluice', 'bare'],
    async (v) => {
      if (v === 'sluice')
        return withFreshDatabase(ctx.dbs, 'creation_sluice', async ({ url }) => {
          const r = await createViaCli(url, specPath);
          return { rate: numJobs / (r.ms / 1000), ms: r.ms, maxRssMiB: r.maxRssKiB / 1024 };
        });
      if (v === 'two_steps')
        return withFreshDatabase(ctx.dbs, 'creation_two_steps', async ({ url }) => {
          const r = await createViaCliTwoSteps(url, specPath);
          const ms = r.createMs + r.initMs;
          return { rate: numJobs / (ms / 1000), createMs: r.createMs, initMs: r.initMs };
        });
      rows ??= stagedRows(numJobs, numActions);
      return withFreshDatabase(ctx.dbs, 'creation_bare', async ({ url }) => {
        const ms = await bareInsert(url, rows);
        return { rate: numJobs / (ms / 1000), ms };
      });
    },
    ctx.log,
  );
  const col = (v, k) => runs[v].map((r) => r[k]);
  return { numJobs, numActions, runs, col };
}

const BASELINE = 'bare unnest() INSERT of the same rows into unindexed tables';

function rateEntry(name, m) {
  return entry({
    name,
    value: median(m.col('sluice', 'rate')),
    unit: 'jobs/s',
    baseline: BASELINE,
    baselineValue: median(m.col('bare', 'rate')),
    ratio: pairedRatio(m.col('sluice', 'rate'), m.col('bare', 'rate')),
    target: { valueAtLeast: 100_000 },
    note:
      `${m.numJobs} jobs, ${m.numJobs} dependencies, ${m.numActions} actions: \`workflows create --initialize\` ` +
      `${median(m.col('sluice', 'ms')).toFixed(0)} ms` +
      (m.runs.two_steps
        ? `; \`workflows create\` ${median(m.col('two_steps', 'createMs')).toFixed(0)} ms + \`workflows initialize\` ` +
          `${median(m.col('two_steps', 'initMs')).toFixed(0)} ms (${median(m.col('two_steps', 'rate')).toFixed(0)} jobs/s)`
        : ''),
  });
}

const rssEntry = (name, m) =>
  entry({
    name,
    value: median(m.col('sluice', 'maxRssMiB')),
    unit: 'MiB',
    target: null,
    note: 'peak RSS of `sluice workflows create --initialize`',
  });

export const figure = {
  name: 'creation',
  title: '5. creation: spec -> created + initialized through the CLI',
  entryNames: ['creation_rate', 'creation_peak_rss', 'creation_1m_rate', 'creation_1m_peak_rss'],
  async run(ctx) {
    const small = await measure(ctx, ctx.quick ? 10_000 : 100_000, ctx.quick ? 100 : 1_000, { twoSteps: true });
    const entries = [rateEntry('creation_rate', small), rssEntry('creation_peak_rss', small)];
    const details = { small: { numJobs: small.numJobs, runs: small.runs } };
    if (ctx.quick) {
      const note = 'not run with --quick';
      entries.push(
        entry({
          name: 'creation_1m_rate',
          unit: 'jobs/s',
          baseline: BASELINE,
          target: { valueAtLeast: 100_000 },
          skipped: true,
          note,
        }),
        entry({ name: 'creation_1m_peak_rss', unit: 'MiB', target: null, skipped: true, note }),
      );
    } else {
      const big = await measure(ctx, 1_000_000, 10_000, { twoSteps: false });
      entries.push(rateEntry('creation_1m_rate', big), rssEntry('creation_1m_peak_rss', big));
      details.big = { numJobs: big.numJobs, runs: big.runs };
    }
    return { entries, details };
  },
};
