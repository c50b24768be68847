// Dispatch latency: the time from a job's last instruction to (a) its dependent's first
// instruction and (b) the first command of an on_jobs_complete action watching it. Every
// timestamp is taken by the shell (`date +%s%N`) inside the job or action, so the figure
// includes process exit, the completing transaction, NOTIFY, the claim and the spawn.
// Baseline, in the same process: node spawning `bash -c 'date +%s%N'` directly (the floor any
// runner pays to start a shell). The worker polls every 60 s: only NOTIFY can explain
// millisecond figures.
//
//   pnpm build && node bench/dispatch-latency.bench.mjs [chain-length]
// (Standalone, in-process worker. `pnpm bench --only latency` measures the same with a
// `sluice worker` process and graphile-worker as a second baseline.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, openPool, workflowsCreate, workflowsInitialize } from '../packages/core/dist/index.js';
import { commandLineSlurm, resolveWorkerOptions, Worker } from '../packages/runner/dist/index.js';

const N = Number(process.argv[2] ?? 40);
const adminUrl = process.env.SLUICE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const url = new URL(adminUrl);
url.pathname = '/sluice_bench_latency';
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS sluice_bench_latency WITH (FORCE)');
await admin.query('CREATE DATABASE sluice_bench_latency');
await admin.end();
await migrate(url.toString());
const h = openPool(url.toString(), { max: 2 });

const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-latency-'));
const stamp = (name) => `date +%s%N > ${path.join(dir, name)}`;
const jobs = [];
const actions = [];
for (let i = 0; i < N; i++) {
  jobs.push({
    name: `j${i}`,
    command: `${stamp(`start_${i}`)}; ${stamp(`end_${i}`)}`,
    invocationScript: null,
    resourceRequirements: 'default',
    scheduler: null,
    cancelOnBlockingJobFailure: true,
    supportsTermination: false,
    dependsOn: i === 0 ? [] : [i - 1],
    inputFiles: [],
    outputFiles: [],
    inputUserData: [],
    outputUserData: [],
  });
  actions.push({
    triggerType: 'on_jobs_complete',
    actionType: 'run_commands',
    persistent: false,
    jobs: [i],
    commands: [stamp(`action_${i}`)],
    scheduler: null,
    schedulerType: null,
    numAllocations: null,
    startOneWorkerPerNode: false,
    maxParallelJobs: null,
  });
}
const wf = {
  name: 'latency',
  description: null,
  user: null,
  project: null,
  metadata: null,
  resourceRequirements: [
    {
      name: 'default',
      numCpus: 1,
      numGpus: 0,
      numNodes: 1,
      memory: '1m',
      memoryBytes: 1 << 20,
      runtime: 'PT1M',
      runtimeSeconds: 60,
    },
  ],
  slurmSchedulers: [],
  slurmDefaults: {},
  files: [],
  userData: [],
  jobs,
  actions,
};

const read = (name) => BigInt(readFileSync(path.join(dir, name), 'utf8').trim());
const ms = (ns) => Number(ns) / 1e6;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

// Baseline: node -> bash -> date, measured the same way (a stamp taken just before spawning).
const base = [];
for (let i = 0; i < N; i++) {
  const wall0 = BigInt(Date.now()) * 1_000_000n;
  const out = execFileSync('bash', ['-c', 'date +%s%N'], { encoding: 'utf8' });
  const wall1 = BigInt(out.trim());
  base.push(ms(wall1 - wall0));
}

const id = await workflowsCreate(h.db, wf);
await workflowsInitialize(h.db, id);
const worker = new Worker(
  await resolveWorkerOptions(
    url.toString(),
    id,
    { outputDir: dir, maxParallelJobs: 4, pollIntervalMs: 60_000 },
    commandLineSlurm,
  ),
);
const t0 = Date.now();
await worker.run();
const wallMs = Date.now() - t0;

const jobToJob = [];
const jobToAction = [];
for (let i = 0; i < N; i++) {
  if (i + 1 < N) jobToJob.push(ms(read(`start_${i + 1}`) - read(`end_${i}`)));
  jobToAction.push(ms(read(`action_${i}`) - read(`end_${i}`)));
}
const show = (label, xs) =>
  console.log(
    `${label.padEnd(34)} p50 ${pct(xs, 50).toFixed(1)} ms  p90 ${pct(xs, 90).toFixed(1)} ms  max ${Math.max(...xs).toFixed(1)} ms` +
      `  (p50 ${(pct(xs, 50) / pct(base, 50)).toFixed(1)}x baseline)`,
  );
show('baseline: node spawns bash+date', base);
show('job end -> dependent job start', jobToJob);
show('job end -> action first command', jobToAction);
console.log(`chain of ${N} jobs with ${N} actions: ${wallMs} ms wall`);
await h.close();
