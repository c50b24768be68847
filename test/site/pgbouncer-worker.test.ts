import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useServerSite } from '../server/server-test-support.js';
import { runCli, type SpawnedCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { pgbouncerMissing, usePgBouncer } from '../support/pgbouncer.js';
import { useTestDatabase } from '../support/test-database.js';

// The whole worker path through a real PgBouncer in transaction mode, where a server connection
// is a client's for one transaction only: registration, action claims and runs, job claims,
// completions and heartbeats. Two `sluice worker` processes per run, their database URL the
// bouncer's; once woken by their poll alone, once by the server's event stream (the server
// itself connected directly: its one LISTEN connection cannot go through the pooler).

const missing = pgbouncerMissing();
const POOL_SIZE = 2;
const WORKERS = 2;
const STAGE = 16;

const t = useTestDatabase('pgbouncer_worker');
const site = useServerSite(t, ['fred']);
const bouncer = usePgBouncer({ poolSize: POOL_SIZE, users: () => [site.users.fred!.role] });
const running: SpawnedCli[] = [];

afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
});

/**
 * gate (waits for a file the test writes), STAGE jobs after it, STAGE more each after one of
 * those, and a last one after all: 2 * STAGE + 2 jobs. Every job appends its name to runs.txt,
 * so a job run twice shows there whatever the database says. An on_workflow_start action runs
 * before any job, an on_jobs_complete action once the first stage is done.
 */
function spec(name: string, dir: string): string {
  const lines = [`name: ${name}`, 'jobs:'];
  const job = (n: string, command: string, deps: string[] = []) => {
    lines.push(`  - name: ${n}`, `    command: ${JSON.stringify(command)}`);
    if (deps.length > 0) lines.push(`    depends_on: [${deps.join(', ')}]`);
  };
  const record = `echo "$SLUICE_JOB_NAME" >> ${dir}/runs.txt`;
  job('gate', `until [ -e ${dir}/release ]; do sleep 0.05; done; ${record}`);
  // The first stage's jobs wait (for up to 30 s) until both workers run one, so that both take
  // part however fast one of them is: the second joins only once its wake source tells it.
  const together =
    `touch ${dir}/busy.$SLUICE_WORKER_ID; for k in $(seq 600); do ` +
    `[ "$(ls ${dir} | grep -c '^busy[.]')" -ge ${WORKERS} ] && break; sleep 0.05; done`;
  for (let i = 1; i <= STAGE; i++) job(`one_${i}`, `${together}; ${record}`, ['gate']);
  for (let i = 1; i <= STAGE; i++) job(`two_${i}`, record, [`one_${i}`]);
  job(
    'last',
    record,
    Array.from({ length: STAGE }, (_, i) => `two_${i + 1}`),
  );
  lines.push(
    'actions:',
    '  - trigger_type: on_workflow_start',
    '    action_type: run_commands',
    `    commands: ["echo start >> ${dir}/actions.txt"]`,
    '  - trigger_type: on_jobs_complete',
    '    action_type: run_commands',
    `    job_name_regexes: ["one_[0-9]+"]`,
    `    commands: ["echo stage-one-done >> ${dir}/actions.txt"]`,
  );
  return `${lines.join('\n')}\n`;
}

/** Established TCP connections from this machine to a port, by the pid that holds them. */
function connectionsByPid(port: number): Map<number, number> {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  const byPid = new Map<number, number>();
  for (const m of out.matchAll(/pid=(\d+)/g)) {
    const pid = Number(m[1]);
    byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
  }
  return byPid;
}

interface Peaks {
  /** the most connections a worker process held to the bouncer at once, by pid */
  toBouncer: Map<number, number>;
  /** the most a worker process held to PostgreSQL directly (it should hold none) */
  toPostgres: Map<number, number>;
  /** the most connections the bouncer held on PostgreSQL at once (its server connections) */
  serverConnections: number;
  samples: number;
}

