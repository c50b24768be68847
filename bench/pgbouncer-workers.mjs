// node bench/pgbouncer-workers.mjs [--workers 150] [--pool-size 20] [--waves 5] [--fan 3000]
//                                  [--baseline-workers 10] [--worker-nice 10] [--quick] [--verbose]
//
// Many workers on one database: N `sluice worker --wake sse` processes on this machine, their
// database URL a private PgBouncer in transaction mode (scripts/pgbouncer-test.sh), woken by
// one `sluice server` (connected directly: its one LISTEN connection cannot go through the
// pooler). Reports the peak number of connections held on PostgreSQL (the bouncer's, the
// server's), the wake-up latency (a job made ready -> claimed, p50/p99) and jobs/s.
// Baseline, in the same run: B workers with `--wake listen` connected directly (2 connections
// each, so B stays small), on the same workflow shape with waves B wide.
// Standalone (not a `pnpm bench` figure: one run takes minutes and needs pgbouncer and root-free
// ports); writes bench/results/pgbouncer-workers.json. Needs `pnpm run build` first.
//
// The workflow: waves 1..W, each a gate job g_k and N jobs w_k_i after it (g_k after every job
// of wave k-1, g_1 after a file the bench writes once every worker is connected), then g_end
// after the last wave and a fan of F jobs after g_end. Every job is `true`. When g_k finishes,
// N jobs become ready at once and N-1 idle workers must be woken by the event stream: the
// latency of w_k_i is its job_started event (written by the claim) minus g_k's job_finished
// event, both clock_timestamp() on the server. jobs/s is F over the fan's span (g_end's finish
// to the last finish).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateSluice, SLUICE_CLI } from './adapters/sluice-setup-adapter.mjs';
import { DatabaseFactory } from './lib/bench-database.mjs';
import { ADMIN_URL, loadAverage, machineInfo, serverInfo } from './lib/bench-environment.mjs';
import { BENCH_DIR, REPO_DIR, sleep } from './lib/child-process-harness.mjs';
import { percentile } from './lib/statistics.mjs';

const { values: opt } = parseArgs({
  options: {
    workers: { type: 'string', default: '150' },
    'pool-size': { type: 'string', default: '20' },
    waves: { type: 'string' },
    fan: { type: 'string' },
    'baseline-workers': { type: 'string', default: '10' },
    'worker-nice': { type: 'string', default: '10' },
    quick: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
  },
});
const WORKERS = Number(opt.workers);
const POOL_SIZE = Number(opt['pool-size']);
const WAVES = Number(opt.waves ?? (opt.quick ? 2 : 5));
const FAN = Number(opt.fan ?? (opt.quick ? 600 : 3000));
const BASELINE_WORKERS = Number(opt['baseline-workers']);
// On a site each worker has a node of its own, and the server, PgBouncer and PostgreSQL hosts
// of their own; here 150 workers share two cores with them. Workers run at a lower priority
// (nice 10, both fleets alike), so that what is measured is the coordination, not a server
// starved of CPU by 150 processes that would be elsewhere (0: off).
const WORKER_NICE = Number(opt['worker-nice']);
const SCRIPT = path.join(REPO_DIR, 'scripts/pgbouncer-test.sh');
const RESULT_FILE = path.join(BENCH_DIR, 'results/pgbouncer-workers.json');

const log = (m) => process.stderr.write(`pgbouncer-workers: ${m}\n`);
const debug = (m) => opt.verbose && log(m);

if (!existsSync(SLUICE_CLI)) {
  log(`${SLUICE_CLI} is missing: run \`pnpm run build\` first`);
  process.exit(2);
}
if (![...(process.env.PATH ?? '').split(':'), '/usr/sbin'].some((d) => d && existsSync(path.join(d, 'pgbouncer')))) {
  log('pgbouncer is not installed: run `bash scripts/pgbouncer-test.sh install` (as root)');
  process.exit(2);
}

const urlAs = (url, user, port) => {
  const u = new URL(url);
  u.username = user;
  if (port) {
    u.hostname = '127.0.0.1';
    u.port = String(port);
  }
  return u.toString();
};

