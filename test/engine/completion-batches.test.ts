import { jobsComplete, workflowsCreate, workflowsDelete, workflowsInitialize } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { claimAll, registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('completion-batches');

async function started(numJobs: number): Promise<{ id: number; worker: number }> {
  const jobs: Record<string, JobSketch> = {};
  for (let i = 0; i < numJobs; i++) jobs[`j${i}`] = {};
  const id = await workflowsCreate(t.handle.db, buildWorkflow(jobs));
  await workflowsInitialize(t.handle.db, id);
  return { id, worker: await registerTestWorker(t.handle, id) };
}

const at = new Date();
const done = (jobId: number, attempt: number, status: 'completed' | 'failed' = 'completed') => ({
  jobId,
  attempt,
  status,
  returnCode: status === 'completed' ? 0 : 3,
  startedAt: at,
  completedAt: at,
  message: null,
  stdoutPath: null,
  stderrPath: null,
});

describe('jobs_complete batches (0010: matched by position, updated by tuple id)', () => {
  it('records a mixed batch once, skips executions it does not hold, and answers for each input', async () => {
    const { id, worker } = await started(5);
    const claimed = (await claimAll(t.handle, worker)).sort((a, b) => a.id - b.id);
    const [a, b, c, d, e] = claimed.map((j) => j);
    if (!a || !b || !c || !d || !e) throw new Error('five jobs claimed');
    // c twice, d with a stale attempt, a job id that does not exist; inputs out of id order.
    const first = await jobsComplete(t.handle.db, worker, [
      done(c.id, c.attempt, 'failed'),
      done(a.id, a.attempt),
      done(c.id, c.attempt, 'failed'),
      done(d.id, d.attempt + 7),
      done(b.id, b.attempt),
      done(999_999_999, 1),
    ]);
    expect([...first].sort((x, y) => x - y)).toEqual([a.id, b.id, c.id, c.id].sort((x, y) => x - y));
    const rows = await t.query<{ name: string; status: string; results: number; finished: number }>(
      `SELECT j.name, j.status,
              (SELECT count(*)::int FROM sluice.results r WHERE r.job_id = j.id) AS results,
              (SELECT count(*)::int FROM sluice.events v WHERE v.job_id = j.id AND v.kind = 'job_finished') AS finished
         FROM sluice.jobs j WHERE j.workflow_id = $1 ORDER BY j.id`,
      [id],
    );
    expect(rows.map((r) => [r.status, r.results, r.finished])).toEqual([
      ['completed', 1, 1],
      ['completed', 1, 1],
      ['failed', 1, 1],
      ['running', 0, 0],
      ['running', 0, 0],
    ]);
    // A retried call (its reply lost) records nothing again and still answers for what it holds.
    const again = await jobsComplete(t.handle.db, worker, [done(a.id, a.attempt), done(e.id, e.attempt)]);
    expect([...again].sort((x, y) => x - y)).toEqual([a.id, e.id].sort((x, y) => x - y));
    const counts = await t.query<{ results: number; unfinished: number }>(
      `SELECT (SELECT count(*)::int FROM sluice.results WHERE workflow_id = $1) AS results,
              (SELECT unfinished_jobs FROM sluice.workflows WHERE id = $1) AS unfinished`,
      [id],
    );
    expect(counts[0]).toEqual({ results: 4, unfinished: 1 });
  });

  it('a batch of 900 without statistics completes every job', async () => {
    const { id, worker } = await started(900);
    await t.query(
      "DELETE FROM pg_statistic WHERE starelid = 'sluice.jobs'::regclass; UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'sluice.jobs'::regclass",
    );
    const claimed = await claimAll(t.handle, worker);
    expect(claimed).toHaveLength(900);
    const ids = await jobsComplete(
      t.handle.db,
      worker,
      claimed.map((j) => done(j.id, j.attempt)),
    );
    expect(ids).toHaveLength(900);
    const w = await t.query<{ unfinished_jobs: number; done: boolean }>(
      'SELECT unfinished_jobs, completed_at IS NOT NULL AS done FROM sluice.workflows WHERE id = $1',
      [id],
    );
    expect(w[0]).toEqual({ unfinished_jobs: 0, done: true });
  });
});

describe('worker references without foreign keys (0010)', () => {
  it('a worker row deleted by hand releases its jobs and results; one still running a job refuses', async () => {
    const { id, worker } = await started(2);
    const [a, b] = await claimAll(t.handle, worker);
    if (!a || !b) throw new Error('two jobs claimed');
    await jobsComplete(t.handle.db, worker, [done(a.id, a.attempt)]);
    await expect(t.query('DELETE FROM sluice.workers WHERE id = $1', [worker])).rejects.toThrow(
      /jobs_claimed_has_worker/,
    );
    await jobsComplete(t.handle.db, worker, [done(b.id, b.attempt)]);
    await t.query('DELETE FROM sluice.workers WHERE id = $1', [worker]);
    const left = await t.query<{ n: number }>(
      `SELECT (SELECT count(*)::int FROM sluice.jobs WHERE workflow_id = $1 AND worker_id IS NOT NULL)
            + (SELECT count(*)::int FROM sluice.results WHERE workflow_id = $1 AND worker_id IS NOT NULL) AS n`,
      [id],
    );
    expect(left[0]?.n).toBe(0);
  });

  it('deleting a workflow takes its results with it', async () => {
    const { id, worker } = await started(3);
    const claimed = await claimAll(t.handle, worker);
    await jobsComplete(
      t.handle.db,
      worker,
      claimed.map((j) => done(j.id, j.attempt)),
    );
    await workflowsDelete(t.handle.db, id);
    const left = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.results WHERE workflow_id = $1', [
      id,
    ]);
    expect(left[0]?.n).toBe(0);
  });
});
