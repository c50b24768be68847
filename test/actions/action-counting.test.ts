import {
  actionRunsFinish,
  actionsClaimPending,
  jobsClaimReady,
  MAIN_LOOP_TRIGGER_TYPES,
  openPool,
  workflowsCancel,
  workflowsCreate,
  workflowsInitialize,
  workflowsReinitialize,
  workflowsResetStatus,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { finishJobs, registerTestWorker, SUCCEEDED } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { type ActionSketch, buildWorkflowWithActions, type JobSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('action_counting');
const db = () => t.handle.db;

async function create(jobs: Record<string, JobSketch>, actions: ActionSketch[]): Promise<number> {
  return workflowsCreate(db(), buildWorkflowWithActions(jobs, actions));
}

const worker = (workflowId: number, h = t.handle) => registerTestWorker(h, workflowId);

async function actions(workflowId: number) {
  return t.query<{
    position: number;
    trigger_count: number;
    required_triggers: number;
    status: string;
    executed: boolean;
  }>(
    'SELECT position, trigger_count, required_triggers, status, executed FROM sluice.action_status WHERE workflow_id = $1 ORDER BY position',
    [workflowId],
  );
}

const finish = (workflowId: number, outcome: Record<string, 'completed' | 'failed'>) =>
  finishJobs(t.handle, workflowId, outcome);
const ok = SUCCEEDED;

/** The design invariant: every job-triggered count equals what the job states say. */
async function expectCountsRecomputable(workflowId: number): Promise<void> {
  const wrong = await t.query(
    `SELECT a.id, a.trigger_count,
            (SELECT count(*) FROM sluice.workflow_action_jobs m JOIN sluice.jobs j ON j.id = m.job_id
              WHERE m.action_id = a.id AND CASE WHEN a.trigger_type = 'on_jobs_complete'
                    THEN sluice.job_status_is_terminal(j.status) ELSE j.became_ready END)::int AS actual
       FROM sluice.workflow_actions a
      WHERE a.workflow_id = $1 AND a.trigger_type IN ('on_jobs_ready', 'on_jobs_complete')`,
    [workflowId],
  );
  expect(wrong.filter((r) => r.trigger_count !== r.actual)).toEqual([]);
}

describe('action trigger counts kept by the database', () => {
  it('arms workflow-start and worker actions at initialize, job actions as their jobs move', async () => {
    const id = await create({ a: {}, b: { deps: ['a'] } }, [
      { trigger: 'on_workflow_start' },
      { trigger: 'on_worker_start' },
      { trigger: 'on_worker_complete' },
      { trigger: 'on_jobs_ready', jobs: ['b'] },
      { trigger: 'on_jobs_complete', jobs: ['a', 'b'] },
      { trigger: 'on_workflow_complete' },
    ]);
    expect((await actions(id)).map((a) => a.status)).toEqual([
      'waiting',
      'waiting',
      'waiting',
      'waiting',
      'waiting',
      'waiting',
    ]);
    await workflowsInitialize(db(), id);
    expect((await actions(id)).map((a) => a.status)).toEqual([
      'pending',
      'pending',
      'pending',
      'waiting',
      'waiting',
      'waiting',
    ]);
    await finish(id, { a: 'completed' });
    const after = await actions(id);
    expect(after[3]).toMatchObject({ status: 'pending', trigger_count: 1, required_triggers: 1 });
    expect(after[4]).toMatchObject({ status: 'waiting', trigger_count: 1, required_triggers: 2 });
    await finish(id, { b: 'completed' });
    const end = await actions(id);
    expect(end[4]).toMatchObject({ status: 'pending', trigger_count: 2 });
    expect(end[5]).toMatchObject({ status: 'pending', trigger_count: 1 });
    const pendingEvents = await t.query(
      "SELECT action_id FROM sluice.events WHERE workflow_id = $1 AND kind = 'action_pending'",
      [id],
    );
    expect(pendingEvents).toHaveLength(6);
    await expectCountsRecomputable(id);
  });

  it('counts jobs canceled by a failure cascade as complete, and fires on_workflow_complete after it', async () => {
    const id = await create({ a: {}, b: { deps: ['a'] }, c: { deps: ['b'] } }, [
      { trigger: 'on_jobs_complete', jobs: ['b', 'c'] },
      { trigger: 'on_jobs_ready', jobs: ['c'] },
      { trigger: 'on_workflow_complete' },
    ]);
    await workflowsInitialize(db(), id);
    await finish(id, { a: 'failed' });
    const s = await actions(id);
    expect(s[0]).toMatchObject({ status: 'pending', trigger_count: 2 });
    // c was canceled without ever becoming ready: it does not count as ready.
    expect(s[1]).toMatchObject({ status: 'waiting', trigger_count: 0 });
    expect(s[2]).toMatchObject({ status: 'pending' });
    await expectCountsRecomputable(id);
  });

  it('keeps counts right through workflows cancel and a status changed by hand in SQL', async () => {
    const id = await create({ a: {}, b: {}, c: {} }, [
      { trigger: 'on_jobs_complete', jobs: ['a', 'b', 'c'] },
      { trigger: 'on_jobs_ready', jobs: ['a', 'b'] },
      { trigger: 'on_workflow_complete' },
    ]);
    await workflowsInitialize(db(), id);
    expect((await actions(id))[1]).toMatchObject({ status: 'pending', trigger_count: 2 });
    await t.query("UPDATE sluice.jobs SET status = 'completed' WHERE workflow_id = $1 AND name = 'a'", [id]);
    expect((await actions(id))[0]).toMatchObject({ status: 'waiting', trigger_count: 1 });
    await workflowsCancel(db(), id);
    const s = await actions(id);
    expect(s[0]).toMatchObject({ status: 'pending', trigger_count: 3 });
    expect(s[2]).toMatchObject({ status: 'pending' });
    await expectCountsRecomputable(id);
  });

  it("the seed's reinitialization story: postprocess_job's on_jobs_ready fires again in the new run", async () => {
    const id = await create({ job1: {}, job2: {}, postprocess_job: { deps: ['job1', 'job2'] } }, [
      { trigger: 'on_jobs_ready', jobs: ['postprocess_job'] },
      { trigger: 'on_workflow_start' },
    ]);
    await workflowsInitialize(db(), id);
    await finish(id, { job1: 'failed', job2: 'completed' });
    expect((await actions(id))[0]).toMatchObject({ status: 'waiting', trigger_count: 0 });
    await workflowsResetStatus(db(), id, true);
    await workflowsReinitialize(db(), id);
    const s = await actions(id);
    expect(s[0]).toMatchObject({ status: 'waiting', trigger_count: 0, executed: false });
    expect(s[1]).toMatchObject({ status: 'pending', executed: false });
    await finish(id, { job1: 'completed' });
    expect((await actions(id))[0]).toMatchObject({ status: 'pending', trigger_count: 1 });
    await expectCountsRecomputable(id);
  });

  it('reinitialize re-arms executed actions, except job-triggered ones whose jobs all remain satisfied', async () => {
    const id = await create({ a: {}, b: {}, c: { deps: ['b'] } }, [
      { trigger: 'on_jobs_complete', jobs: ['a'] },
      { trigger: 'on_jobs_complete', jobs: ['b', 'c'] },
      { trigger: 'on_workflow_complete' },
    ]);
    await workflowsInitialize(db(), id);
    await finish(id, { a: 'completed', b: 'completed' });
    await finish(id, { c: 'failed' });
    const w = await worker(id);
    for (
      let a = await actionsClaimPending(db(), w, MAIN_LOOP_TRIGGER_TYPES);
      a;
      a = await actionsClaimPending(db(), w, MAIN_LOOP_TRIGGER_TYPES)
    ) {
      await actionRunsFinish(db(), a.run_id, ok);
    }
    expect((await actions(id)).map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await workflowsResetStatus(db(), id, true);
    await workflowsReinitialize(db(), id);
    const s = await actions(id);
    // a is still completed: nothing that action watches will happen again.
    expect(s[0]).toMatchObject({ status: 'succeeded', executed: true, trigger_count: 1 });
    expect(s[1]).toMatchObject({ status: 'waiting', executed: false, trigger_count: 1 });
    expect(s[2]).toMatchObject({ status: 'waiting', executed: false });
    await expectCountsRecomputable(id);
  });

  it('a non-persistent action is claimed exactly once among concurrent claimers; a persistent one once per worker', async () => {
    const acts: ActionSketch[] = [];
    for (let i = 0; i < 20; i++) acts.push({ trigger: 'on_workflow_start' });
    acts.push({ trigger: 'on_worker_start' }, { trigger: 'on_worker_start' });
    const id = await create({ a: {} }, acts);
    await workflowsInitialize(db(), id);
    const pools = Array.from({ length: 8 }, () => openPool(t.url, { max: 1 }));
    try {
      const claims = await Promise.all(
        pools.map(async (p) => {
          const w = await worker(id, p);
          const got: { action: number; worker: number }[] = [];
          for (;;) {
            const a = await actionsClaimPending(p.db, w, MAIN_LOOP_TRIGGER_TYPES);
            if (!a) return got;
            got.push({ action: a.action_id, worker: w });
          }
        }),
      );
      const all = claims.flat();
      const nonPersistent = all.filter((c) => c.action <= Math.min(...all.map((x) => x.action)) + 19);
      expect(new Set(nonPersistent.map((c) => c.action)).size).toBe(20);
      expect(nonPersistent).toHaveLength(20);
      expect(all).toHaveLength(20 + 2 * 8);
      const runs = await t.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sluice.action_runs WHERE workflow_id = $1 GROUP BY action_id, worker_id HAVING count(*) > 1',
        [id],
      );
      expect(runs).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('holds job claims until on_workflow_start actions finish, and a worker until its on_worker_start ran', async () => {
    const id = await create({ a: {} }, [{ trigger: 'on_workflow_start' }, { trigger: 'on_worker_start' }]);
    await workflowsInitialize(db(), id);
    const w = await worker(id);
    const claim = () =>
      jobsClaimReady(db(), {
        workerId: w,
        limit: 10,
        useResources: false,
        freeCpus: 0,
        freeMemoryBytes: 0,
        freeGpus: 0,
        freeNodes: 0,
        maxRuntimeSeconds: null,
      });
    expect(await claim()).toEqual([]);
    const start = await actionsClaimPending(db(), w, ['on_workflow_start']);
    expect(start?.trigger_type).toBe('on_workflow_start');
    expect(await claim()).toEqual([]);
    await actionRunsFinish(db(), start?.run_id as number, { ...ok, succeeded: false, exitCode: 1 });
    // A failed start action still opens the gate, but this worker has not run on_worker_start yet.
    expect(await claim()).toEqual([]);
    const ws = await actionsClaimPending(db(), w, ['on_worker_start']);
    await actionRunsFinish(db(), ws?.run_id as number, ok);
    expect((await claim()).map((j) => j.name)).toEqual(['a']);
  });
});
