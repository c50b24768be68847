import { workflowsCreate } from '@sluice/core';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflowWithActions } from '../support/workflow-builder.js';

// Migration 0011: the references of jobs to their workflow, of dependency rows to their job and
// of action memberships to their action and job are kept by statement-level triggers instead
// of foreign keys (one set-wise check per statement, not one query per row). They must refuse
// and cascade as the foreign keys did, for every role, and lock what another transaction could
// delete.
const t = useTestDatabase('set-wise-references');
const role = `refs_${inject('pgRunId')}_${Math.random().toString(36).slice(2, 7)}`;

afterAll(async () => {
  await t.query(`DROP OWNED BY "${role}"`).catch(() => undefined);
  await t.query(`DROP ROLE IF EXISTS "${role}"`);
});

async function sqlError(
  text: string,
  values: unknown[] = [],
  c?: pg.Client,
): Promise<{ code?: string; message: string }> {
  try {
    await (c ? c.query(text, values) : t.query(text, values));
    return { message: 'no error' };
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { code: err.code, message: err.message };
  }
}

const counts = async (workflowId: number) =>
  (
    await t.query<{ jobs: number; deps: number; members: number; actions: number }>(
      `SELECT (SELECT count(*)::int FROM sluice.jobs WHERE workflow_id = $1) AS jobs,
              (SELECT count(*)::int FROM sluice.job_dependencies d
                WHERE d.job_id IN (SELECT id FROM sluice.jobs WHERE workflow_id = $1) OR d.job_id = ANY ($2)) AS deps,
              (SELECT count(*)::int FROM sluice.workflow_action_jobs m WHERE m.job_id = ANY ($2)) AS members,
              (SELECT count(*)::int FROM sluice.workflow_actions WHERE workflow_id = $1) AS actions`,
      [workflowId, await jobIds(workflowId)],
    )
  )[0];

const jobIdCache = new Map<number, number[]>();
async function jobIds(workflowId: number): Promise<number[]> {
  if (!jobIdCache.has(workflowId)) {
    const rows = await t.query<{ id: number }>('SELECT id::int FROM sluice.jobs WHERE workflow_id = $1 ORDER BY id', [
      workflowId,
    ]);
    jobIdCache.set(
      workflowId,
      rows.map((r) => r.id),
    );
  }
  return jobIdCache.get(workflowId) ?? [];
}

const sample = () =>
  buildWorkflowWithActions({ a: {}, b: { deps: ['a'] }, c: { deps: ['a', 'b'] } }, [
    { trigger: 'on_jobs_complete', jobs: ['b', 'c'] },
  ]);

