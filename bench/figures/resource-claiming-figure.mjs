// Figure 3: end-to-end with default resource-based claiming. The same `true` jobs (1 cpu each,
// the default requirements) run by 2 `sluice worker --num-cpus 8` processes, so each runs 8 at
// once; baseline in the same repetitions: the spawn floor at the same concurrency.
import { startResourceWorker } from '../adapters/end-to-end-adapter.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';
import { IN_FLIGHT, PROCESSES, sluiceWorkersRun, spawnFloorRun, trueJobsTemplate } from './end-to-end-figure.mjs';

export const figure = {
  name: 'resources',
  title: `3. end-to-end, resource-based claiming: ${PROCESSES} sluice workers x --num-cpus ${IN_FLIGHT}`,
  entryNames: ['end_to_end_resources_vs_spawn_floor'],
  async run(ctx) {
    const numJobs = ctx.quick ? 300 : 5_000;
    const template = await trueJobsTemplate(ctx, numJobs);
    const runs = await interleave(
      ctx.reps,
      ['sluice', 'floor'],
      (v) =>
        v === 'sluice'
          ? sluiceWorkersRun(ctx, {
              template,
              numJobs,
              start: (url, id, out) => startResourceWorker(url, id, out, IN_FLIGHT),
            })
          : spawnFloorRun(numJobs),
      ctx.log,
    ).finally(() => template.drop());
    return {
      entries: [
        entry({
          name: 'end_to_end_resources_vs_spawn_floor',
          value: median(runs.sluice),
          unit: 'jobs/s',
          baseline: `spawn floor: ${PROCESSES} node processes spawning true ${IN_FLIGHT} at a time`,
          baselineValue: median(runs.floor),
          ratio: pairedRatio(runs.sluice, runs.floor),
          target: { ratioAtLeast: 0.8 },
          note: `${numJobs} 1-cpu jobs, ${PROCESSES} processes x ${IN_FLIGHT} cpus`,
        }),
      ],
      details: { numJobs, runs },
    };
  },
};
