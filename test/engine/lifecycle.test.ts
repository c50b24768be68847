import {
  type JobStatus,
  jobsClaimReady,
  workersRegister,
  workflowsCancel,
  workflowsCreate,
  workflowsGet,
  workflowsInitialize,
  workflowsReinitialize,
  workflowsResetStatus,
} from '@sluice/core';
import { workflowStatus } from '@sluice/runner';
import { describe, expect, it } from 'vitest';
import { finishJobs, registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('lifecycle');

async function statuses(workflowId: number): Promise<Record<string, JobStatus>> {
  const rows = await t.query<{ name: string; status: JobStatus }>(
    'SELECT name, status FROM sluice.jobs WHERE workflow_id = $1',
    [workflowId],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.status]));
}

async function create(jobs: Record<string, JobSketch>): Promise<number> {
  return workflowsCreate(t.handle.db, buildWorkflow(jobs));
}

const finish = (workflowId: number, outcome: Record<string, 'completed' | 'failed'>) =>
  finishJobs(t.handle, workflowId, outcome);

/**
 * The invariant from the design: every waiting (blocked or ready) job's count equals what its
 * dependency rows say. (Other jobs keep the count they had: it is recounted when a run starts.)
 */
async function expectCountsRecomputable(workflowId: number): Promise<void> {
  const wrong = await t.query(
    `SELECT j.name, j.unfinished_deps,
            (SELECT count(*) FROM sluice.job_dependencies d JOIN sluice.jobs p ON p.id = d.depends_on_job_id
              WHERE d.job_id = j.id AND NOT sluice.job_status_is_done(p.status))::int AS actual
       FROM sluice.jobs j WHERE j.workflow_id = $1 AND j.status IN ('blocked', 'ready')`,
    [workflowId],
  );
  expect(wrong.filter((r) => r.unfinished_deps !== r.actual)).toEqual([]);
  const counts = await t.query(
    `SELECT coalesce(a.status, c.status) AS status, a.n AS actual, c.n AS counted
       FROM (SELECT status, count(*)::int AS n FROM sluice.jobs WHERE workflow_id = $1 GROUP BY status) a
       FULL JOIN (SELECT status, sum(jobs)::int AS n FROM sluice.workflow_job_counts
                   WHERE workflow_id = $1 GROUP BY status HAVING sum(jobs) <> 0) c ON c.status = a.status
      WHERE a.n IS DISTINCT FROM c.n`,
    [workflowId],
  );
  expect(counts, 'per-status counters').toEqual([]);
  const [wf] = await t.query<{ unfinished_jobs: number; actual: number }>(
    `SELECT unfinished_jobs, (SELECT count(*) FROM sluice.jobs j WHERE j.workflow_id = w.id
                               AND NOT sluice.job_status_is_done(j.status))::int AS actual
       FROM sluice.workflows w WHERE id = $1`,
    [workflowId],
  );
  expect(wf?.unfinished_jobs).toBe(wf?.actual);
}

