import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';

// Two real user roles on one database: row-level security, not the client, decides what each
// sees, through SQL, the CLI and a worker; an admin sees both.

const t = useTestDatabase('site_isolation');
const suffix = `${inject('pgRunId')}_${Math.random().toString(36).slice(2, 7)}`;
const alice = `alice_${suffix}`;
const bob = `bob_${suffix}`;
const admin = `boss_${suffix}`;
const roles = [alice, bob, admin];

const urlAs = (role: string) => {
  const u = new URL(t.url);
  u.username = role;
  return u.toString();
};
const asRole = (role: string) => ({ env: { SLUICE_DATABASE_URL: urlAs(role) } });
async function sqlAs<T extends pg.QueryResultRow>(role: string, text: string, values: unknown[] = []) {
  const c = new pg.Client({ connectionString: urlAs(role) });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}
async function sqlErrorAs(role: string, text: string, values: unknown[] = []): Promise<string> {
  try {
    await sqlAs(role, text, values);
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
}

let dir: string;
let aliceWorkflow: number;
let bobWorkflow: number;

beforeAll(async () => {
  for (const r of roles) {
    const made = await runCli(['admin', 'add-user', r], { env: { SLUICE_DATABASE_URL: t.url } });
    expect(made.code, made.stderr).toBe(0);
  }
  await t.query(`GRANT sluice_admin TO "${admin}"`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-site-'));
  writeFileSync(
    path.join(dir, 'spec.yaml'),
    'name: private\njobs:\n  - name: a\n    command: echo secret > a.txt\n  - name: b\n    command: "true"\n    depends_on: [a]\n',
  );
  const a = await runCli(['workflows', 'create', 'spec.yaml', '--json'], { ...asRole(alice), cwd: dir });
  expect(a.code, a.stderr).toBe(0);
  aliceWorkflow = JSON.parse(a.stdout).id;
  const b = await runCli(['workflows', 'create', 'spec.yaml', '--json'], { ...asRole(bob), cwd: dir });
  bobWorkflow = JSON.parse(b.stdout).id;
  await runCli(['workflows', 'initialize', String(aliceWorkflow)], asRole(alice));
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

describe('per-user isolation, enforced by PostgreSQL', () => {
  it('records the connecting role as the owner', async () => {
    const rows = await t.query<{ id: number; owner_role: string }>(
      'SELECT id, owner_role FROM sluice.workflows WHERE id = ANY ($1) ORDER BY id',
      [[aliceWorkflow, bobWorkflow]],
    );
    expect(rows).toEqual([
      { id: aliceWorkflow, owner_role: alice },
      { id: bobWorkflow, owner_role: bob },
    ]);
  });

  it('B cannot list or read A’s workflows, jobs or events through the CLI', async () => {
    const list = await runCli(['workflows', 'list', '--json'], asRole(bob));
    expect(JSON.parse(list.stdout).map((w: { id: number }) => w.id)).toEqual([bobWorkflow]);
    for (const args of [
      ['workflows', 'status'],
      ['jobs', 'list'],
      ['results', 'list'],
      ['events'],
      ['workflows', 'list-actions'],
    ]) {
      const r = await runCli([...args, String(aliceWorkflow)], asRole(bob));
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim()).toBe(`sluice: workflow ${aliceWorkflow} does not exist`);
    }
  });

  it('B cannot reset, cancel, reinitialize or delete A’s workflow', async () => {
    for (const verb of ['reset-status', 'cancel', 'reinitialize', 'delete', 'initialize']) {
      const r = await runCli(['workflows', verb, String(aliceWorkflow)], asRole(bob));
      expect(r.code, verb).toBe(1);
      expect(r.stderr, verb).toMatch(/does not exist/);
    }
    const [w] = await t.query<{ canceled_at: Date | null }>('SELECT canceled_at FROM sluice.workflows WHERE id = $1', [
      aliceWorkflow,
    ]);
    expect(w?.canceled_at).toBeNull();
  });

  it('B sees none of A’s rows in SQL and changes none of them', async () => {
    for (const table of ['workflows', 'jobs', 'events', 'job_dependencies', 'workflow_summary']) {
      const rows = await sqlAs<{ n: number }>(
        bob,
        table === 'job_dependencies'
          ? `SELECT count(*)::int AS n FROM sluice.${table}`
          : `SELECT count(*)::int AS n FROM sluice.${table} WHERE ${table === 'workflows' || table === 'workflow_summary' ? 'id' : 'workflow_id'} = $1`,
        table === 'job_dependencies' ? [] : [aliceWorkflow],
      );
      expect(rows[0]?.n, table).toBe(table === 'job_dependencies' ? 1 : 0);
    }
    const updated = await sqlAs<{ id: number }>(
      bob,
      "UPDATE sluice.jobs SET status = 'completed' WHERE workflow_id = $1 RETURNING id",
      [aliceWorkflow],
    );
    expect(updated).toEqual([]);
    expect(await sqlErrorAs(bob, 'SELECT sluice.workflows_reset_status($1, false)', [aliceWorkflow])).toMatch(
      /does not exist/,
    );
    // Nor may B put rows into A's workflow.
    expect(
      await sqlErrorAs(bob, "INSERT INTO sluice.events (workflow_id, kind) VALUES ($1, 'workflow_reset')", [
        aliceWorkflow,
      ]),
    ).toMatch(/row-level security/);
  });

  it('users cannot alter, truncate or drop tables, nor switch row-level security off', async () => {
    expect(await sqlErrorAs(bob, 'TRUNCATE sluice.jobs')).toMatch(/permission denied/);
    expect(await sqlErrorAs(bob, 'ALTER TABLE sluice.jobs DISABLE ROW LEVEL SECURITY')).toMatch(/must be owner/);
    expect(await sqlErrorAs(bob, 'DROP TABLE sluice.events')).toMatch(/must be owner/);
    expect(await sqlErrorAs(bob, 'ALTER TABLE sluice.jobs ADD COLUMN x int')).toMatch(/must be owner/);
  });

  it('the API server’s role is no admin, though it may act as an admin user; as a user it sees only theirs', async () => {
    // add-user made sluice_server a member of every user role, the admin among them.
    const c = new pg.Client({ connectionString: t.url });
    await c.connect();
    try {
      const as = async (role: string) => {
        await c.query(`SET ROLE "${role}"`);
        const [row] = (
          await c.query<{ admin: boolean; mine: number[] }>(
            `SELECT sluice.is_admin() AS admin,
                    coalesce((SELECT array_agg(id::int ORDER BY id) FROM sluice.workflow_summary
                               WHERE id IN ($1, $2)), '{}') AS mine`,
            [aliceWorkflow, bobWorkflow],
          )
        ).rows;
        await c.query('RESET ROLE');
        return row;
      };
      await c.query('SET ROLE sluice_server');
      const alone = await c.query<{ admin: boolean }>('SELECT sluice.is_admin() AS admin');
      expect(alone.rows[0]?.admin).toBe(false);
      expect((await c.query('SELECT count(*)::int AS n FROM sluice.workflows').catch((e) => e)).message).toMatch(
        /permission denied/,
      );
      await c.query('RESET ROLE');
      const [rolinherit] = (
        await c.query<{ rolinherit: boolean }>("SELECT rolinherit FROM pg_roles WHERE rolname = 'sluice_server'")
      ).rows;
      expect(rolinherit?.rolinherit).toBe(false);
      // What the server does per request: SET ROLE to the token's user.
      expect(await as(admin)).toEqual({ admin: true, mine: [aliceWorkflow, bobWorkflow].sort((x, y) => x - y) });
      expect(await as(alice)).toEqual({ admin: false, mine: [aliceWorkflow] });
    } finally {
      await c.end();
    }
  });

  it('B’s worker started on A’s workflow runs nothing and exits with a clear message', async () => {
    const r = await runCli(['worker', String(aliceWorkflow), '--output-dir', 'out-b'], { ...asRole(bob), cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`sluice: workflow ${aliceWorkflow} does not exist`);
    const ran = await t.query('SELECT id FROM sluice.results WHERE workflow_id = $1', [aliceWorkflow]);
    expect(ran).toEqual([]);
  });

  it('A runs its own workflow; the admin sees both users’ workflows', async () => {
    const r = await runCli(['worker', String(aliceWorkflow), '--output-dir', 'out-a', '--poll-interval', '1'], {
      ...asRole(alice),
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    const list = await runCli(['workflows', 'list', '--json'], asRole(admin));
    const ids = JSON.parse(list.stdout).map((w: { id: number }) => w.id);
    expect(ids).toEqual(expect.arrayContaining([aliceWorkflow, bobWorkflow]));
    const status = JSON.parse(
      (await runCli(['workflows', 'status', String(aliceWorkflow), '--json'], asRole(admin))).stdout,
    );
    expect(status.is_complete).toBe(true);
  });

  it('tokens: each user lists and revokes only their own; they are stored hashed', async () => {
    const created = await runCli(['tokens', 'create', '--name', 'laptop', '--json'], asRole(alice));
    expect(created.code, created.stderr).toBe(0);
    const { token, id } = JSON.parse(created.stdout);
    expect(token).toMatch(/^slc_/);
    const stored = await t.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sluice.api_tokens WHERE encode(token_hash, $1) LIKE $2',
      ['escape', `%${token}%`],
    );
    expect(stored[0]?.n).toBe(0);
    expect(JSON.parse((await runCli(['tokens', 'list', '--json'], asRole(bob))).stdout)).toEqual([]);
    const revokeOther = await runCli(['tokens', 'revoke', String(id)], asRole(bob));
    expect(revokeOther.code).toBe(1);
    const revoke = await runCli(['tokens', 'revoke', String(id)], asRole(alice));
    expect(revoke.code, revoke.stderr).toBe(0);
  });
});
