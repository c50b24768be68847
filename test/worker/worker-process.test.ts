import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowsCreate, workflowsInitialize } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, buildWorkflowWithActions } from '../support/workflow-builder.js';

const t = useTestDatabase('worker_process');
const env = () => ({ SLUICE_DATABASE_URL: t.url });
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sluice-worker-'));
/** Alive and not a zombie: a reaped pid may be recycled, so this only reads, never signals. */
function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const FAST = ['--poll-interval', '120', '--heartbeat-interval', '0.2'];

async function jobStatuses(workflowId: number): Promise<Record<string, string>> {
  const rows = await t.query<{ name: string; status: string }>(
    'SELECT name, status FROM sluice.jobs WHERE workflow_id = $1',
    [workflowId],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.status]));
}

describe('sluice worker processes', { timeout: 120_000 }, () => {
  it('runs a workflow of dependent jobs end to end, woken by NOTIFY rather than the poll', async () => {
    const dir = tmp();
    const id = await workflowsCreate(
      t.handle.db,
      buildWorkflow({
        first: {
          command: 'echo "$SLUICE_JOB_NAME $SLUICE_WORKFLOW_ID $SLUICE_WORKER_ID" > first.txt; echo to-stderr >&2',
        },
        second: { deps: ['first'], command: 'cat first.txt > second.txt' },
        third: { deps: ['second'], command: 'test -f second.txt && echo "$SLUICE_OUTPUT_DIR" > third.txt' },
      }),
    );
    await workflowsInitialize(t.handle.db, id);
    // A 120 s poll: the chain finishes quickly only if each completion wakes the worker.
    const r = await runCli(['worker', String(id), '--output-dir', 'out', ...FAST], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(await jobStatuses(id)).toEqual({ first: 'completed', second: 'completed', third: 'completed' });
    const [name, wf, worker] = readFileSync(path.join(dir, 'first.txt'), 'utf8').trim().split(' ');
    expect(name).toBe('first');
    expect(Number(wf)).toBe(id);
    expect(Number(worker)).toBeGreaterThan(0);
    expect(readFileSync(path.join(dir, 'third.txt'), 'utf8').trim()).toBe(path.join(dir, 'out'));
    const stdio = readdirSync(path.join(dir, 'out', 'job_stdio')).sort();
    expect(stdio).toHaveLength(6);
    const firstId = (
      await t.query<{ id: number }>("SELECT id FROM sluice.jobs WHERE workflow_id = $1 AND name = 'first'", [id])
    )[0]?.id;
    expect(readFileSync(path.join(dir, 'out', 'job_stdio', `wf${id}_job${firstId}_run1_attempt1.e`), 'utf8')).toBe(
      'to-stderr\n',
    );
    const results = await t.query<{ status: string; return_code: number }>(
      'SELECT status, return_code FROM sluice.results WHERE workflow_id = $1',
      [id],
    );
    expect(results).toHaveLength(3);
    expect(results.every((x) => x.status === 'completed' && x.return_code === 0)).toBe(true);
    const events = await t.query<{ kind: string }>(
      'SELECT kind FROM sluice.events WHERE workflow_id = $1 ORDER BY id',
      [id],
    );
    const kinds = events.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'job_started')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'job_finished')).toHaveLength(3);
    expect(kinds).toContain('worker_started');
    expect(kinds).toContain('worker_stopped');
    expect(kinds.at(-1)).toBe('worker_stopped');
  });

  it('records a non-zero exit as failed and cancels dependents', async () => {
    const dir = tmp();
    const id = await workflowsCreate(
      t.handle.db,
      buildWorkflow({ bad: { command: 'exit 3' }, after: { deps: ['bad'] }, fine: {} }),
    );
    await workflowsInitialize(t.handle.db, id);
    const r = await runCli(['worker', String(id), ...FAST], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(await jobStatuses(id)).toEqual({ bad: 'failed', after: 'canceled', fine: 'completed' });
    const rc = await t.query<{ return_code: number }>(
      "SELECT r.return_code FROM sluice.results r JOIN sluice.jobs j ON j.id = r.job_id WHERE j.workflow_id = $1 AND j.name = 'bad'",
      [id],
    );
    expect(rc[0]?.return_code).toBe(3);
  });

  it('several worker processes on one workflow never run a job twice', async () => {
    const dir = tmp();
    const jobs: Record<string, { deps?: string[]; command: string }> = {};
    for (let i = 0; i < 60; i++) {
      const deps = i >= 20 ? [...new Set([`j${i - 20}`, `j${(i * 7) % 20}`])] : undefined;
      jobs[`j${i}`] = { deps, command: `echo "$SLUICE_WORKER_ID" >> "runs_$SLUICE_JOB_NAME"` };
    }
    const id = await workflowsCreate(t.handle.db, buildWorkflow(jobs));
    await workflowsInitialize(t.handle.db, id);
    const workers = Array.from({ length: 4 }, () =>
      spawnCli(['worker', String(id), '--max-parallel-jobs', '4', ...FAST], { env: env(), cwd: dir }),
    );
    const exits = await Promise.all(workers.map((w) => w.exited));
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    const statuses = await jobStatuses(id);
    expect(Object.values(statuses).every((s) => s === 'completed')).toBe(true);
    for (let i = 0; i < 60; i++) {
      expect(
        readFileSync(path.join(dir, `runs_j${i}`), 'utf8')
          .trim()
          .split('\n'),
      ).toHaveLength(1);
    }
    const perJob = await t.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sluice.results WHERE workflow_id = $1 GROUP BY job_id HAVING count(*) > 1',
      [id],
    );
    expect(perJob).toEqual([]);
    const ran = await t.query<{ n: number }>(
      'SELECT count(DISTINCT worker_id)::int AS n FROM sluice.results WHERE workflow_id = $1',
      [id],
    );
    expect(ran[0]?.n).toBeGreaterThan(1);
  });

  it('claims by resources: never more cpus at once than offered, biggest jobs first', async () => {
    const dir = tmp();
    const wf = buildWorkflow(
      {
        small1: { rr: 'one', command: 'sleep 0.3' },
        small2: { rr: 'one', command: 'sleep 0.3' },
        small3: { rr: 'one', command: 'sleep 0.3' },
        big: { rr: 'two', command: 'sleep 0.3' },
      },
      {},
      { one: { cpus: 1, runtime: 'PT1M' }, two: { cpus: 2, runtime: 'PT1M' } },
    );
    const id = await workflowsCreate(t.handle.db, wf);
    await workflowsInitialize(t.handle.db, id);
    const r = await runCli(['worker', String(id), '--num-cpus', '2', '--memory', '1g', ...FAST], {
      env: env(),
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    const rows = await t.query<{ name: string; started_at: Date; completed_at: Date; num_cpus: number }>(
      `SELECT j.name, r.started_at, r.completed_at, j.num_cpus FROM sluice.results r
         JOIN sluice.jobs j ON j.id = r.job_id WHERE r.workflow_id = $1 ORDER BY r.started_at`,
      [id],
    );
    expect(rows).toHaveLength(4);
    expect(rows[0]?.name).toBe('big');
    // Concurrency peaks at some job's start: sum what is running at each start.
    for (const a of rows) {
      const running = rows.filter((b) => b.started_at <= a.started_at && b.completed_at > a.started_at);
      expect(
        running.reduce((sum, b) => sum + b.num_cpus, 0),
        JSON.stringify(rows),
      ).toBeLessThanOrEqual(2);
    }
  });

  it('packs a node: a worker offering 3 cpus runs three 1-cpu jobs at once', async () => {
    const dir = tmp();
    // Each job waits (up to 30 s) until all three have started: one at a time, they fail.
    const command =
      'touch "started.$SLUICE_JOB_NAME"; for i in $(seq 600); do [ "$(ls started.* | wc -l)" -ge 3 ] && exit 0; sleep 0.05; done; exit 1';
    const id = await workflowsCreate(t.handle.db, buildWorkflow({ a: { command }, b: { command }, c: { command } }));
    await workflowsInitialize(t.handle.db, id);
    const r = await runCli(['worker', String(id), '--num-cpus', '3', '--memory', '1g', ...FAST], {
      env: env(),
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await jobStatuses(id)).toEqual({ a: 'completed', b: 'completed', c: 'completed' });
  });

  it.each([
    ['its own notifications and recorded completions', false],
    ['nor do the actions watching each job', true],
  ])('claims once per job along a chain: %s add no claim', async (_what, withActions) => {
    const dir = tmp();
    const jobs: Record<string, { deps?: string[] }> = {};
    for (let i = 0; i < 12; i++) jobs[`c${i}`] = i === 0 ? {} : { deps: [`c${i - 1}`] };
    const actions = withActions
      ? Object.keys(jobs).map((name) => ({ trigger: 'on_jobs_complete' as const, jobs: [name] }))
      : [];
    const id = await workflowsCreate(t.handle.db, buildWorkflowWithActions(jobs, actions), { initialize: true });
    const calls = async () =>
      (
        await t.query<{ calls: number }>(
          "SELECT coalesce(sum(calls), 0)::int AS calls FROM pg_stat_user_functions WHERE funcname = 'jobs_claim'",
        )
      )[0]?.calls ?? 0;
    // Counted for sessions that start from now on: the worker's.
    await t.query(`ALTER DATABASE ${t.name} SET track_functions = 'pl'`);
    const before = await calls();
    const r = await runCli(['worker', String(id), '--max-parallel-jobs', '4', ...FAST], { env: env(), cwd: dir });
    await t.query(`ALTER DATABASE ${t.name} RESET track_functions`);
    expect(r.code, r.stderr).toBe(0);
    const [ran] = await t.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM sluice.action_runs WHERE workflow_id = $1 AND status = 'succeeded'",
      [id],
    );
    expect(ran?.n).toBe(actions.length);
    // A backend reports its counts as it exits.
    const claims = await waitFor('the worker backend’s function counts', async () => {
      const n = (await calls()) - before;
      return n >= 12 && n;
    });
    // One claim per job, and a few around the start and the end: two per job before, and more with actions.
    expect(claims).toBeLessThanOrEqual(12 + 3);
  });

  it('does not claim a job whose runtime exceeds its time limit, and leaves when nothing fits', async () => {
    const dir = tmp();
    const wf = buildWorkflow({ long: { rr: 'long' }, short: {} }, {}, { long: { runtime: 'PT4H' } });
    const id = await workflowsCreate(t.handle.db, wf);
    await workflowsInitialize(t.handle.db, id);
    const r = await runCli(['worker', String(id), '--time-limit', 'PT2H', ...FAST], { env: env(), cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no remaining job .* fits this worker/);
    expect(await jobStatuses(id)).toEqual({ long: 'ready', short: 'completed' });
  });

  it('a killed worker is declared lost by heartbeat and its jobs terminated, so they can be reset', async () => {
    const dir = tmp();
    const id = await workflowsCreate(
      t.handle.db,
      buildWorkflow({
        stuck: { command: 'echo $$ > stuck.pid; exec sleep 60' },
        after: { deps: ['stuck'], cob: false },
      }),
    );
    await workflowsInitialize(t.handle.db, id);
    const w = spawnCli(
      ['worker', String(id), '--heartbeat-interval', '0.2', '--heartbeat-timeout', '1', '--poll-interval', '120'],
      {
        env: env(),
        cwd: dir,
      },
    );
    // A claim records the job running before its process starts: wait for the process itself.
    await waitFor('the job to run', async () => existsSync(path.join(dir, 'stuck.pid')));
    expect((await jobStatuses(id)).stuck).toBe('running');
    w.child.kill('SIGKILL');
    await w.exited;
    // No process of a job outlives its worker: the job supervisor kills it when the worker dies.
    const jobPid = Number(readFileSync(path.join(dir, 'stuck.pid'), 'utf8'));
    await waitFor('the job to die with its worker', async () => !processAlive(jobPid), 15_000);
    const status = await waitFor('the worker to be declared lost', async () => {
      const r = await runCli(['workflows', 'status', String(id), '--json'], { env: env() });
      const s = JSON.parse(r.stdout);
      return s.job_counts.terminated === 1 ? s : null;
    });
    expect(status.job_counts.ready).toBe(1);
    const res = await t.query<{ status: string; message: string }>(
      'SELECT status, message FROM sluice.results WHERE workflow_id = $1',
      [id],
    );
    expect(res).toEqual([{ status: 'terminated', message: expect.stringMatching(/lost/) }]);
    const workers = await t.query<{ status: string }>('SELECT status FROM sluice.workers WHERE workflow_id = $1', [id]);
    expect(workers).toEqual([{ status: 'lost' }]);
    const reset = await runCli(['workflows', 'reset-status', String(id), '--failed-only'], { env: env() });
    expect(reset.code, reset.stderr).toBe(0);
    expect((await jobStatuses(id)).stuck).toBe('uninitialized');
  });

  it('on SIGTERM stops claiming, SIGTERMs jobs that support termination, kills the rest, records them terminated', async () => {
    const dir = tmp();
    const id = await workflowsCreate(
      t.handle.db,
      buildWorkflow({
        graceful: {
          supportsTermination: true,
          command: "trap 'echo got-term > graceful.txt; exit 0' TERM; touch graceful.started; sleep 60 & wait",
        },
        blunt: { command: 'touch blunt.started; sleep 60' },
        later: { deps: ['graceful'] },
      }),
    );
    await workflowsInitialize(t.handle.db, id);
    const w = spawnCli(['worker', String(id), '--max-parallel-jobs', '2', ...FAST], { env: env(), cwd: dir });
    await waitFor(
      'both jobs to start',
      async () => existsSync(path.join(dir, 'graceful.started')) && existsSync(path.join(dir, 'blunt.started')),
    );
    await waitFor('both jobs running', async () => {
      const s = await jobStatuses(id);
      return s.graceful === 'running' && s.blunt === 'running';
    });
    w.child.kill('SIGTERM');
    const exit = await w.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'graceful.txt'), 'utf8').trim()).toBe('got-term');
    expect(await jobStatuses(id)).toEqual({ graceful: 'terminated', blunt: 'terminated', later: 'canceled' });
    const workers = await t.query<{ status: string }>('SELECT status FROM sluice.workers WHERE workflow_id = $1', [id]);
    expect(workers).toEqual([{ status: 'stopped' }]);
  });

  it('workflows cancel stops running jobs through their worker', async () => {
    const dir = tmp();
    const id = await workflowsCreate(
      t.handle.db,
      buildWorkflow({ long: { command: 'sleep 60' }, next: { deps: ['long'] } }),
    );
    await workflowsInitialize(t.handle.db, id);
    const w = spawnCli(['worker', String(id), ...FAST], { env: env(), cwd: dir });
    await waitFor('the job to run', async () => (await jobStatuses(id)).long === 'running');
    const c = await runCli(['workflows', 'cancel', String(id)], { env: env() });
    expect(c.code, c.stderr).toBe(0);
    const exit = await w.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(await jobStatuses(id)).toEqual({ long: 'canceled', next: 'canceled' });
    const res = await t.query<{ status: string }>('SELECT status FROM sluice.results WHERE workflow_id = $1', [id]);
    expect(res).toEqual([{ status: 'canceled' }]);
  });

  it('survives its database connections being killed: reconnects, keeps its jobs, finishes the workflow', async () => {
    const dir = tmp();
    const id = await workflowsCreate(
      t.handle.db,
      buildWorkflow({ a: { command: 'touch a.started; sleep 1' }, b: { deps: ['a'] }, c: { deps: ['b'] } }),
    );
    await workflowsInitialize(t.handle.db, id);
    const w = spawnCli(['worker', String(id), '--poll-interval', '1', '--heartbeat-interval', '0.2'], {
      env: env(),
      cwd: dir,
    });
    await waitFor('the first job to start', async () => existsSync(path.join(dir, 'a.started')));
    const killed = await t.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'sluice-%'`,
    );
    expect(killed[0]?.n).toBeGreaterThanOrEqual(2);
    const exit = await w.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toMatch(/notification connection lost|database error/);
    expect(await jobStatuses(id)).toEqual({ a: 'completed', b: 'completed', c: 'completed' });
  });
});

describe('connections a worker holds', () => {
  for (const [mode, expected] of [
    ['listen', ['sluice-listener', 'sluice-worker']],
    ['poll', ['sluice-worker']],
  ] as const) {
    it(`--wake ${mode}: ${expected.length} connection(s), and the workflow still completes`, async () => {
      const dir = tmp();
      const id = await workflowsCreate(
        t.handle.db,
        buildWorkflow({ a: { command: 'touch a.started; sleep 1' }, b: { deps: ['a'] } }),
      );
      await workflowsInitialize(t.handle.db, id);
      const w = spawnCli(
        ['worker', String(id), '--wake', mode, '--poll-interval', '0.2', '--heartbeat-interval', '0.2'],
        {
          env: env(),
          cwd: dir,
        },
      );
      await waitFor('the first job to start', async () => existsSync(path.join(dir, 'a.started')));
      const held = await t.query<{ application_name: string }>(
        `SELECT application_name FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'sluice-%' ORDER BY 1`,
      );
      expect(held.map((r) => r.application_name)).toEqual(expected);
      const exit = await w.exited;
      expect(exit.code, exit.stderr).toBe(0);
      expect((await jobStatuses(id)).b).toBe('completed');
    });
  }
});
