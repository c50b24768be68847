// Creating a big workflow: a 100k-job spec with 100k dependencies, loaded, inserted and
// initialized. Baseline, in the same process and database: a bare unnest() insert of the same
// number of job and dependency rows into unindexed scratch tables, so the ratio says what the
// schema (indexes, constraints, triggers) and the spec loader cost on top of raw writes.
//
//   pnpm build && node bench/create-workflow.bench.mjs [jobs]
// (Standalone, in-process, one step at a time. `pnpm bench --only creation` measures the same
// through the CLI with actions and a 1M-job size.)
// Uses SLUICE_BENCH_DATABASE_URL, else the local server on 127.0.0.1:5432 (database sluice_bench,
// recreated).
import pg from 'pg';
import { migrate, openPool, workflowsCreate, workflowsInitialize } from '../packages/core/dist/index.js';
import { loadSpecText } from '../packages/core/dist/spec/index.js';

const N = Number(process.argv[2] ?? 100_000);
const adminUrl = process.env.SLUICE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const benchUrl = new URL(adminUrl);
benchUrl.pathname = '/sluice_bench';

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS sluice_bench WITH (FORCE)');
await admin.query('CREATE DATABASE sluice_bench');
await admin.end();
await migrate(benchUrl.toString());
const h = openPool(benchUrl.toString(), { max: 2 });

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const time = async (fn) => {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: ms(t0) };
};

// Each job depends on the one before it, except the first: N - 1 dependencies, plus one
// fan-in job depending on job 0, so N dependencies in all.
const jobs = [];
for (let i = 0; i < N; i++) {
  jobs.push({ name: `job_${i}`, command: `echo ${i}`, ...(i > 0 ? { depends_on: [`job_${i - 1}`] } : {}) });
}
jobs.push({ name: 'fan_in', command: 'true', depends_on: ['job_0'] });
const specText = JSON.stringify({ name: 'bench', jobs });

const baseline = await time(async () => {
  const c = await h.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('CREATE TEMP TABLE b_jobs (id bigint, name text, command text, status text) ON COMMIT DROP');
    await c.query('CREATE TEMP TABLE b_deps (a bigint, b bigint) ON COMMIT DROP');
    const ids = jobs.map((_, i) => i + 1);
    await c.query("INSERT INTO b_jobs SELECT *, 'uninitialized' FROM unnest($1::bigint[], $2::text[], $3::text[])", [
      ids,
      jobs.map((j) => j.name),
      jobs.map((j) => j.command),
    ]);
    await c.query('INSERT INTO b_deps SELECT * FROM unnest($1::bigint[], $2::bigint[])', [
      ids.slice(1),
      ids.slice(0, -1),
    ]);
    await c.query('COMMIT');
  } finally {
    c.release();
  }
});

const load = await time(() => loadSpecText(specText, { format: 'json', source: 'bench.json' }));
const create = await time(() => workflowsCreate(h.db, load.value));
const init = await time(() => workflowsInitialize(h.db, create.value));

const deps = load.value.jobs.reduce((s, j) => s + j.dependsOn.length, 0);
const fmt = (x) => `${(x / 1000).toFixed(2)} s`;
console.log(`jobs ${load.value.jobs.length}, dependencies ${deps}`);
console.log(`baseline bare insert   ${fmt(baseline.ms)}`);
console.log(`load spec (parse+resolve) ${fmt(load.ms)}  (${(load.ms / baseline.ms).toFixed(2)}x baseline)`);
console.log(`create (one transaction) ${fmt(create.ms)}  (${(create.ms / baseline.ms).toFixed(2)}x baseline)`);
console.log(`initialize               ${fmt(init.ms)}  (${(init.ms / baseline.ms).toFixed(2)}x baseline)`);
console.log(`spec to initialized      ${fmt(load.ms + create.ms + init.ms)}`);
await h.close();