describe('workflow lifecycle in SQL', () => {
  it('initialize makes jobs without dependencies ready and the rest blocked', async () => {
    const id = await create({ a: {}, b: { deps: ['a'] }, c: { deps: ['a', 'b'] }, d: {} });
    expect(await statuses(id)).toEqual({
      a: 'uninitialized',
      b: 'uninitialized',
      c: 'uninitialized',
      d: 'uninitialized',
    });
    expect(await workflowsInitialize(t.handle.db, id)).toBe(1);
    expect(await statuses(id)).toEqual({ a: 'ready', b: 'blocked', c: 'blocked', d: 'ready' });
    await expect(workflowsInitialize(t.handle.db, id)).rejects.toThrow(/already initialized/);
    await expectCountsRecomputable(id);
  });

  it('completing a job unblocks its dependents in the same transaction', async () => {
    const id = await create({ a: {}, b: { deps: ['a'] }, c: { deps: ['a', 'b'] } });
    await workflowsInitialize(t.handle.db, id);
    await finish(id, { a: 'completed' });
    expect(await statuses(id)).toMatchObject({ a: 'completed', b: 'ready', c: 'blocked' });
    await finish(id, { b: 'completed' });
    expect(await statuses(id)).toMatchObject({ b: 'completed', c: 'ready' });
    await finish(id, { c: 'completed' });
    const w = await workflowsGet(t.handle.db, id);
    expect(w.is_complete).toBe(true);
    expect(w.completed).toBe(3);
    const events = await t.query('SELECT kind FROM sluice.events WHERE workflow_id = $1 AND kind = $2', [
      id,
      'workflow_completed',
    ]);
    expect(events).toHaveLength(1);
    await expectCountsRecomputable(id);
  });

  it('a failure cancels dependents transitively, except those that do not cancel on failure', async () => {
    const id = await create({
      a: {},
      b: { deps: ['a'] },
      c: { deps: ['b'] },
      d: { deps: ['c'] },
      tolerant: { deps: ['a'], cob: false },
      after_tolerant: { deps: ['tolerant'] },
      other: {},
    });
    await workflowsInitialize(t.handle.db, id);
    await finish(id, { a: 'failed', other: 'completed' });
    expect(await statuses(id)).toEqual({
      a: 'failed',
      b: 'canceled',
      c: 'canceled',
      d: 'canceled',
      tolerant: 'ready',
      after_tolerant: 'blocked',
      other: 'completed',
    });
    await expectCountsRecomputable(id);
    await finish(id, { tolerant: 'completed' });
    await finish(id, { after_tolerant: 'completed' });
    const w = await workflowsGet(t.handle.db, id);
    expect(w.unfinished_jobs).toBe(0);
    expect(w.is_complete).toBe(true);
  });

  it('reset-status --failed-only resets failed jobs and everything downstream, then reinitialize reruns them', async () => {
    const id = await create({ job1: {}, job2: {}, post: { deps: ['job1', 'job2'] }, unrelated: {} });
    await workflowsInitialize(t.handle.db, id);
    await finish(id, { job1: 'failed', job2: 'completed', unrelated: 'completed' });
    expect(await statuses(id)).toMatchObject({ post: 'canceled' });
    expect(await workflowsResetStatus(t.handle.db, id, true)).toBe(2);
    expect(await statuses(id)).toEqual({
      job1: 'uninitialized',
      job2: 'completed',
      post: 'uninitialized',
      unrelated: 'completed',
    });
    await expectCountsRecomputable(id);
    expect(await workflowsReinitialize(t.handle.db, id)).toBe(2);
    expect(await statuses(id)).toEqual({ job1: 'ready', job2: 'completed', post: 'blocked', unrelated: 'completed' });
    await finish(id, { job1: 'completed' });
    expect(await statuses(id)).toMatchObject({ post: 'ready' });
    await expectCountsRecomputable(id);
  });

  it('reset-status without --failed-only resets every job', async () => {
    const id = await create({ a: {}, b: { deps: ['a'] } });
    await workflowsInitialize(t.handle.db, id);
    await finish(id, { a: 'completed' });
    expect(await workflowsResetStatus(t.handle.db, id, false)).toBe(2);
    expect(await statuses(id)).toEqual({ a: 'uninitialized', b: 'uninitialized' });
    await expectCountsRecomputable(id);
  });

  it('cancel marks the workflow canceled and every unfinished job canceled', async () => {
    const id = await create({ a: {}, b: { deps: ['a'] }, c: {} });
    await workflowsInitialize(t.handle.db, id);
    await finish(id, { c: 'completed' });
    expect(await workflowsCancel(t.handle.db, id)).toBe(2);
    expect(await statuses(id)).toEqual({ a: 'canceled', b: 'canceled', c: 'completed' });
    const w = await workflowsGet(t.handle.db, id);
    expect(w.is_canceled).toBe(true);
    expect(w.is_complete).toBe(false);
    await expect(workflowsReinitialize(t.handle.db, id)).rejects.toThrow(/canceled/);
    await expectCountsRecomputable(id);
  });

  it('keeps counts right when an admin changes a status by hand in SQL', async () => {
    const id = await create({ a: {}, b: { deps: ['a'] } });
    await workflowsInitialize(t.handle.db, id);
    await t.query("UPDATE sluice.jobs SET status = 'completed' WHERE workflow_id = $1 AND name = 'a'", [id]);
    expect(await statuses(id)).toEqual({ a: 'completed', b: 'ready' });
    await expectCountsRecomputable(id);
  });

  it('creating a workflow is atomic: a failing insert leaves nothing behind', async () => {
    const before = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.workflows');
    const bad = buildWorkflow({ a: {} });
    bad.jobs[0] = { ...(bad.jobs[0] as (typeof bad.jobs)[0]), resourceRequirements: 'missing' };
    await expect(workflowsCreate(t.handle.db, bad)).rejects.toThrow();
    const after = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.workflows');
    expect(after[0]?.n).toBe(before[0]?.n);
  });
});

