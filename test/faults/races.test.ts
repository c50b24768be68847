import { describe, expect, it } from 'vitest';
import { registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized, jobByName } from './support/fault-fixtures.js';
import { expectInvariants } from './support/invariants.js';
import { holdLocks, openTransaction, runAlone, waitBlockedOrDone } from './support/lock-holder.js';

// Findings 3, 4c and 6b: transactions interleaved by hand on separate connections, as two
// workers (or a worker and an admin) would under READ COMMITTED.

const t = useTestDatabase('faults_races');
const CLAIM = 'SELECT id FROM sluice.jobs_claim($1, 100, false, 0, 0, 0, 0, NULL)';
const COMPLETE = `SELECT x AS id FROM sluice.jobs_complete($1, ARRAY[$2]::bigint[], ARRAY[$3]::int[],
  ARRAY['completed']::sluice.job_status[], ARRAY[0]::int[], ARRAY[now()]::timestamptz[], ARRAY[now()]::timestamptz[],
  ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[]) AS x`;

type Outcome = { ok: true; rows: unknown[] } | { ok: false; error: { message: string; hint?: string } };

function settle(p: Promise<unknown[]>): Promise<Outcome> {
  return p.then(
    (rows) => ({ ok: true as const, rows }),
    (e) => ({ ok: false as const, error: { message: String(e?.message), hint: e?.hint, code: e?.code } }),
  );
}

async function overdue(workerId: number): Promise<void> {
  await t.query("UPDATE sluice.workers SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [workerId]);
}

describe('races between lifecycle functions', () => {
  it('reset-status that waited on an uncommitted claim refuses once the claim commits (finding 3)', async () => {
    const id = await createInitialized(t, buildWorkflow({ a: {} }));
    const w = await registerTestWorker(t.handle, id);
    const tx1 = await openTransaction(t.url);
    expect(await tx1.query(CLAIM, [w])).toHaveLength(1);
    const reset = await runAlone(t.url, 'SELECT sluice.workflows_reset_status($1, false) AS n', [id]);
    await waitBlockedOrDone(t.url, reset.pid, reset.result);
    await tx1.commit();
    const outcome = await settle(reset.result);
    const job = await jobByName(t, id, 'a');
    expect(
      outcome.ok ? `reset went through (${JSON.stringify(outcome.rows)})` : outcome.error.hint,
      `the reset must refuse a job claimed meanwhile; the job is now ${job.status} on worker ${job.worker_id}`,
    ).toBe('WORKFLOW_STATE');
    expect({ status: job.status, worker_id: job.worker_id }).toEqual({ status: 'running', worker_id: w });
    await expectInvariants(t.query, id);
  });

  it('a claim racing a reap of its (overdue) worker leaves no job on a worker that is not running (finding 4c)', async () => {
    const id = await createInitialized(t, buildWorkflow({ a: {}, b: {} }));
    const w = await registerTestWorker(t.handle, id);
    await overdue(w);
    const tx1 = await openTransaction(t.url);
    const claimed = await tx1.query(CLAIM, [w]);
    const reap = await runAlone(t.url, 'SELECT sluice.workers_reap($1) AS n', [id]);
    await waitBlockedOrDone(t.url, reap.pid, reap.result);
    await tx1.commit();
    const outcome = await settle(reap.result);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    const workers = await t.query<{ status: string }>('SELECT status::text FROM sluice.workers WHERE id = $1', [w]);
    await expectInvariants(t.query, id, `claimed ${claimed.length} job(s) in tx1; worker is now ${workers[0]?.status}`);
  });

  async function claimedAndStarted(names: string[]) {
    const id = await createInitialized(t, buildWorkflow(Object.fromEntries(names.map((n) => [n, {}]))));
    const w = await registerTestWorker(t.handle, id);
    // A claim starts the jobs it takes.
    await t.query<{ id: number }>(CLAIM, [w]);
    const job = await jobByName(t, id, names[0] as string);
    return { id, w, job };
  }

  it('a completion racing a reap (the reap first) records exactly one outcome for the attempt (finding 6b)', async () => {
    const { id, w, job } = await claimedAndStarted(['a']);
    await overdue(w);
    // Both wait on the workflow row: the reap queues first, then the completion.
    const holder = await holdLocks(t.url, 'SELECT 1 FROM sluice.workflows WHERE id = $1 FOR NO KEY UPDATE', [id]);
    const reap = await runAlone(t.url, 'SELECT sluice.workers_reap($1) AS n', [id]);
    expect(await waitBlockedOrDone(t.url, reap.pid, reap.result)).toBe('blocked');
    const complete = await runAlone(t.url, COMPLETE, [w, job.id, job.attempt]);
    await waitBlockedOrDone(t.url, complete.pid, complete.result);
    await holder.rollback();
    const outcomes = { reap: await settle(reap.result), complete: await settle(complete.result) };
    expect(outcomes.reap.ok && outcomes.complete.ok, JSON.stringify(outcomes)).toBe(true);
    const results = await t.query<{ status: string }>(
      'SELECT status::text FROM sluice.results WHERE job_id = $1 AND attempt = $2 ORDER BY id',
      [job.id, job.attempt],
    );
    expect(
      results.map((r) => r.status),
      'result rows of the one attempt',
    ).toHaveLength(1);
    const final = await jobByName(t, id, 'a');
    expect(final.status).toBe(results[0]?.status);
    await expectInvariants(t.query, id);
  });

  it('a completion racing a reap (the completion first) records exactly one outcome for the attempt', async () => {
    const { id, w, job } = await claimedAndStarted(['a']);
    await overdue(w);
    const holder = await holdLocks(t.url, 'SELECT 1 FROM sluice.workflows WHERE id = $1 FOR NO KEY UPDATE', [id]);
    const complete = await runAlone(t.url, COMPLETE, [w, job.id, job.attempt]);
    expect(await waitBlockedOrDone(t.url, complete.pid, complete.result)).toBe('blocked');
    const reap = await runAlone(t.url, 'SELECT sluice.workers_reap($1) AS n', [id]);
    await waitBlockedOrDone(t.url, reap.pid, reap.result);
    await holder.rollback();
    const outcomes = { complete: await settle(complete.result), reap: await settle(reap.result) };
    expect(outcomes.reap.ok && outcomes.complete.ok, JSON.stringify(outcomes)).toBe(true);
    const results = await t.query<{ status: string }>(
      'SELECT status::text FROM sluice.results WHERE job_id = $1 AND attempt = $2 ORDER BY id',
      [job.id, job.attempt],
    );
    expect(
      results.map((r) => r.status),
      'result rows of the one attempt',
    ).toHaveLength(1);
    expect((await jobByName(t, id, 'a')).status).toBe(results[0]?.status);
    await expectInvariants(t.query, id);
  });
});
