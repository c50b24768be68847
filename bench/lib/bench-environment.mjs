// Where the benchmarks run: the command line, the server, and the machine (cores, memory, load),
// recorded with the results so that figures from different machines are not compared blindly.
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';

export const ADMIN_URL = process.env.SLUICE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function parseBenchArgs(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      reps: { type: 'string' },
      list: { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  const reps = values.reps === undefined ? undefined : Number(values.reps);
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1))
    throw new Error(`--reps: not a positive integer: ${values.reps}`);
  return {
    quick: values.quick,
    only: (values.only ?? []).flatMap((s) => s.split(',')).filter(Boolean),
    reps,
    list: values.list,
    verbose: values.verbose,
    help: values.help,
  };
}

const SETTINGS = [
  'shared_buffers',
  'fsync',
  'synchronous_commit',
  'max_connections',
  'autovacuum',
  'work_mem',
  'max_wal_size',
  'wal_level',
  'superuser_reserved_connections',
];

export async function serverInfo(url = ADMIN_URL) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const version = (await c.query('SHOW server_version')).rows[0].server_version;
    const r = await c.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [SETTINGS]);
    const settings = {};
    for (const row of r.rows) settings[row.name] = formatSetting(row);
    const conns = (await c.query('SELECT count(*)::int AS n FROM pg_stat_activity')).rows[0].n;
    return { version, settings, connectionsInUse: conns };
  } finally {
    await c.end();
  }
}

function formatSetting({ setting, unit }) {
  if (unit === '8kB') return `${(Number(setting) * 8) / 1024} MB`;
  if (unit === 'kB') return `${Number(setting) / 1024} MB`;
  if (unit === 'MB') return `${setting} MB`;
  return setting;
}

export function machineInfo() {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

export const loadAverage = () => os.loadavg().map((x) => Number(x.toFixed(2)));
