// Figure 2: end-to-end. N `true` jobs run by 2 `sluice worker` processes x 8 in flight
// (--max-parallel-jobs 8), timed from spawning the workers to their exit. Baselines in the same
// repetitions: the spawn floor (2 node processes spawning `true` 8 at a time, N in all, timed
// from spawn to exit) and graphile-worker (2 processes x concurrency 8, batched mode, a task
// that spawns `true`; timed from spawn to the queue being empty).
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { openSluiceObserver } from '../adapters/coordinator-adapter.mjs';
import { startMaxParallelWorker } from '../adapters/end-to-end-adapter.mjs';
import { setUpWorkflow } from '../adapters/sluice-setup-adapter.mjs';
import { writeIndependentJobsSpec } from '../adapters/spec-adapter.mjs';
import { withFreshDatabase } from '../lib/bench-database.mjs';
import { BENCH_DIR, nowMs, startNodeChild } from '../lib/child-process-harness.mjs';
import { addGraphileJobs, openGraphileObserver, startGraphileWorker } from '../lib/graphile-harness.mjs';
import { entry, interleave, median, pairedRatio } from '../lib/statistics.mjs';
import { runFleet } from '../lib/worker-fleet.mjs';

const FLOOR = path.join(BENCH_DIR, 'processes/spawn-floor-process.mjs');
export const PROCESSES = 2;
export const IN_FLIGHT = 8;

const shares = (n, k) => Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));

/** A template database holding the initialized workflow of numJobs `true` jobs. */
export function trueJobsTemplate(ctx, numJobs) {
  const specPath = writeIndependentJobsSpec(path.join(ctx.tmpDir, `e2e-${numJobs}.json`), numJobs, 'true');
  return ctx.dbs.derivedTemplate('e2e_sluice', (url) => setUpWorkflow(url, specPath));
}

/** Sluice worker processes (start(url, id, outputDir)) from spawn to exit; returns jobs/s. */
export async function sluiceWorkersRun(ctx, { template, numJobs, start }) {
  const { id } = template.value;
  return withFreshDatabase(
    ctx.dbs,
    'e2e_sluice',
    async ({ url }) => {
      const outputDir = mkdtempSync(path.join(ctx.tmpDir, 'out-'));
      try {
        const t0 = nowMs();
        const workers = Array.from({ length: PROCESSES }, () => start(url, id, outputDir));
        const exits = await Promise.all(workers.map((w) => w.exited));
        const ms = nowMs() - t0;
        const bad = exits.findIndex((e) => e.code !== 0);
        if (bad >= 0)
          throw new Error(
            `sluice worker exited ${exits[bad].code ?? exits[bad].signal}: ${workers[bad].stderr.slice(-1500)}`,
          );
        const observer = await openSluiceObserver(url, id);
        try {
          if (!(await observer.drained())) throw new Error('the workers exited before the workflow was complete');
        } finally {
          await observer.close();
        }
        return numJobs / (ms / 1000);
      } finally {
        rmSync(outputDir, { recursive: true, force: true });
      }
    },
    template,
  );
}

/** PROCESSES node processes spawning `true` IN_FLIGHT at a time, numJobs in all; jobs/s. */
export async function spawnFloorRun(numJobs) {
  const t0 = nowMs();
  const procs = shares(numJobs, PROCESSES).map((n) => startNodeChild(FLOOR, [String(n), 'true', String(IN_FLIGHT)]));
  const exits = await Promise.all(procs.map((p) => p.exited));
  const ms = nowMs() - t0;
  if (exits.some((e) => e.code !== 0)) throw new Error(`spawn floor failed: ${procs.map((p) => p.stderr).join(' ')}`);
  return numJobs / (ms / 1000);
}

async function graphileSpawnRun(ctx, numJobs) {
  return withFreshDatabase(ctx.dbs, 'e2e_graphile', async ({ url }) => {
    await addGraphileJobs(url, 'spawn-true', numJobs);
    const observer = openGraphileObserver(url);
    try {
      const r = await runFleet({
        count: PROCESSES,
        start: () =>
          startGraphileWorker(url, {
            task: 'spawn-true',
            concurrency: IN_FLIGHT,
            maxPoolSize: 3,
            batched: true,
            localQueueSize: IN_FLIGHT + 1,
          }),
        total: numJobs,
        countKey: 'executed',
        go: () => 0,
        observer,
        stopMessage: true,
        clockFromSpawn: true,
      });
      return numJobs / (r.ms / 1000);
    } finally {
      await observer.close();
    }
  });
}

export const figure = {
  name: 'end-to-end',
  title: `2. end-to-end: true jobs, ${PROCESSES} sluice workers x --max-parallel-jobs ${IN_FLIGHT}`,
  entryNames: ['end_to_end_vs_spawn_floor', 'end_to_end_vs_graphile'],
  async run(ctx) {
    const numJobs = ctx.quick ? 300 : 5_000;
    const template = await trueJobsTemplate(ctx, numJobs);
    const runs = await interleave(
      ctx.reps,
      ['sluice', 'floor', 'graphile'],
      (v) => {
        if (v === 'sluice')
          return sluiceWorkersRun(ctx, {
            template,
            numJobs,
            start: (url, id, out) => startMaxParallelWorker(url, id, out, IN_FLIGHT),
          });
        if (v === 'floor') return spawnFloorRun(numJobs);
        return graphileSpawnRun(ctx, numJobs);
      },
      ctx.log,
    ).finally(() => template.drop());
    const note = `${numJobs} jobs, ${PROCESSES} processes x ${IN_FLIGHT}`;
    return {
      entries: [
        entry({
          name: 'end_to_end_vs_spawn_floor',
          value: median(runs.sluice),
          unit: 'jobs/s',
          baseline: `spawn floor: ${PROCESSES} node processes spawning true ${IN_FLIGHT} at a time`,
          baselineValue: median(runs.floor),
          ratio: pairedRatio(runs.sluice, runs.floor),
          target: { ratioAtLeast: 0.8 },
          note,
        }),
        entry({
          name: 'end_to_end_vs_graphile',
          value: median(runs.sluice),
          unit: 'jobs/s',
          baseline: `graphile-worker batched, ${PROCESSES} processes x concurrency ${IN_FLIGHT}, task spawns true`,
          baselineValue: median(runs.graphile),
          ratio: pairedRatio(runs.sluice, runs.graphile),
          target: { ratioAtLeast: 1.2 },
        }),
      ],
      details: { numJobs, runs },
    };
  },
};
