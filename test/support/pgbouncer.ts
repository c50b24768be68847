import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type ProcessResult, runProcess } from './process-runner.js';

/** The script that installs, starts and stops a test PgBouncer (see its header for usage). */
export const PGBOUNCER_SCRIPT = fileURLToPath(new URL('../../scripts/pgbouncer-test.sh', import.meta.url));

/**
 * Why the PgBouncer tests cannot run here, or null when they can. The only reason is a missing
 * pgbouncer binary (CI installs it with `scripts/pgbouncer-test.sh install`); anything else that
 * goes wrong fails the tests.
 */
export function pgbouncerMissing(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  if (dirs.some((d) => d && existsSync(path.join(d, 'pgbouncer')))) return null;
  return 'pgbouncer is not installed (run `bash scripts/pgbouncer-test.sh install` as root, as .ci/run does)';
}

export interface PgBouncerOptions {
  /** roles that may connect through it (postgres always may: it is the admin console's user) */
  users?: string[];
  /** server connections per database and user (default_pool_size; default 5) */
  poolSize?: number;
  /** max_client_conn (default 500) */
  maxClients?: number;
  /** the PostgreSQL's port on 127.0.0.1 (default 5432; the fault suite runs its own) */
  serverPort?: number;
}

/** One row of a SHOW command on the admin console, every value text. */
export type AdminRow = Record<string, string | null>;

export interface PgBouncer {
  port: number;
  /** config, auth file (names only), pid file and log */
  dir: string;
  /** the daemon's pid (from its pid file) */
  pid(): number;
  /** the same database URL, through the bouncer */
  url(databaseUrl: string): string;
  /** SHOW POOLS, SHOW CLIENTS, SHOW SERVERS... on the admin console (database pgbouncer) */
  admin(command: string): Promise<AdminRow[]>;
  addUsers(users: string[]): Promise<void>;
  /** the log so far */
  log(): string;
  /** stops it and removes dir (kept if SLUICE_KEEP_PGBOUNCER_DIR is set) */
  stop(): Promise<void>;
}

function scriptFailure(what: string, r: ProcessResult): Error {
  const tail = r.stderr.trim().split('\n').slice(-30).join('\n');
  return new Error(`${what} failed (exit ${r.code}):\n${tail}`);
}

function runScript(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessResult> {
  return runProcess('bash', [PGBOUNCER_SCRIPT, ...args], { env, timeout: 60_000 });
}

/** Starts a private PgBouncer in transaction mode in front of the tests' PostgreSQL. */
export async function startPgBouncer(opts: PgBouncerOptions = {}): Promise<PgBouncer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-pgbouncer-'));
  const env = {
    ...process.env,
    PGBOUNCER_TEST_POOL_SIZE: String(opts.poolSize ?? 5),
    PGBOUNCER_TEST_MAX_CLIENTS: String(opts.maxClients ?? 500),
    PGBOUNCER_TEST_SERVER_PORT: String(opts.serverPort ?? 5432),
  };
  const start = await runScript(['start', dir, ...(opts.users ?? [])], env);
  if (start.code !== 0) throw scriptFailure(`pgbouncer-test.sh start ${dir}`, start);
  const port = Number(/^export PGBOUNCER_PORT=(\d+)$/m.exec(start.stdout)?.[1]);
  if (!port) throw new Error(`pgbouncer-test.sh start printed no PGBOUNCER_PORT:\n${start.stdout}`);

  // A test process that dies without afterAll must not leave it running.
  const stopOnExit = () => {
    spawnSync('bash', [PGBOUNCER_SCRIPT, 'stop', dir], { stdio: 'ignore', timeout: 30_000 });
  };
  process.once('exit', stopOnExit);

  let stopping: Promise<void> | undefined;
  return {
    port,
    dir,
    pid() {
      return Number(readFileSync(path.join(dir, 'pgbouncer.pid'), 'utf8').trim());
    },
    url(databaseUrl) {
      const u = new URL(databaseUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async admin(command) {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'pgbouncer' });
      await c.connect();
      try {
        // No parameters: the simple query protocol, the only one the admin console speaks.
        const r = await c.query(command);
        return r.rows as AdminRow[];
      } finally {
        await c.end();
      }
    },
    async addUsers(users) {
      const r = await runScript(['add-users', dir, ...users]);
      if (r.code !== 0) throw scriptFailure('pgbouncer-test.sh add-users', r);
    },
    log() {
      try {
        return readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop() {
      stopping ??= (async () => {
        process.removeListener('exit', stopOnExit);
        const r = await runScript(['stop', dir]);
        if (r.code !== 0) throw scriptFailure(`pgbouncer-test.sh stop ${dir}`, r);
        if (!process.env.SLUICE_KEEP_PGBOUNCER_DIR) rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/**
 * A PgBouncer for one test file: started in beforeAll (after the hooks registered before this
 * call, so `users` may name roles they create), stopped in afterAll.
 */
export function usePgBouncer(opts: Omit<PgBouncerOptions, 'users'> & { users?: () => string[] } = {}) {
  const holder: { current?: PgBouncer } = {};
  beforeAll(async () => {
    // A file whose tests are skipped for want of pgbouncer starts none.
    if (pgbouncerMissing()) return;
    holder.current = await startPgBouncer({ ...opts, users: opts.users?.() ?? [] });
  });
  afterAll(async () => {
    await holder.current?.stop();
  });
  return () => {
    if (!holder.current) throw new Error('the PgBouncer is not started yet');
    return holder.current;
  };
}
