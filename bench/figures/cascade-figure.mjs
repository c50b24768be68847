// Figure 11 (the reliability issue's target): a failing root cancels its dependents in one
// set-based cascade. 100k direct dependents and a chain of 100k (10k each with --quick),
// through jobs_complete; baseline in the same repetitions: one bare UPDATE of the same rows
// with triggers off (what canceling them costs at the least).
import path from 'node:path';
import { bareCancel, failRoot, writeChainSpec, writeFanOutSpec } from '../adapters/cascade-adapter.mjs';
import { setUpWorkflow } from '../adapters/sluice-setup-adapter.mjs';
import { withFreshDatabase } from '../lib/bench-database.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';

const SHAPES = [
  { key: 'fan_out', write: writeFanOutSpec, what: 'direct dependents of the root' },
  { key: 'chain', write: writeChainSpec, what: 'jobs in a chain after the root' },
];

export const figure = {
  name: 'cascade',
  title: '11. failure cascade: a failing root cancels its dependents',
  entryNames: SHAPES.map((s) => `cascade_${s.key}`),
  async run(ctx) {
    const n = ctx.quick ? 10_000 : 100_000;
    const entries = [];
    const details = { n };
    for (const shape of SHAPES) {
      const spec = shape.write(path.join(ctx.tmpDir, `cascade-${shape.key}-${n}.json`), n);
      const template = await ctx.dbs.derivedTemplate(`cascade_${shape.key}`, (url) => setUpWorkflow(url, spec));
      const { id } = template.value;
      const runs = await interleave(
        ctx.reps,
        ['sluice', 'bare'],
        (v) =>
          withFreshDatabase(
            ctx.dbs,
            `cascade_${shape.key}`,
            ({ url }) => (v === 'sluice' ? failRoot(url, id) : bareCancel(url, id)),
            template,
          ),
        ctx.log,
      ).finally(() => template.drop());
      const wrong = [...runs.sluice, ...runs.bare].find((r) => r.canceled !== n);
      entries.push(
        entry({
          name: `cascade_${shape.key}`,
          value: median(runs.sluice.map((r) => r.s)),
          unit: 's',
          baseline: `one bare UPDATE canceling the same ${n} rows, triggers off`,
          baselineValue: median(runs.bare.map((r) => r.s)),
          ratio: pairedRatio(
            runs.sluice.map((r) => r.s),
            runs.bare.map((r) => r.s),
          ),
          target: { valueAtMost: 2 },
          ok: wrong ? false : undefined,
          note: wrong
            ? `canceled ${wrong.canceled} of ${n}: wrong`
            : `${n} ${shape.what}, canceled by the root's failing jobs_complete`,
        }),
      );
      details[shape.key] = runs;
    }
    return { entries, details };
  },
};