/** Samples connection counts until stopped: the peaks of what the workers held. */
function sampleConnections(pids: number[]) {
  const peaks: Peaks = { toBouncer: new Map(), toPostgres: new Map(), serverConnections: 0, samples: 0 };
  let stopped = false;
  const bump = (m: Map<number, number>, pid: number, n: number) => m.set(pid, Math.max(m.get(pid) ?? 0, n));
  const loop = (async () => {
    while (!stopped) {
      const viaBouncer = connectionsByPid(bouncer().port);
      const direct = connectionsByPid(5432);
      for (const pid of pids) {
        bump(peaks.toBouncer, pid, viaBouncer.get(pid) ?? 0);
        bump(peaks.toPostgres, pid, direct.get(pid) ?? 0);
      }
      peaks.serverConnections = Math.max(peaks.serverConnections, direct.get(bouncer().pid()) ?? 0);
      peaks.samples++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    peaks,
    async stop() {
      stopped = true;
      await loop;
      return peaks;
    },
  };
}

describe.skipIf(missing !== null)('workers through PgBouncer in transaction mode', { timeout: 240_000 }, () => {
  let serverBase = '';

  it('starts the API server, connected directly', async () => {
    const server = spawnCli(['server', '--port', '0'], { env: { SLUICE_DATABASE_URL: site.serverUrl } });
    running.push(server);
    serverBase = await waitFor('the server to say where it listens', async () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output().stderr);
      if (!m && server.child.exitCode !== null) throw new Error(`server exited: ${server.output().stderr}`);
      return m?.[1];
    });
  });

  for (const wake of ['poll', 'sse'] as const) {
    it(`runs a workflow to the end with --wake ${wake}: nothing twice, one connection per worker`, async () => {
      const fred = site.users.fred!;
      const viaBouncer = bouncer().url(fred.url);
      const dir = mkdtempSync(path.join(os.tmpdir(), `sluice-pgbouncer-${wake}-`));
      const specFile = path.join(dir, 'spec.yaml');
      writeFileSync(specFile, spec(`bouncer-${wake}`, dir));
      const env = { SLUICE_DATABASE_URL: viaBouncer };

      // The user's own commands go through the bouncer too.
      const created = await runCli(['workflows', 'create', specFile, '--json'], { env, cwd: dir });
      expect(created.code, created.stderr).toBe(0);
      const id = Number(JSON.parse(created.stdout).id);
      const init = await runCli(['workflows', 'initialize', String(id)], { env, cwd: dir });
      expect(init.code, init.stderr).toBe(0);

      const workerEnv: Record<string, string> = { ...env };
      // With sse the poll is 10 minutes: a worker that is not the one finishing a job learns of
      // new work, and of the workflow's end, only from the server's stream.
      let poll = '0.3';
      if (wake === 'sse') {
        const token = await runCli(['tokens', 'create', '--name', 'bouncer-test', '--json'], { env, cwd: dir });
        expect(token.code, token.stderr).toBe(0);
        workerEnv.SLUICE_API_TOKEN = JSON.parse(token.stdout).token;
        workerEnv.SLUICE_SERVER_URL = serverBase;
        poll = '600';
      }
      const workers = Array.from({ length: WORKERS }, (_, i) => {
        const w = spawnCli(
          [
            'worker',
            String(id),
            '--wake',
            wake,
            '--output-dir',
            `out${i + 1}`,
            '--num-cpus',
            '2',
            '--poll-interval',
            poll,
            '--heartbeat-interval',
            '0.3',
          ],
          { env: workerEnv, cwd: dir },
        );
        running.push(w);
        return w;
      });
      const pids = workers.map((w) => w.child.pid as number);
      const sampler = sampleConnections(pids);

      // Both registered and beating through the bouncer while the gate holds everything back.
      await waitFor(
        'both workers to register and beat',
        async () => {
          const rows = await t.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM sluice.workers
              WHERE workflow_id = $1 AND status = 'running' AND heartbeat_at > started_at`,
            [id],
          );
          return rows[0]?.n === WORKERS;
        },
        60_000,
      );
      await waitFor('the gate job to start', async () => {
        const rows = await t.query<{ status: string }>(
          "SELECT status::text FROM sluice.jobs WHERE workflow_id = $1 AND name = 'gate'",
          [id],
        );
        return rows[0]?.status === 'running';
      });
      await waitFor('samples of both workers connected', async () => {
        return sampler.peaks.samples > 3 && pids.every((p) => (sampler.peaks.toBouncer.get(p) ?? 0) > 0);
      });
      writeFileSync(path.join(dir, 'release'), '');

      const exits = await Promise.all(workers.map((w) => w.exited));
      const peaks = await sampler.stop();
      for (const r of exits) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/\[worker (error|warn)\]/);
      }

      // Everything ran, each job once: one result per job attempt, every one completed.
      const total = 2 * STAGE + 2;
      const jobs = await t.query<{ status: string; attempt: number }>(
        'SELECT status::text, attempt FROM sluice.jobs WHERE workflow_id = $1',
        [id],
      );
      expect(jobs).toHaveLength(total);
      expect(jobs.filter((j) => j.status !== 'completed')).toEqual([]);
      const results = await t.query<{ job_id: number; attempt: number; n: number; completed: number }>(
        `SELECT job_id, attempt, count(*)::int AS n, count(*) FILTER (WHERE status = 'completed')::int AS completed
           FROM sluice.results WHERE workflow_id = $1 GROUP BY job_id, attempt`,
        [id],
      );
      expect(results).toHaveLength(total);
      expect(results.filter((r) => r.n !== 1 || r.completed !== 1 || r.attempt !== 1)).toEqual([]);
      const ran = readFileSync(path.join(dir, 'runs.txt'), 'utf8').trim().split('\n').sort();
      expect(ran).toHaveLength(total);
      expect(new Set(ran).size).toBe(total);
      // Both workers took part (the first stage waited for that).
      const perWorker = await t.query<{ worker_id: number; n: number }>(
        'SELECT worker_id, count(*)::int AS n FROM sluice.results WHERE workflow_id = $1 GROUP BY worker_id',
        [id],
      );
      expect(perWorker).toHaveLength(WORKERS);

      // Each action once, succeeded.
      const actions = await t.query<{ trigger_type: string; runs: number; succeeded: number }>(
        `SELECT a.trigger_type::text, count(r.id)::int AS runs,
                count(r.id) FILTER (WHERE r.status = 'succeeded')::int AS succeeded
           FROM sluice.workflow_actions a LEFT JOIN sluice.action_runs r ON r.action_id = a.id
          WHERE a.workflow_id = $1 GROUP BY a.id, a.trigger_type ORDER BY a.id`,
        [id],
      );
      expect(actions).toEqual([
        { trigger_type: 'on_workflow_start', runs: 1, succeeded: 1 },
        { trigger_type: 'on_jobs_complete', runs: 1, succeeded: 1 },
      ]);
      expect(readFileSync(path.join(dir, 'actions.txt'), 'utf8')).toBe('start\nstage-one-done\n');

      // The budget: one connection per worker, to the bouncer, none to PostgreSQL directly; on
      // PostgreSQL, no more of the user's backends than the bouncer's pool.
      for (const pid of pids) {
        expect(peaks.toBouncer.get(pid), `worker ${pid} connections to the bouncer`).toBe(1);
        expect(peaks.toPostgres.get(pid), `worker ${pid} connections to PostgreSQL`).toBe(0);
      }
      expect(peaks.serverConnections).toBeGreaterThan(0);
      expect(peaks.serverConnections).toBeLessThanOrEqual(POOL_SIZE);
      // And the bouncer did carry the work, in transactions.
      const stats = await bouncer().admin('SHOW STATS');
      const mine = stats.find((s) => s.database === t.name);
      expect(Number(mine?.total_xact_count)).toBeGreaterThan(total);
      const pools = await bouncer().admin('SHOW POOLS');
      expect(pools.find((p) => p.database === t.name && p.user === fred.role)?.pool_mode).toBe('transaction');
    });
  }
});

if (missing !== null) {
  describe('workers through PgBouncer in transaction mode', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
}