/** `sluice ...` to its end; throws with its stderr unless it exits 0. */
function sluice(args, env, cwd = REPO_DIR) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [SLUICE_CLI, ...args], { cwd, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`sluice ${args[0]} ${args[1] ?? ''} exited ${code}: ${err}`)),
    );
  });
}

/** A long-running `sluice` process whose stderr is kept (the last 4 kB). */
function startSluice(args, env, cwd, nice = 0) {
  const child = spawn(process.execPath, [SLUICE_CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const p = { child, stderr: '', warnings: 0 };
  child.stderr.on('data', (d) => {
    const s = String(d);
    p.warnings += (s.match(/\[worker (warn|error)\]/g) ?? []).length;
    p.stderr = (p.stderr + s).slice(-4000);
  });
  p.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  if (nice && child.pid) os.setPriority(child.pid, nice);
  return p;
}

function spec(name, width, release) {
  const lines = [`name: ${name}`, 'jobs:'];
  const job = (n, command, deps) => {
    lines.push(`  - name: ${n}`, `    command: ${JSON.stringify(command)}`);
    if (deps?.regex) lines.push(`    depends_on_regexes: [${JSON.stringify(deps.regex)}]`);
    else if (deps) lines.push(`    depends_on: [${deps.join(', ')}]`);
  };
  for (let k = 1; k <= WAVES; k++) {
    if (k === 1) job('g_1', `until [ -e ${release} ]; do sleep 0.05; done`);
    else job(`g_${k}`, 'true', { regex: `w_${k - 1}_[0-9]+` });
    for (let i = 1; i <= width; i++) job(`w_${k}_${i}`, 'true', [`g_${k}`]);
  }
  job('g_end', 'true', { regex: `w_${WAVES}_[0-9]+` });
  for (let i = 1; i <= FAN; i++) job(`f_${i}`, 'true', ['g_end']);
  return `${lines.join('\n')}\n`;
}

/** Established TCP connections to a local port, by the pid holding them (root sees every pid). */
function connectionsByPid(port) {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  const m = new Map();
  for (const x of out.matchAll(/pid=(\d+)/g)) m.set(Number(x[1]), (m.get(Number(x[1])) ?? 0) + 1);
  return m;
}

function rssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Peaks of pg_stat_activity on the bench database, by role, sampled every 200 ms. */
function sampleConnections(admin, dbName) {
  const peaks = { byRole: {}, byApp: {}, database: 0, cluster: 0, samples: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const r = await admin.query(
        `SELECT coalesce(usename, '') AS role, coalesce(application_name, '') AS app,
                count(*) FILTER (WHERE datname = $1)::int AS n, count(*)::int AS all
           FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY usename, application_name`,
        [dbName],
      );
      let db = 0;
      let all = 0;
      const byRole = {};
      const byApp = {};
      for (const row of r.rows) {
        byRole[row.role] = (byRole[row.role] ?? 0) + row.n;
        // Through the bouncer a backend carries the application_name of its last client.
        byApp[row.app] = (byApp[row.app] ?? 0) + row.n;
        db += row.n;
        all += row.all;
      }
      for (const [k, n] of Object.entries(byRole)) peaks.byRole[k] = Math.max(peaks.byRole[k] ?? 0, n);
      for (const [k, n] of Object.entries(byApp)) peaks.byApp[k] = Math.max(peaks.byApp[k] ?? 0, n);
      peaks.database = Math.max(peaks.database, db);
      peaks.cluster = Math.max(peaks.cluster, all);
      peaks.samples++;
      await sleep(200);
    }
  })();
  return {
    peaks,
    stop: async () => {
      stopped = true;
      await loop;
      return peaks;
    },
  };
}

