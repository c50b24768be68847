// Figure 4: dispatch latency. A chain of jobs run by one `sluice worker`: a job's end to its
// dependent's start, and (in a second chain with one on_jobs_complete action per job) a watched
// job's end to its action's first command, all from timestamps the shell takes itself, so
// process exit and start are included. Baselines in the same repetitions: graphile-worker
// (default mode, concurrency 1) whose task runs the same shell command and then adds the next
// job, measured the same way; and node spawning bash (`date +%s%N`) directly.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startLatencyWorker, writeChainSpec } from '../adapters/latency-adapter.mjs';
import { setUpWorkflow } from '../adapters/sluice-setup-adapter.mjs';
import { withFreshDatabase } from '../lib/bench-database.mjs';
import { wallNs } from '../lib/child-process-harness.mjs';
import { addGraphileJobs, startGraphileWorker } from '../lib/graphile-harness.mjs';
import { entry, interleave, median, pairedRatio, percentile } from '../lib/statistics.mjs';

const run = promisify(execFile);
const readNs = (dir, name) => BigInt(readFileSync(path.join(dir, name), 'utf8').trim());
const gapsMs = (dir, n, from, to, offset) => {
  const out = [];
  for (let i = 0; i + offset < n; i++)
    out.push(Number(readNs(dir, `${to}_${i + offset}`) - readNs(dir, `${from}_${i}`)) / 1e6);
  return out;
};
const summary = (xs) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) });

async function sluiceChain(ctx, length, withActions) {
  return withFreshDatabase(ctx.dbs, 'latency_sluice', async ({ url }) => {
    const dir = mkdtempSync(path.join(ctx.tmpDir, 'stamps-'));
    try {
      const spec = writeChainSpec(path.join(dir, 'chain.json'), { length, stampDir: dir, withActions });
      const { id } = await setUpWorkflow(url, spec);
      const w = startLatencyWorker(url, id, path.join(dir, 'out'));
      const exit = await w.exited;
      if (exit.code !== 0)
        throw new Error(`sluice worker exited ${exit.code ?? exit.signal}: ${w.stderr.slice(-1500)}`);
      return withActions
        ? summary(gapsMs(dir, length, 'end', 'action', 0))
        : summary(gapsMs(dir, length, 'end', 'start', 1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function graphileChain(ctx, length) {
  return withFreshDatabase(ctx.dbs, 'latency_graphile', async ({ url }) => {
    const dir = mkdtempSync(path.join(ctx.tmpDir, 'stamps-'));
    const w = startGraphileWorker(url, {
      task: 'chain',
      concurrency: 1,
      maxPoolSize: 3,
      batched: false,
      stampDir: dir,
      chainLength: length,
    });
    try {
      await w.waitFor('ready');
      await addGraphileJobs(url, 'chain', 1);
      await w.waitFor('chain-done', 300_000);
      w.send({ type: 'stop' });
      await w.waitFor('stopped');
      return summary(gapsMs(dir, length, 'end', 'start', 1));
    } finally {
      w.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function bashSpawn(length) {
  const xs = [];
  for (let i = 0; i < length; i++) {
    const t = wallNs();
    const { stdout } = await run('bash', ['-c', 'date +%s%N']);
    xs.push(Number(BigInt(stdout.trim()) - t) / 1e6);
  }
  return summary(xs);
}

export const figure = {
  name: 'latency',
  title: '4. latency: job end -> dependent start, job end -> action first command',
  entryNames: [
    'latency_job_to_job_p50',
    'latency_job_to_job_p99',
    'latency_job_to_action_p50',
    'latency_job_to_action_p99',
    'latency_job_to_job_vs_spawn_p50',
  ],
  async run(ctx) {
    const length = ctx.quick ? 20 : 200;
    const runs = await interleave(
      ctx.reps,
      ['sluice', 'sluice-actions', 'graphile', 'bash'],
      (v) => {
        if (v === 'sluice') return sluiceChain(ctx, length, false);
        if (v === 'sluice-actions') return sluiceChain(ctx, length, true);
        if (v === 'graphile') return graphileChain(ctx, length);
        return bashSpawn(length);
      },
      ctx.log,
    );
    const col = (v, k) => runs[v].map((r) => r[k]);
    const gw = 'graphile-worker: end of task i -> start of task i+1 (task spawns the same shell)';
    return {
      entries: [
        entry({
          name: 'latency_job_to_job_p50',
          value: median(col('sluice', 'p50')),
          unit: 'ms',
          baseline: `${gw}, p50`,
          baselineValue: median(col('graphile', 'p50')),
          ratio: pairedRatio(col('sluice', 'p50'), col('graphile', 'p50')),
          target: { ratioAtMost: 1.0 },
          note: `chain of ${length} jobs, medians over ${ctx.reps} chains`,
        }),
        entry({
          name: 'latency_job_to_job_p99',
          value: median(col('sluice', 'p99')),
          unit: 'ms',
          baseline: `${gw}, p99`,
          baselineValue: median(col('graphile', 'p99')),
          ratio: pairedRatio(col('sluice', 'p99'), col('graphile', 'p99')),
          target: { valueAtMost: 50 },
        }),
        entry({
          name: 'latency_job_to_action_p50',
          value: median(col('sluice-actions', 'p50')),
          unit: 'ms',
          baseline: `${gw}, p50`,
          baselineValue: median(col('graphile', 'p50')),
          ratio: pairedRatio(col('sluice-actions', 'p50'), col('graphile', 'p50')),
          target: { ratioAtMost: 1.0 },
        }),
        entry({
          name: 'latency_job_to_action_p99',
          value: median(col('sluice-actions', 'p99')),
          unit: 'ms',
          baseline: `${gw}, p99`,
          baselineValue: median(col('graphile', 'p99')),
          ratio: pairedRatio(col('sluice-actions', 'p99'), col('graphile', 'p99')),
          target: { valueAtMost: 50 },
        }),
        entry({
          name: 'latency_job_to_job_vs_spawn_p50',
          value: median(col('sluice', 'p50')),
          unit: 'ms',
          baseline: 'node spawning bash -c "date +%s%N", p50',
          baselineValue: median(col('bash', 'p50')),
          ratio: pairedRatio(col('sluice', 'p50'), col('bash', 'p50')),
          target: null,
        }),
      ],
      details: { length, runs },
    };
  },
};
