// Figure 12 (the torc-parity issue's): resource monitoring must not slow dispatch. 1,000 short
// jobs (200 with --quick) run by 2 `sluice worker` processes x 8 in flight with
// resource_monitor enabled (time_series, sampling every second: each job's process tree read
// while it runs), against the same workflow without monitoring, in the same repetitions.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startMaxParallelWorker } from '../adapters/end-to-end-adapter.mjs';
import { setUpWorkflow } from '../adapters/sluice-setup-adapter.mjs';
import { jobSpec } from '../adapters/spec-adapter.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';
import { IN_FLIGHT, sluiceWorkersRun } from './end-to-end-figure.mjs';

// Long enough for a job to be sampled at least once at the shortest interval torc allows.
const COMMAND = 'sleep 0.1';

function writeSpec(file, numJobs, monitored) {
  const jobs = Array.from({ length: numJobs }, (_, i) => jobSpec(i, COMMAND));
  const monitor = monitored
    ? { enabled: true, granularity: 'time_series', sample_interval_seconds: 1 }
    : { enabled: false };
  writeFileSync(file, JSON.stringify({ name: `bench-monitor-${monitored}`, resource_monitor: monitor, jobs }));
  return file;
}

export const figure = {
  name: 'monitoring',
  title: '12. resource monitoring overhead: 1k short jobs, monitored vs not',
  entryNames: ['monitoring_overhead'],
  async run(ctx) {
    const numJobs = ctx.quick ? 200 : 1_000;
    const templates = {};
    for (const monitored of [true, false]) {
      const spec = writeSpec(path.join(ctx.tmpDir, `monitor-${monitored}-${numJobs}.json`), numJobs, monitored);
      templates[monitored ? 'monitored' : 'plain'] = await ctx.dbs.derivedTemplate(`monitor_${monitored}`, (url) =>
        setUpWorkflow(url, spec),
      );
    }
    try {
      const runs = await interleave(
        ctx.reps,
        ['monitored', 'plain'],
        (v) =>
          sluiceWorkersRun(ctx, {
            template: templates[v],
            numJobs,
            start: (url, id, out) => startMaxParallelWorker(url, id, out, IN_FLIGHT),
          }),
        ctx.log,
      );
      return {
        entries: [
          entry({
            name: 'monitoring_overhead',
            value: median(runs.monitored),
            unit: 'jobs/s',
            baseline: 'the same workflow without resource_monitor',
            baselineValue: median(runs.plain),
            ratio: pairedRatio(runs.monitored, runs.plain),
            target: { ratioAtLeast: 0.9 },
            note: `${numJobs} jobs of \`${COMMAND}\`, 2 workers x ${IN_FLIGHT}, time_series sampling every 1 s`,
          }),
        ],
        details: { numJobs, runs },
      };
    } finally {
      for (const t of Object.values(templates)) await t.drop();
    }
  },
};