async function waitUntil(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * One fleet over one workflow: creates it (through `dbUrl`, as the user), starts `count`
 * workers, releases g_1 once all are registered (and, for sse, streaming), waits for them all.
 */
async function runFleet({ label, count, wake, dbUrl, workerEnv, admin, dbName, tmp, serverPort }) {
  const dir = mkdtempSync(path.join(tmp, `${label}-`));
  const release = path.join(dir, 'release');
  const specFile = path.join(dir, 'spec.yaml');
  writeFileSync(specFile, spec(`pgbouncer-bench-${label}`, count, release));
  const env = { SLUICE_DATABASE_URL: dbUrl };
  const id = JSON.parse(await sluice(['workflows', 'create', specFile, '--json'], env, dir)).id;
  await sluice(['workflows', 'initialize', String(id)], env, dir);
  log(`${label}: workflow ${id}, starting ${count} workers (--wake ${wake})`);

  const sampler = sampleConnections(admin, dbName);
  const spawnedAt = Date.now();
  const workers = [];
  for (let i = 0; i < count; i++) {
    workers.push(
      startSluice(
        ['worker', String(id), '--wake', wake, '--output-dir', `out/w${i}`, '--max-parallel-jobs', '1'],
        { ...env, ...workerEnv },
        dir,
        WORKER_NICE,
      ),
    );
    // Spawned in tens, so that start-up does not starve the workers already running.
    if (i % 10 === 9) await sleep(100);
  }
  const pids = workers.map((w) => w.child.pid);
  const registered = async () =>
    (await admin.query('SELECT count(*)::int AS n FROM sluice.workers WHERE workflow_id = $1', [id])).rows[0].n;
  await waitUntil(`${count} workers to register`, async () => (await registered()) === count, 900_000);
  if (serverPort) {
    await waitUntil(
      `${count} event streams`,
      async () => {
        const byPid = connectionsByPid(serverPort);
        return pids.every((p) => (byPid.get(p) ?? 0) >= 1);
      },
      300_000,
    );
  }
  const startupS = (Date.now() - spawnedAt) / 1000;
  const rss = pids.map(rssKiB);
  log(`${label}: ${count} workers up after ${startupS.toFixed(1)} s; releasing the first gate`);
  writeFileSync(release, '');
  const releasedAt = Date.now();

  const exits = await Promise.all(workers.map((w) => w.exited));
  const wallS = (Date.now() - releasedAt) / 1000;
  const peaks = await sampler.stop();
  const failed = exits.filter((e) => e.code !== 0).length;
  const warned = workers.filter((w) => w.warnings > 0);
  const failedOnes = workers.filter((_, i) => exits[i].code !== 0);
  if (failed)
    log(
      `${label}: ${failed} worker(s) failed (${exits
        .filter((e) => e.code !== 0)
        .map((e) => e.signal ?? e.code)
        .join(', ')}); first stderr: ${failedOnes[0]?.stderr ?? ''}`,
    );
  else if (warned.length) log(`${label}: ${warned.length} worker(s) warned; first stderr: ${warned[0]?.stderr ?? ''}`);

  // Latency: each wave job's claim (job_started) after its gate's job_finished.
  const lat = await admin.query(
    `WITH ev AS (
       SELECT j.name, e.kind, e.created_at FROM sluice.events e JOIN sluice.jobs j ON j.id = e.job_id
        WHERE e.workflow_id = $1 AND e.kind IN ('job_started', 'job_finished'))
     SELECT extract(epoch FROM s.created_at - f.created_at) * 1000 AS ms
       FROM ev s JOIN ev f ON f.kind = 'job_finished' AND f.name = 'g_' || split_part(s.name, '_', 2)
      WHERE s.kind = 'job_started' AND s.name LIKE 'w\\_%'`,
    [id],
  );
  const ms = lat.rows.map((r) => Number(r.ms));
  const fan = await admin.query(
    `SELECT extract(epoch FROM max(e.created_at) FILTER (WHERE j.name LIKE 'f\\_%')
                              - max(e.created_at) FILTER (WHERE j.name = 'g_end')) AS s,
            count(*) FILTER (WHERE j.name LIKE 'f\\_%')::int AS n
       FROM sluice.events e JOIN sluice.jobs j ON j.id = e.job_id
      WHERE e.workflow_id = $1 AND e.kind = 'job_finished'`,
    [id],
  );
  const dup = await admin.query(
    `SELECT count(*)::int AS results, count(DISTINCT (job_id, attempt))::int AS attempts,
            count(*) FILTER (WHERE status <> 'completed')::int AS not_completed
       FROM sluice.results WHERE workflow_id = $1`,
    [id],
  );
  const unfinished = await admin.query(
    `SELECT j.name, r.status::text, r.return_code, r.message FROM sluice.results r JOIN sluice.jobs j ON j.id = r.job_id
      WHERE r.workflow_id = $1 AND r.status <> 'completed' LIMIT 5`,
    [id],
  );
  for (const u of unfinished.rows) log(`${label}: job ${u.name} ${u.status} (${u.return_code}): ${u.message}`);
  const total = WAVES * (count + 1) + 1 + FAN;
  const out = {
    label,
    wake,
    workers: count,
    workflowId: id,
    jobs: total,
    startupSeconds: Number(startupS.toFixed(1)),
    wallSeconds: Number(wallS.toFixed(1)),
    workerRssMiB: {
      median: Number((percentile(rss, 50) / 1024).toFixed(0)),
      total: Number((rss.reduce((a, b) => a + b, 0) / 1024 / 1024).toFixed(1)),
    },
    wakeLatencyMs: {
      samples: ms.length,
      p50: Number(percentile(ms, 50)?.toFixed(0)),
      p99: Number(percentile(ms, 99)?.toFixed(0)),
      max: Number(Math.max(...ms).toFixed(0)),
    },
    fanJobsPerSecond: Number((fan.rows[0].n / Number(fan.rows[0].s)).toFixed(1)),
    peakConnections: peaks,
    results: dup.rows[0],
    workersFailed: failed,
    workersWithWarnings: warned.length,
  };
  if (dup.rows[0].results !== total || dup.rows[0].attempts !== total || dup.rows[0].not_completed !== 0)
    log(`${label}: results do not match ${total} jobs run once: ${JSON.stringify(dup.rows[0])}`);
  debug(JSON.stringify(out));
  return out;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-pgbouncer-bench-'));
const dbs = new DatabaseFactory(ADMIN_URL);
const suffix = `${process.pid}`;
const serverRole = `bench_srv_${suffix}`;
const userRole = `bench_user_${suffix}`;
// Its own temp directory: pgbouncer runs as postgres when we are root, and tmp is root's alone.
const bouncerDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-pgbouncer-bench-bouncer-'));
let admin;
let server;
let bouncerStarted = false;
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await Promise.race([server.exited, sleep(10_000)]);
  }
  if (bouncerStarted) execFileSync('bash', [SCRIPT, 'stop', bouncerDir], { stdio: 'ignore' });
  rmSync(bouncerDir, { recursive: true, force: true });
  await admin?.end().catch(() => {});
  await dbs.dropAll();
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  for (const r of [serverRole, userRole]) await c.query(`DROP ROLE IF EXISTS ${r}`).catch(() => {});
  await c.end();
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    log(`${sig}, cleaning up`);
    cleanup().finally(() => process.exit(130));
  });

