import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pgClientConfig } from '@sluice/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';

// The admin views over real workflows of two users (one run by a real worker, with failures;
// one waiting for workers, one with Slurm allocations and a silent worker): an admin sees both
// users' rows, each user only their own; and every query of docs/admin-sql.md runs.

const t = useTestDatabase('site_admin_views');
const suffix = `${inject('pgRunId')}_${Math.random().toString(36).slice(2, 7)}`;
const alice = `alice_${suffix}`;
const bob = `bob_${suffix}`;
const boss = `boss_${suffix}`;
const roles = [alice, bob, boss];
const NEW_VIEWS = ['workflow_overview', 'worker_health', 'action_overview', 'recent_failures', 'allocations_by_owner'];

const urlAs = (role: string) => {
  const u = new URL(t.url);
  u.username = role;
  return u.toString();
};
const cliAs = (role: string, cwd?: string) => ({ env: { SLUICE_DATABASE_URL: urlAs(role) }, cwd });
async function sqlAs<T extends pg.QueryResultRow>(role: string, text: string, values: unknown[] = []) {
  // The types the code reads them with: bigint counts and ids as numbers.
  const c = new pg.Client(pgClientConfig(urlAs(role)));
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

let dir: string;
let aliceWf: number;
let bobWaiting: number;
let bobBusy: number;
let activeAllocation: number;
const jobId = async (wf: number, name: string) =>
  (await t.query<{ id: number }>('SELECT id FROM sluice.jobs WHERE workflow_id = $1 AND name = $2', [wf, name]))[0]
    ?.id as number;

beforeAll(async () => {
  for (const r of roles) {
    const made = await runCli(['admin', 'add-user', r], { env: { SLUICE_DATABASE_URL: t.url } });
    expect(made.code, made.stderr).toBe(0);
  }
  await t.query(`GRANT sluice_admin TO "${boss}"`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-admin-views-'));
  writeFileSync(
    path.join(dir, 'fails.yaml'),
    [
      'name: alice_fails',
      'jobs:',
      '  - name: ok',
      '    command: echo fine',
      '  - name: bad_{i}',
      '    command: echo "bad {i} broke" >&2 && exit 3',
      '    parameters: {i: "1:2"}',
      'actions:',
      '  - trigger_type: on_workflow_complete',
      '    action_type: run_commands',
      '    commands: ["echo all done"]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'waits.yaml'),
    [
      'name: bob_waits',
      'slurm_schedulers:',
      '  - name: big',
      '    account: proj',
      '    walltime: "01:00:00"',
      '    nodes: 2',
      'jobs:',
      '  - name: first',
      '    command: "true"',
      '  - name: second',
      '    command: "true"',
      '    depends_on: [first]',
      'actions:',
      '  - trigger_type: on_jobs_complete',
      '    action_type: run_commands',
      '    jobs: [second]',
      '    commands: ["echo done"]',
      '',
    ].join('\n'),
  );
  const run = await runCli(['run', 'fails.yaml', '--output-dir', 'out', '--json'], cliAs(alice, dir));
  expect(run.code, run.stderr).toBe(1);
  aliceWf = JSON.parse(run.stdout).id;
  for (const which of ['waiting', 'busy'] as const) {
    const c = await runCli(['workflows', 'create', 'waits.yaml', '--json'], cliAs(bob, dir));
    expect(c.code, c.stderr).toBe(0);
    const id = JSON.parse(c.stdout).id;
    const i = await runCli(['workflows', 'initialize', String(id)], cliAs(bob));
    expect(i.code, i.stderr).toBe(0);
    if (which === 'waiting') bobWaiting = id;
    else bobBusy = id;
  }
  // bob_busy: one queued and one running allocation of 2 nodes, a worker in the running one
  // that has gone silent, as Slurm and a dead node would leave them.
  const [sched] = await t.query<{ id: number }>('SELECT id FROM sluice.slurm_schedulers WHERE workflow_id = $1', [
    bobBusy,
  ]);
  const allocs = await t.query<{ id: number }>(
    `INSERT INTO sluice.scheduled_compute_nodes (workflow_id, scheduler_id, slurm_job_id, status, num_nodes, submitted_at, started_at)
     VALUES ($1, $2, '777001', 'active', 2, now(), now()), ($1, $2, '777002', 'pending', 2, now(), NULL) RETURNING id`,
    [bobBusy, sched?.id],
  );
  activeAllocation = allocs[0]?.id as number;
  await t.query(
    `INSERT INTO sluice.workers (workflow_id, run_id, hostname, pid, num_cpus, memory_bytes, num_gpus, num_nodes,
                                 heartbeat_timeout, heartbeat_at, scheduler_id, scheduled_node_id)
     VALUES ($1, 1, 'node042', 4242, 8, 1073741824, 0, 1, interval '60 seconds', now() - interval '5 minutes', $2, $3)`,
    [bobBusy, sched?.id, activeAllocation],
  );
  // One of alice's failures is older than the view's 7 days.
  await t.query(
    `UPDATE sluice.results SET started_at = now() - interval '8 days', completed_at = now() - interval '8 days'
      WHERE job_id = $1`,
    [await jobId(aliceWf, 'bad_2')],
  );
});

afterAll(async () => {
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  try {
    for (const r of roles) await c.query(`DROP ROLE IF EXISTS "${r}"`);
  } finally {
    await c.end();
  }
});

describe('the admin views', () => {
  it('are security invokers with a comment, granted to users and admins, like every sluice view', async () => {
    const views = await t.query<{ name: string; invoker: boolean; comment: string | null; users: boolean }>(
      `SELECT c.relname AS name, coalesce('security_invoker=true' = ANY (c.reloptions), false) AS invoker,
              obj_description(c.oid, 'pg_class') AS comment,
              has_table_privilege('sluice_users', c.oid, 'SELECT') AS users
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'sluice' AND c.relkind = 'v' ORDER BY 1`,
    );
    expect(views.map((v) => v.name)).toEqual(expect.arrayContaining(NEW_VIEWS));
    for (const v of views) {
      expect(v.invoker, v.name).toBe(true);
      expect(v.comment, v.name).toMatch(/\w/);
      expect(v.users, v.name).toBe(true);
    }
  });

  it('workflow_overview: owner, state, counts, and which workflow needs a worker', async () => {
    const rows = await sqlAs<Record<string, unknown>>(
      boss,
      'SELECT * FROM sluice.workflow_overview WHERE id = ANY ($1) ORDER BY id',
      [[aliceWf, bobWaiting, bobBusy]],
    );
    expect(rows).toMatchObject([
      { id: aliceWf, owner_role: alice, state: 'complete', num_jobs: 3, done_jobs: 3, completed: 1, failed: 2 },
      { id: bobWaiting, owner_role: bob, state: 'active', ready: 1, blocked: 1, needs_worker: true },
      {
        id: bobBusy,
        owner_role: bob,
        state: 'active',
        needs_worker: false,
        live_workers: 1,
        silent_workers: 1,
        queued_allocations: 1,
        active_allocations: 1,
      },
    ]);
    expect(rows[0]?.last_event_at).toBeInstanceOf(Date);
    const mine = await sqlAs<{ id: number }>(alice, 'SELECT id FROM sluice.workflow_overview ORDER BY id');
    expect(mine.map((r) => r.id)).toEqual([aliceWf]);
  });

  it('worker_health: node, health and heartbeat age; the silent worker stands out', async () => {
    const rows = await sqlAs<Record<string, unknown>>(
      boss,
      `SELECT workflow_id, owner_role, node, status, health, heartbeat_age IS NULL AS no_age,
              extract(epoch FROM heartbeat_age) AS age_s, slurm_job_id, scheduler, allocation_id
         FROM sluice.worker_health WHERE workflow_id = ANY ($1) ORDER BY id`,
      [[aliceWf, bobBusy]],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      workflow_id: aliceWf,
      owner_role: alice,
      node: os.hostname(),
      status: 'stopped',
      health: 'stopped',
      no_age: true,
    });
    expect(rows[1]).toMatchObject({
      workflow_id: bobBusy,
      owner_role: bob,
      node: 'node042',
      status: 'running',
      health: 'silent',
      slurm_job_id: '777001',
      scheduler: 'big',
      allocation_id: activeAllocation,
    });
    expect(Number(rows[1]?.age_s)).toBeGreaterThan(290);
    const asAlice = await sqlAs<{ n: number }>(alice, 'SELECT count(*)::int AS n FROM sluice.worker_health');
    expect(asAlice[0]?.n).toBe(1);
  });

  it('recent_failures: the last 7 days’ failures with their log files and messages', async () => {
    const rows = await sqlAs<Record<string, unknown>>(
      boss,
      'SELECT * FROM sluice.recent_failures WHERE workflow_id = $1 ORDER BY result_id',
      [aliceWf],
    );
    expect(rows).toHaveLength(1);
    const f = rows[0] as Record<string, unknown>;
    expect(f).toMatchObject({
      owner_role: alice,
      workflow_name: 'alice_fails',
      job_name: 'bad_1',
      status: 'failed',
      return_code: 3,
      node: os.hostname(),
    });
    expect(readFileSync(String(f.stderr_path), 'utf8')).toBe('bad 1 broke\n');
    expect(String(f.stdout_path)).toMatch(new RegExp(`^${dir}/out/job_stdio/`));
    expect(await sqlAs(bob, 'SELECT * FROM sluice.recent_failures')).toEqual([]);
  });

  it('allocations_by_owner: nodes held and queued per user', async () => {
    const rows = await sqlAs<Record<string, unknown>>(boss, 'SELECT * FROM sluice.allocations_by_owner');
    expect(rows).toEqual([
      expect.objectContaining({
        owner_role: bob,
        workflows: 1,
        pending: 1,
        active: 1,
        complete: 0,
        pending_nodes: 2,
        active_nodes: 2,
        live_workers: 1,
      }),
    ]);
    expect(await sqlAs(alice, 'SELECT * FROM sluice.allocations_by_owner')).toEqual([]);
  });

  it('action_overview: what an action waits on, and how its last run went', async () => {
    const rows = await sqlAs<Record<string, unknown>>(
      boss,
      `SELECT workflow_id, owner_role, trigger_type, status, waiting_on, waiting_count, last_run_status,
              last_run_node, last_run_exit_code
         FROM sluice.action_overview WHERE workflow_id = ANY ($1) ORDER BY workflow_id`,
      [[aliceWf, bobWaiting]],
    );
    expect(rows).toEqual([
      {
        workflow_id: aliceWf,
        owner_role: alice,
        trigger_type: 'on_workflow_complete',
        status: 'succeeded',
        waiting_on: [],
        waiting_count: 0,
        last_run_status: 'succeeded',
        last_run_node: os.hostname(),
        last_run_exit_code: 0,
      },
      {
        workflow_id: bobWaiting,
        owner_role: bob,
        trigger_type: 'on_jobs_complete',
        status: 'waiting',
        waiting_on: ['second'],
        waiting_count: 1,
        last_run_status: null,
        last_run_node: null,
        last_run_exit_code: null,
      },
    ]);
  });
});

describe('docs/admin-sql.md', () => {
  it('every SQL block runs as an admin (each in a transaction that is rolled back)', async () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/admin-sql.md'), 'utf8');
    const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(blocks.length).toBeGreaterThan(8);
    const job = await jobId(aliceWf, 'bad_1');
    const c = new pg.Client({ connectionString: urlAs(boss) });
    await c.connect();
    try {
      for (const block of blocks) {
        const text = block
          .replace(/(?<!:):wf\b/g, String(aliceWf))
          .replace(/(?<!:):job\b/g, String(job))
          .replace(/:'owner'/g, `'${alice}'`)
          .replace(/^(BEGIN|COMMIT);$/gm, '');
        await c.query('BEGIN');
        try {
          await c.query(text);
        } catch (e) {
          throw new Error(`${(e as Error).message} in:\n${text}`);
        } finally {
          await c.query('ROLLBACK');
        }
      }
    } finally {
      await c.end();
    }
  });
});
