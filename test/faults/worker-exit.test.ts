import { actionsClaimPending, MAIN_LOOP_TRIGGER_TYPES, workersStop } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { claimAll, registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflowWithActions } from '../support/workflow-builder.js';
import { createInitialized, jobsOf } from './support/fault-fixtures.js';
import { expectInvariants } from './support/invariants.js';

// Finding 4 (end): a worker that stops (workers_stop) with jobs still claimed or running leaves
// them pending/running on a stopped worker, where nobody will ever finish them and reset-status
// refuses them. Whether it stops or is declared lost, its jobs must end terminated (with a
// result row) and its running action runs abandoned.

const t = useTestDatabase('faults_worker_exit');

/** A worker holding one running job, two claimed ones and a running on_jobs_ready action. */
async function busyWorker() {
  const wf = buildWorkflowWithActions({ a: {}, b: {}, c: {} }, [
    { trigger: 'on_jobs_ready', jobs: ['a'], commands: ['true'] },
  ]);
  const id = await createInitialized(t, wf);
  const w = await registerTestWorker(t.handle, id);
  const action = await actionsClaimPending(t.handle.db, w, MAIN_LOOP_TRIGGER_TYPES);
  expect(action?.trigger_type).toBe('on_jobs_ready');
  const jobs = await claimAll(t.handle, w);
  expect(jobs).toHaveLength(3);
  return { id, w, runId: action?.run_id as number };
}

async function expectNothingLeftBehind(id: number, w: number, runId: number): Promise<void> {
  const jobs = await jobsOf(t, id);
  expect(
    jobs.map((j) => `${j.name}:${j.status}`).join(' '),
    'the jobs of a worker that left must not stay pending/running',
  ).toBe('a:terminated b:terminated c:terminated');
  const results = await t.query<{ status: string; n: number }>(
    'SELECT status::text, count(*)::int AS n FROM sluice.results WHERE workflow_id = $1 AND worker_id = $2 GROUP BY 1',
    [id, w],
  );
  expect(results).toEqual([{ status: 'terminated', n: 3 }]);
  const [run] = await t.query<{ status: string }>('SELECT status::text FROM sluice.action_runs WHERE id = $1', [runId]);
  expect(run?.status, 'its running action run').toBe('abandoned');
  await expectInvariants(t.query, id);
}

describe('a worker that leaves leaves nothing claimed behind', () => {
  it('workers_stop terminates its claimed and running jobs and abandons its running action runs', async () => {
    const { id, w, runId } = await busyWorker();
    await workersStop(t.handle.db, w);
    await expectNothingLeftBehind(id, w, runId);
  });

  it('a worker declared lost (workers_reap) does the same', async () => {
    const { id, w, runId } = await busyWorker();
    await t.query("UPDATE sluice.workers SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [w]);
    await t.query('SELECT sluice.workers_reap($1)', [id]);
    await expectNothingLeftBehind(id, w, runId);
  });
});
