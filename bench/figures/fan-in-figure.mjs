// Figure 10: fan-in. 10k jobs (2k with --quick) into one barrier job, driven by 8 no-op driver
// processes (figure 1's) at once: no deadlock, no error, and the time it takes.
import path from 'node:path';
import { openSluiceObserver } from '../adapters/coordinator-adapter.mjs';
import { writeFanInSpec } from '../adapters/fan-in-adapter.mjs';
import { setUpWorkflow } from '../adapters/sluice-setup-adapter.mjs';
import { withFreshDatabase } from '../lib/bench-database.mjs';
import { entry, interleave, median } from '../lib/statistics.mjs';
import { runFleet } from '../lib/worker-fleet.mjs';

const WORKERS = 8;

export const figure = {
  name: 'fan-in',
  title: `10. fan-in: jobs into one barrier, ${WORKERS} drivers`,
  entryNames: ['fan_in'],
  async run(ctx) {
    const numJobs = ctx.quick ? 1_000 : 10_000;
    const specPath = writeFanInSpec(path.join(ctx.tmpDir, `fan-in-${numJobs}.json`), numJobs);
    const template = await ctx.dbs.derivedTemplate('fan_in', (url) => setUpWorkflow(url, specPath));
    const { id } = template.value;
    const runs = await interleave(
      ctx.reps,
      ['sluice'],
      () =>
        withFreshDatabase(
          ctx.dbs,
          'fan_in',
          async ({ url }) => {
            const observer = await openSluiceObserver(url, id);
            try {
              const r = await runFleet({
                count: WORKERS,
                pool: ctx.pools.driver,
                configure: (i) => ({ url, kind: 'sluice', workflowId: id, workerIndex: i }),
                total: numJobs + 1,
                countKey: 'committed',
                go: (children) => {
                  const t0 = performance.now();
                  for (const c of children) c.send({ type: 'go' });
                  return t0;
                },
                observer,
                timeoutMs: 300_000,
              });
              const errors = r.done.reduce((s, d) => s + d.stats.errors, 0);
              const lastError = r.done.map((d) => d.stats.lastError).find(Boolean) ?? null;
              return { s: r.ms / 1000, errors, lastError };
            } catch (e) {
              return { s: null, errors: 1, lastError: String(e.message ?? e) };
            } finally {
              await observer.close();
            }
          },
          template,
        ),
      ctx.log,
    ).finally(() => template.drop());
    const all = runs.sluice;
    const errors = all.reduce((s, r) => s + r.errors, 0);
    const lastError = all.map((r) => r.lastError).find(Boolean);
    return {
      entries: [
        entry({
          name: 'fan_in',
          value: median(all.map((r) => r.s).filter((x) => x !== null)),
          unit: 's',
          target: { ok: true, label: 'no deadlock or error' },
          ok: errors === 0 && all.every((r) => r.s !== null),
          note: `${numJobs} jobs + 1 barrier, ${WORKERS} driver processes; ${errors} error(s)${lastError ? `, e.g. ${lastError.slice(0, 200)}` : ''}`,
        }),
      ],
      details: { numJobs, runs },
    };
  },
};
