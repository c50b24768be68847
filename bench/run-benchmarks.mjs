// pnpm bench [--quick] [--only <figure>[,<figure>...]] [--reps N] [--list] [--verbose]
//
// Runs every benchmark figure against a real PostgreSQL ($SLUICE_BENCH_DATABASE_URL, else
// postgres://postgres@127.0.0.1:5432/postgres), each run in a fresh database cloned from a
// migrated template, with its baselines interleaved in the same repetitions. Prints a table and
// writes bench/results/latest.json (see BENCHMARKS.md). Needs `pnpm run build` first.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateSluice, SLUICE_CLI } from './adapters/sluice-setup-adapter.mjs';
import { figure as cascade } from './figures/cascade-figure.mjs';
import { figure as claims } from './figures/claims-at-scale-figure.mjs';
import { figure as coordinator } from './figures/coordinator-throughput-figure.mjs';
import { figure as creation } from './figures/creation-figure.mjs';
import { figure as endToEnd } from './figures/end-to-end-figure.mjs';
import { figure as fanIn } from './figures/fan-in-figure.mjs';
import { figure as inspection } from './figures/inspection-at-scale-figure.mjs';
import { figure as latency } from './figures/latency-figure.mjs';
import { figure as listeners } from './figures/many-listeners-figure.mjs';
import { figure as monitoring } from './figures/monitoring-overhead-figure.mjs';
import { figure as resources } from './figures/resource-claiming-figure.mjs';
import { figure as triggers } from './figures/trigger-overhead-figure.mjs';
import { DatabaseFactory } from './lib/bench-database.mjs';
import { ADMIN_URL, loadAverage, machineInfo, parseBenchArgs, serverInfo } from './lib/bench-environment.mjs';
import { migrateGraphile } from './lib/graphile-harness.mjs';
import { createPools } from './lib/process-pool.mjs';
import { printTable, RESULTS_DIR, writeResults } from './lib/results-report.mjs';
import { ScratchServer } from './lib/scratch-server.mjs';

const FIGURES = [
  coordinator,
  endToEnd,
  resources,
  latency,
  creation,
  claims,
  inspection,
  triggers,
  listeners,
  fanIn,
  cascade,
  monitoring,
];

const args = parseBenchArgs(process.argv.slice(2));
if (args.help || args.list) {
  process.stdout.write(
    'pnpm bench [--quick] [--only <figure>[,...]] [--reps N] [--verbose]\n\nfigures:\n' +
      FIGURES.map((f) => `  ${f.name.padEnd(12)} ${f.title}`).join('\n') +
      '\n',
  );
  process.exit(0);
}
const unknown = args.only.filter((n) => !FIGURES.some((f) => f.name === n));
if (unknown.length) {
  process.stderr.write(`bench: unknown figure ${unknown.join(', ')} (--list shows them)\n`);
  process.exit(2);
}
if (!existsSync(SLUICE_CLI)) {
  process.stderr.write(`bench: ${SLUICE_CLI} is missing: run \`pnpm run build\` first\n`);
  process.exit(2);
}
const selected = args.only.length ? FIGURES.filter((f) => args.only.includes(f.name)) : FIGURES;

const log = (msg) => process.stderr.write(`${msg}\n`);
const prepareTemplate = async (url) => {
  await migrateSluice(url);
  await migrateGraphile(url);
};

const dbs = new DatabaseFactory(ADMIN_URL);
const pools = createPools();
const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
let scratch = null;
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await Promise.all(Object.values(pools).map((p) => p.close()));
  await dbs.dropAll();
  if (scratch) await scratch.stop().catch((e) => log(`bench: stopping the scratch server failed: ${e.message}`));
  rmSync(tmpDir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    log(`bench: ${sig}, cleaning up`);
    cleanup().finally(() => process.exit(130));
  });

const run = {
  startedAt: new Date().toISOString(),
  mode: args.quick ? 'quick' : 'full',
  only: args.only,
  machine: machineInfo(),
  loadAverageAtStart: loadAverage(),
  server: await serverInfo().catch((e) => {
    process.stderr.write(
      `bench: cannot reach PostgreSQL at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')}: ${e.message}\n`,
    );
    rmSync(tmpDir, { recursive: true, force: true });
    process.exit(1);
  }),
  figures: {},
};
log(
  `bench: ${run.mode} run, ${run.machine.cores} cores, ${run.machine.memoryGiB} GiB, load ${run.loadAverageAtStart.join(' ')}, ` +
    `PostgreSQL ${run.server.version}`,
);

const entries = [];
const shared = {};
const t0 = performance.now();
try {
  await dbs.init(prepareTemplate);
  const ctx = {
    quick: args.quick,
    reps: args.reps ?? 3,
    dbs,
    pools,
    tmpDir,
    log: args.verbose ? log : () => {},
    /** A derived template built once per suite run and shared by figures (6 and 7's sweep). */
    sharedTemplate(key, prepare) {
      shared[key] ??= dbs.derivedTemplate(key, prepare);
      return shared[key];
    },
    /** A private server for what the shared one cannot hold (figure 9's connections). */
    async scratchDatabases(maxConnections) {
      if (!scratch) {
        scratch = new ScratchServer({
          settingsFrom: run.server.settings,
          version: run.server.version,
          maxConnections,
          log,
        });
        await scratch.start();
        scratch.dbs = new DatabaseFactory(scratch.adminUrl);
        await scratch.dbs.init(prepareTemplate);
        run.scratchServer = { port: scratch.port, maxConnections };
      }
      return scratch.dbs;
    },
  };
  for (const f of selected) {
    const ft = performance.now();
    log(`bench: ${f.title}`);
    try {
      const r = await f.run(ctx);
      entries.push(...r.entries);
      run.figures[f.name] = { seconds: Number(((performance.now() - ft) / 1000).toFixed(1)), ...r.details };
      for (const e of r.entries) log(`  ${e.name}: ${e.value} ${e.unit} (ratio ${e.ratio ?? '-'}, ${e.met ?? '-'})`);
    } catch (e) {
      log(`bench: ${f.name} failed: ${e.stack ?? e}`);
      run.figures[f.name] = { error: String(e.message ?? e) };
      for (const name of f.entryNames)
        entries.push({
          name,
          value: null,
          unit: '',
          baseline: null,
          baseline_value: null,
          ratio: null,
          target: 'run must succeed',
          met: false,
          note: `failed: ${String(e.message ?? e).slice(0, 300)}`,
        });
    }
  }
} finally {
  if (scratch?.dbs) await scratch.dbs.dropAll();
  await cleanup();
}
run.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
run.loadAverageAtEnd = loadAverage();
printTable(entries);
writeResults(entries, run);
const met = entries.filter((e) => e.met === true).length;
const targeted = entries.filter((e) => e.met !== null).length;
log(
  `\nbench: ${met}/${targeted} targets met in ${run.seconds} s (load ${run.loadAverageAtEnd.join(' ')}); results in ${RESULTS_DIR}`,
);
// Pools of the libraries used for set-up (migrations) may keep the event loop alive.
process.exit(0);