describe('references kept set-wise', () => {
  it('refuses rows that point at nothing, with a foreign key violation', async () => {
    const id = await workflowsCreate(t.handle.db, sample());
    const [a] = await jobIds(id);
    const [action] = await t.query<{ id: number }>(
      'SELECT id::int FROM sluice.workflow_actions WHERE workflow_id = $1',
      [id],
    );
    const job = await sqlError(
      `INSERT INTO sluice.jobs (workflow_id, name, command, resource_requirements_id, num_cpus, num_gpus, num_nodes,
                                memory_bytes, runtime_seconds)
       SELECT 987654321, 'x', 'true', resource_requirements_id, 1, 0, 1, 1, 1 FROM sluice.jobs WHERE id = $1`,
      [a],
    );
    expect(job).toMatchObject({ code: '23503', message: expect.stringMatching(/jobs_workflow_fkey/) });
    expect(await sqlError('INSERT INTO sluice.job_dependencies VALUES (987654321, $1)', [a])).toMatchObject({
      code: '23503',
      message: expect.stringMatching(/job_dependencies_job_fkey/),
    });
    expect(
      await sqlError('INSERT INTO sluice.workflow_action_jobs VALUES ($1, 987654321)', [action?.id]),
    ).toMatchObject({ code: '23503', message: expect.stringMatching(/workflow_action_jobs_job_fkey/) });
    expect(await sqlError('INSERT INTO sluice.workflow_action_jobs VALUES (987654321, $1)', [a])).toMatchObject({
      code: '23503',
      message: expect.stringMatching(/workflow_action_jobs_action_fkey/),
    });
    // One good row and one bad in the same statement: the statement fails as a whole.
    expect(
      await sqlError('INSERT INTO sluice.job_dependencies VALUES ($1, $2), (987654321, $2)', [
        (await jobIds(id))[1],
        (await jobIds(id))[2],
      ]),
    ).toMatchObject({ code: '23503' });
    expect(await counts(id)).toEqual({ jobs: 3, deps: 3, members: 2, actions: 1 });
  });

  it('never lets a key change under the rows that point at it', async () => {
    const id = await workflowsCreate(t.handle.db, sample());
    const [a, b] = await jobIds(id);
    expect(await sqlError('UPDATE sluice.jobs SET id = 987654321 WHERE id = $1', [b])).toMatchObject({
      code: '23503',
    });
    expect(await sqlError('UPDATE sluice.jobs SET workflow_id = workflow_id + 1 WHERE id = $1', [b])).toMatchObject({
      code: '23503',
    });
    expect(await sqlError('UPDATE sluice.job_dependencies SET job_id = $1 WHERE job_id = $2', [a, b])).toMatchObject({
      code: '23503',
    });
    // Updating other columns is as before.
    await t.query('UPDATE sluice.jobs SET priority = 3 WHERE id = $1', [b]);
  });

  it('cascades deletes: a workflow takes its jobs, their dependency rows and memberships; a job or an action its own', async () => {
    const gone = await workflowsCreate(t.handle.db, sample());
    const kept = await workflowsCreate(t.handle.db, sample());
    await jobIds(gone);
    await t.query('DELETE FROM sluice.workflows WHERE id = $1', [gone]);
    expect(await counts(gone)).toEqual({ jobs: 0, deps: 0, members: 0, actions: 0 });
    expect(await counts(kept)).toEqual({ jobs: 3, deps: 3, members: 2, actions: 1 });

    const [, b, c] = await jobIds(kept);
    await t.query('DELETE FROM sluice.jobs WHERE id = $1', [c]);
    expect(
      await t.query('SELECT job_id::int, depends_on_job_id::int FROM sluice.job_dependencies WHERE job_id = ANY ($1)', [
        await jobIds(kept),
      ]),
    ).toEqual([{ job_id: b, depends_on_job_id: (await jobIds(kept))[0] }]);
    expect(
      await t.query('SELECT job_id::int FROM sluice.workflow_action_jobs WHERE job_id = ANY ($1)', [[b, c]]),
    ).toEqual([{ job_id: b }]);
    await t.query('DELETE FROM sluice.workflow_actions WHERE workflow_id = $1', [kept]);
    expect(await t.query('SELECT 1 FROM sluice.workflow_action_jobs WHERE job_id = ANY ($1)', [[b, c]])).toEqual([]);
  });

  it('a user deleting their own workflow leaves nothing behind, though row-level security hides its rows once it is gone', async () => {
    await t.query(`CREATE ROLE "${role}" LOGIN IN ROLE sluice_users`);
    const u = new URL(t.url);
    u.username = role;
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    try {
      const { openPool } = await import('@sluice/core');
      const h = openPool(u.toString(), { max: 1 });
      let id: number;
      try {
        id = await workflowsCreate(h.db, sample());
      } finally {
        await h.close();
      }
      await jobIds(id);
      expect(await counts(id)).toEqual({ jobs: 3, deps: 3, members: 2, actions: 1 });
      // Not into another user's workflow: row-level security refuses first.
      const other = await workflowsCreate(t.handle.db, sample());
      const [theirs, theirs2] = await jobIds(other);
      expect(
        (await sqlError('INSERT INTO sluice.job_dependencies VALUES ($1, $2)', [theirs2, theirs], c)).message,
      ).toMatch(/row-level security/);
      await c.query('DELETE FROM sluice.workflows WHERE id = $1', [id]);
      expect(await counts(id)).toEqual({ jobs: 0, deps: 0, members: 0, actions: 0 });
    } finally {
      await c.end();
    }
  });

  it('locks a job that another transaction created, as a foreign key does: a concurrent delete waits', async () => {
    const id = await workflowsCreate(t.handle.db, sample());
    const [a, b] = await jobIds(id);
    const c1 = new pg.Client({ connectionString: t.url });
    const c2 = new pg.Client({ connectionString: t.url });
    await c1.connect();
    await c2.connect();
    try {
      await c1.query('BEGIN');
      await c1.query('DELETE FROM sluice.job_dependencies WHERE job_id = $1', [b]);
      await c1.query('INSERT INTO sluice.job_dependencies VALUES ($1, $2)', [b, a]);
      await c2.query('BEGIN');
      await c2.query("SET LOCAL lock_timeout = '300ms'");
      expect((await sqlError('DELETE FROM sluice.jobs WHERE id = $1', [b], c2)).message).toMatch(/lock timeout/);
      await c2.query('ROLLBACK');
      await c1.query('COMMIT');
      // And a job deleted (committed) before the insert is missing.
      await t.query('DELETE FROM sluice.jobs WHERE id = $1', [b]);
      expect(await sqlError('INSERT INTO sluice.job_dependencies VALUES ($1, $2)', [b, a])).toMatchObject({
        code: '23503',
      });
    } finally {
      await c1.end();
      await c2.end();
    }
  });
});