describe('a stalled workflow', () => {
  it('says why: ready jobs that no live worker can run, and no allocation queued', async () => {
    const wf = buildWorkflow({ big: { rr: 'big' }, small: {} }, {}, { big: { cpus: 16, runtime: 'PT1M' } });
    const id = await workflowsCreate(t.handle.db, wf);
    await workflowsInitialize(t.handle.db, id);
    expect((await workflowStatus(t.handle, id)).status.stalled).toBe(
      `2 ready jobs and no live worker to run them (start one: sluice worker ${id})`,
    );
    await workersRegister(t.handle.db, {
      workflowId: id,
      hostname: 'small-node',
      pid: 1,
      osUser: null,
      numCpus: 8,
      memoryBytes: 1 << 30,
      numGpus: 0,
      numNodes: 1,
      maxParallelJobs: null,
      endsAt: null,
      heartbeatTimeoutSeconds: 600,
    });
    expect((await workflowStatus(t.handle, id)).status.stalled).toBe(
      '1 ready job needs 16 cpus; live workers have at most 8',
    );
  });
});

describe('torc job and data keys', () => {
  it('claims higher priority first, then as before', async () => {
    const wf = buildWorkflow({ low: {}, high: {}, mid: {} });
    wf.jobs[1] = { ...(wf.jobs[1] as (typeof wf.jobs)[0]), priority: 10 };
    wf.jobs[2] = { ...(wf.jobs[2] as (typeof wf.jobs)[0]), priority: 5 };
    const id = await workflowsCreate(t.handle.db, wf);
    await workflowsInitialize(t.handle.db, id);
    const w = await registerTestWorker(t.handle, id);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [job] = await jobsClaimReady(t.handle.db, {
        workerId: w,
        limit: 1,
        useResources: false,
        freeCpus: 0,
        freeMemoryBytes: 0,
        freeGpus: 0,
        freeNodes: 0,
        maxRuntimeSeconds: null,
      });
      order.push(job?.name as string);
    }
    expect(order).toEqual(['high', 'mid', 'low']);
  });

  it('clears ephemeral user data when the workflow is reinitialized, and keeps the rest', async () => {
    const wf = buildWorkflow({ a: {} });
    wf.userData = [
      { name: 'scratch', data: { n: 1 }, isEphemeral: true },
      { name: 'config', data: { n: 2 }, isEphemeral: false },
    ];
    const id = await workflowsCreate(t.handle.db, wf);
    await workflowsInitialize(t.handle.db, id);
    await workflowsReinitialize(t.handle.db, id);
    const rows = await t.query<{ name: string; data: unknown }>(
      'SELECT name, data FROM sluice.user_data WHERE workflow_id = $1 ORDER BY name',
      [id],
    );
    expect(rows).toEqual([
      { name: 'config', data: { n: 2 } },
      { name: 'scratch', data: null },
    ]);
  });
});
