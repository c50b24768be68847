import { describe, expect, it } from 'vitest';
import { registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized } from './support/fault-fixtures.js';
import { openTransaction, runAlone, waitBlockedOrDone } from './support/lock-holder.js';

// Finding 11: `workflows cancel` cancels the jobs in one transaction and marks the allocations
// canceled in another; meanwhile the allocation's last worker stops and marks it complete, so it
// is never scancel-ed. workflows_cancel must do both in one transaction and return what to
// scancel: (canceled_jobs integer, slurm_job_ids text[]).

const t = useTestDatabase('faults_cancel');

describe('cancel is one transaction', () => {
  it("marks the allocation canceled with the jobs, whatever its last worker's stop does meanwhile", async () => {
    const wf = buildWorkflow({ a: {} });
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
    const rows = await tx.query('SELECT * FROM sluice.workflows_cancel($1)', [id]);
    const stop = await runAlone(t.url, 'SELECT sluice.workers_stop($1)', [w]);
    await waitBlockedOrDone(t.url, stop.pid, stop.result);
    await tx.commit();
    await stop.result;

    const [alloc] = await t.query<{ status: string }>(
      'SELECT status::text FROM sluice.scheduled_compute_nodes WHERE id = $1',
      [node?.id],
    );
    expect(alloc?.status, 'the allocation after cancel and a concurrent stop of its last worker').toBe('canceled');
    expect(rows, 'workflows_cancel returns what it canceled and what to scancel').toEqual([
      { canceled_jobs: 1, slurm_job_ids: ['999001'] },
    ]);
  });
});
