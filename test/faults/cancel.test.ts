import type { ResolvedWorkflow } from '@sluice/core';
import { cancelWorkflow, commandLineSlurm, type SlurmClient } from '@sluice/runner';
import { describe, expect, it } from 'vitest';
import { registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized } from './support/fault-fixtures.js';
import { openTransaction, runAlone, waitBlockedOrDone } from './support/lock-holder.js';

// Finding 11: `workflows cancel` canceled the jobs in one transaction and marked the allocations
// canceled in another; meanwhile the allocation's last worker stopped and marked it complete, so
// it was never scancel-ed. Canceling a workflow now cancels its allocations in the same
// transaction (a trigger on workflows.canceled_at), and the cancel operation scancels exactly
// what that transaction canceled.

const t = useTestDatabase('faults_cancel');

function withScheduler(wf: ResolvedWorkflow): ResolvedWorkflow {
  wf.slurmSchedulers = [
    {
      name: 's',
      account: null,
      partition: 'debug',
      walltime: '01:00:00',
      nodes: 1,
      mem: null,
      gres: null,
      qos: null,
      ntasksPerNode: null,
      tmp: null,
      extra: null,
    },
  ];
  return wf;
}

describe('cancel is one transaction', () => {
  it("marks the allocation canceled with the jobs, whatever its last worker's stop does meanwhile", async () => {
    const wf = withScheduler(buildWorkflow({ a: {} }));
    const id = await createInitialized(t, wf);
    const [sched] = await t.query<{ id: number }>('SELECT id FROM sluice.slurm_schedulers WHERE workflow_id = $1', [
      id,
    ]);
    const [node] = await t.query<{ id: number }>(
      `INSERT INTO sluice.scheduled_compute_nodes (workflow_id, scheduler_id, slurm_job_id, status, submitted_at, started_at)
       VALUES ($1, $2, '999001', 'active', now(), now()) RETURNING id`,
      [id, sched?.id],
    );
    const w = await registerTestWorker(t.handle, id);
    await t.query('SELECT sluice.workers_attach_allocation($1, $2)', [w, node?.id]);

    const tx = await openTransaction(t.url);
    const rows = await tx.query('SELECT sluice.workflows_cancel($1) AS canceled_jobs', [id]);
    const stop = await runAlone(t.url, 'SELECT sluice.workers_stop($1)', [w]);
    await waitBlockedOrDone(t.url, stop.pid, stop.result);
    await tx.commit();
    await stop.result;
    expect(rows).toEqual([{ canceled_jobs: 1 }]);

    const [alloc] = await t.query<{ status: string }>(
      'SELECT status::text FROM sluice.scheduled_compute_nodes WHERE id = $1',
      [node?.id],
    );
    expect(alloc?.status, 'the allocation after cancel and a concurrent stop of its last worker').toBe('canceled');
  });

  it('the cancel operation scancels what its transaction canceled, once', async () => {
    const id = await createInitialized(t, withScheduler(buildWorkflow({ a: {} })));
    const [sched] = await t.query<{ id: number }>('SELECT id FROM sluice.slurm_schedulers WHERE workflow_id = $1', [
      id,
    ]);
    await t.query(
      `INSERT INTO sluice.scheduled_compute_nodes (workflow_id, scheduler_id, slurm_job_id, status, submitted_at, started_at)
       VALUES ($1, $2, '999002', 'active', now(), now()), ($1, $2, '999003', 'complete', now(), now())`,
      [id, sched?.id],
    );
    const scancels: string[][] = [];
    const slurm: SlurmClient = {
      ...commandLineSlurm,
      cancel: async (ids) => {
        scancels.push([...ids]);
        return null;
      },
    };
    const first = await cancelWorkflow(t.handle, id, slurm);
    expect(first).toEqual({ jobs: 1, allocations: ['999002'], problem: null });
    const again = await cancelWorkflow(t.handle, id, slurm);
    expect(again.allocations).toEqual([]);
    expect(scancels).toEqual([['999002'], []]);
  });
});