const run = {
  startedAt: new Date().toISOString(),
  machine: machineInfo(),
  loadAverageAtStart: loadAverage(),
  server: await serverInfo(),
  settings: {
    workers: WORKERS,
    poolSize: POOL_SIZE,
    waves: WAVES,
    fan: FAN,
    baselineWorkers: BASELINE_WORKERS,
    workerNice: WORKER_NICE,
  },
};
log(
  `${WORKERS} workers, pool ${POOL_SIZE}, ${WAVES} waves, fan ${FAN}; ${run.machine.cores} cores, load ${run.loadAverageAtStart.join(' ')}`,
);
try {
  await dbs.init(migrateSluice);
  const db = await dbs.fresh('pgbouncer_workers');
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${serverRole} LOGIN IN ROLE sluice_server`);
  await sluice(['admin', 'add-user', userRole], { SLUICE_DATABASE_URL: db.url });

  const started = execFileSync('bash', [SCRIPT, 'start', bouncerDir, userRole], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PGBOUNCER_TEST_POOL_SIZE: String(POOL_SIZE),
      PGBOUNCER_TEST_MAX_CLIENTS: String(WORKERS + 100),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  bouncerStarted = true;
  const bouncerPort = Number(/PGBOUNCER_PORT=(\d+)/.exec(started)?.[1]);
  const viaBouncer = urlAs(db.url, userRole, bouncerPort);

  server = startSluice(['server', '--port', '0'], { SLUICE_DATABASE_URL: urlAs(db.url, serverRole) }, REPO_DIR);
  const serverUrl = await waitUntil(
    'the server to listen',
    async () => {
      if (server.child.exitCode !== null) throw new Error(`sluice server exited: ${server.stderr}`);
      return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr)?.[1];
    },
    60_000,
  );
  const serverPort = Number(new URL(serverUrl).port);
  const token = JSON.parse(
    await sluice(['tokens', 'create', '--name', 'bench', '--json'], { SLUICE_DATABASE_URL: viaBouncer }),
  ).token;

  const common = { admin, dbName: db.name, tmp };
  run.baseline =
    BASELINE_WORKERS > 0
      ? await runFleet({
          ...common,
          label: 'direct-listen',
          count: BASELINE_WORKERS,
          wake: 'listen',
          dbUrl: urlAs(db.url, userRole),
          workerEnv: {},
        })
      : null;
  run.pooled = await runFleet({
    ...common,
    label: 'pgbouncer-sse',
    count: WORKERS,
    wake: 'sse',
    dbUrl: viaBouncer,
    // The token through the environment only, never on a command line.
    workerEnv: { SLUICE_SERVER_URL: serverUrl, SLUICE_API_TOKEN: token },
    serverPort,
  });
  run.bouncerPool = POOL_SIZE;
  run.ratios = run.baseline
    ? {
        wakeP50: Number((run.pooled.wakeLatencyMs.p50 / run.baseline.wakeLatencyMs.p50).toFixed(2)),
        fanJobsPerSecond: Number((run.pooled.fanJobsPerSecond / run.baseline.fanJobsPerSecond).toFixed(2)),
      }
    : null;
} finally {
  await cleanup();
}
run.loadAverageAtEnd = loadAverage();
writeFileSync(RESULT_FILE, `${JSON.stringify(run, null, 2)}\n`);
const p = run.pooled;
const b = run.baseline;
const lines = [
  `${p.workers} workers --wake sse through PgBouncer (pool ${POOL_SIZE}), one server:`,
  `  peak connections on PostgreSQL: ${p.peakConnections.byRole[userRole] ?? 0} the bouncer's (workers' role), ` +
    `${p.peakConnections.byRole[serverRole] ?? 0} the server's, ${p.peakConnections.database} on the database in all`,
  `  wake-up latency (ready -> claimed): p50 ${p.wakeLatencyMs.p50} ms, p99 ${p.wakeLatencyMs.p99} ms (${p.wakeLatencyMs.samples} jobs)`,
  `  fan of ${FAN} jobs: ${p.fanJobsPerSecond} jobs/s; start-up ${p.startupSeconds} s; worker RSS median ${p.workerRssMiB.median} MiB`,
  `  ${p.workersFailed} worker(s) failed, ${p.workersWithWarnings} warned; results ${JSON.stringify(p.results)}`,
];
if (b)
  lines.push(
    `baseline ${b.workers} workers --wake listen, direct: ${b.peakConnections.byRole[userRole] ?? 0} connections, ` +
      `p50 ${b.wakeLatencyMs.p50} ms, p99 ${b.wakeLatencyMs.p99} ms, ${b.fanJobsPerSecond} jobs/s ` +
      `(ratios: p50 ${run.ratios.wakeP50}, jobs/s ${run.ratios.fanJobsPerSecond})`,
  );
process.stdout.write(`${lines.join('\n')}\nresults in ${RESULT_FILE}\n`);
process.exit(0);
