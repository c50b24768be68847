import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type SluiceApp } from '@sluice/server';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { useServerSite } from '../server/server-test-support.js';
import { runCli, waitFor } from '../support/cli-runner.js';
import { pgbouncerMissing, usePgBouncer } from '../support/pgbouncer.js';
import { useTestDatabase } from '../support/test-database.js';
import { killAllWorkers, startWorker } from './support/worker-process.js';

// Finding (150 workers through PgBouncer, bench/pgbouncer-workers.mjs): with --wake sse a
// worker's heartbeat shared its one pooled connection with its claims, and waited in the
// pooler behind every other client's transactions; 148 of 150 live workers fenced themselves.
// A worker's beat must not wait for the pool: with sse it goes through the API server.

const missing = pgbouncerMissing();
const t = useTestDatabase('faults_pooled_heartbeat');
const site = useServerSite(t, ['fred']);
// One server connection for the user: one client's long transaction holds the whole pool.
const bouncer = usePgBouncer({
  poolSize: 1,
  serverPort: inject('faultPgPort'),
  users: () => [site.users.fred!.role],
});
let app: SluiceApp | undefined;

afterAll(async () => {
  await killAllWorkers();
  await app?.close();
});

describe.skipIf(missing !== null)('a pooled worker’s heartbeat', { timeout: 120_000 }, () => {
  it('is not held up by other clients’ transactions in the pooler: the worker is not fenced', async () => {
    app = buildApp({ db: site.serverHandle() });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const fred = site.users.fred!;
    const viaBouncer = bouncer().url(fred.url);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-pooled-beat-'));
    const specFile = path.join(dir, 'spec.yaml');
    writeFileSync(specFile, 'name: pooled-beat\njobs:\n  - name: slow\n    command: sleep 8\n');
    const env = { SLUICE_DATABASE_URL: viaBouncer };
    const created = await runCli(['workflows', 'create', specFile, '--json'], { env, cwd: dir });
    expect(created.code, created.stderr).toBe(0);
    const id = Number(JSON.parse(created.stdout).id);
    expect((await runCli(['workflows', 'initialize', String(id)], { env, cwd: dir })).code).toBe(0);

    // Fenced 2.1 s after its last renewed beat: well inside the hog's 5 s below.
    const worker = startWorker(id, {
      url: viaBouncer,
      cwd: dir,
      args: ['--wake', 'sse', '--heartbeat-interval', '0.3', '--heartbeat-timeout', '3', '--poll-interval', '600'],
      env: { SLUICE_SERVER_URL: base, SLUICE_API_TOKEN: fred.token },
    });
    await waitFor('the job to start', async () => {
      const r = await t.query<{ status: string }>('SELECT status::text FROM sluice.jobs WHERE workflow_id = $1', [id]);
      return r[0]?.status === 'running';
    });

    // Another client of the same user holds the pool's one server connection for 5 s.
    const hog = new pg.Client({ connectionString: viaBouncer });
    await hog.connect();
    try {
      await hog.query('BEGIN');
      await hog.query('SELECT pg_sleep(5)');
      await hog.query('COMMIT');
    } finally {
      await hog.end();
    }

    const exit = await worker.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).not.toMatch(/fencing/);
    const jobs = await t.query<{ status: string; attempt: number }>(
      'SELECT status::text, attempt FROM sluice.jobs WHERE workflow_id = $1',
      [id],
    );
    expect(jobs).toEqual([{ status: 'completed', attempt: 1 }]);
    const results = await t.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sluice.results WHERE workflow_id = $1',
      [id],
    );
    expect(results[0]?.n).toBe(1);
  });
});

if (missing !== null) {
  describe('a pooled worker’s heartbeat', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
}
