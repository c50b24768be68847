import { describe, expect, it } from 'vitest';
import { claimAll, registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, buildWorkflowWithActions, type JobSketch } from '../support/workflow-builder.js';
import { createInitialized, describeWorkflow, jobByName, jobsOf, tmpDir, within } from './support/fault-fixtures.js';
import { expectInvariants, isComplete } from './support/invariants.js';
import { holdLocks, openTransaction, waitBlockedOrDone } from './support/lock-holder.js';
import { startWorker } from './support/worker-process.js';

// Finding 10: admins change the tables in psql. Deleting a job row leaves what counted it
// (dependents' unfinished_deps, actions' required triggers) waiting forever; the admin function
// for status changes must not deadlock against workers; a direct UPDATE must keep the counters.

const t = useTestDatabase('faults_admin');

type Outcome = { ok: true } | { ok: false; message: string };
const settle = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    () => ({ ok: true as const }),
    (e) => ({ ok: false as const, message: String(e?.message) }),
  );

async function completeJobs(workerId: number, jobs: { id: number; attempt: number }[]): Promise<void> {
  await t.query(
    `SELECT sluice.jobs_complete($1, $2::bigint[], $3::int[], array_fill('completed'::sluice.job_status, ARRAY[$4::int]),
       array_fill(0, ARRAY[$4::int]), array_fill(now(), ARRAY[$4::int]), array_fill(now(), ARRAY[$4::int]),
       array_fill(NULL::text, ARRAY[$4::int]), array_fill(NULL::text, ARRAY[$4::int]), array_fill(NULL::text, ARRAY[$4::int]))`,
    [workerId, jobs.map((j) => j.id), jobs.map((j) => j.attempt), jobs.length],
  );
}

describe('deleting a job row of an initialized workflow', () => {
  it('its dependents are not blocked forever (or the delete is refused with a clear message)', async () => {
    const id = await createInitialized(t, buildWorkflow({ a: {}, b: { deps: ['a'] }, c: { deps: ['a'] } }));
    const a = await jobByName(t, id, 'a');
    const outcome = await settle(t.query('DELETE FROM sluice.jobs WHERE id = $1', [a.id]));
    if (!outcome.ok) {
      expect(outcome.message).toMatch(/job/i);
      expect((await jobsOf(t, id)).map((j) => j.name)).toEqual(['a', 'b', 'c']);
    } else {
      const w = await registerTestWorker(t.handle, id);
      expect(
        (await claimAll(t.handle, w)).map((j) => j.name).sort(),
        `after deleting a: ${await describeWorkflow(t, id)}`,
      ).toEqual(['b', 'c']);
    }
    await expectInvariants(t.query, id);
  });

  it('an on_jobs_complete action at 1/2 whose other job is deleted still fires (or the delete is refused)', async () => {
    const wf = buildWorkflowWithActions({ x: {}, z: {}, y: { deps: ['z'] } }, [
      { trigger: 'on_jobs_complete', jobs: ['x', 'y'], commands: ['true'] },
    ]);
    const id = await createInitialized(t, wf);
    const w = await registerTestWorker(t.handle, id);
    const claimed = await claimAll(t.handle, w);
    await completeJobs(
      w,
      claimed.filter((j) => j.name === 'x'),
    );
    const [before] = await t.query<{ trigger_count: number; required_triggers: number }>(
      'SELECT trigger_count, required_triggers FROM sluice.workflow_actions WHERE workflow_id = $1',
      [id],
    );
    expect(before).toEqual({ trigger_count: 1, required_triggers: 2 });
    const y = await jobByName(t, id, 'y');
    const outcome = await settle(t.query('DELETE FROM sluice.jobs WHERE id = $1', [y.id]));
    const [after] = await t.query<{ status: string; trigger_count: number; required_triggers: number }>(
      'SELECT status::text, trigger_count, required_triggers FROM sluice.workflow_actions WHERE workflow_id = $1',
      [id],
    );
    if (!outcome.ok) {
      expect(outcome.message).toMatch(/job/i);
      expect(after).toMatchObject({ trigger_count: 1, required_triggers: 2 });
    } else {
      expect(after, 'the action waits for a job that no longer exists').toMatchObject({
        status: 'pending',
        trigger_count: 1,
        required_triggers: 1,
      });
    }
    await expectInvariants(t.query, id);
  });
});

describe('status changes by an admin', () => {
  it('jobs_set_status(ids, completed) in a loop beside a worker never deadlocks', async () => {
    const jobs: Record<string, JobSketch> = {};
    for (let i = 0; i < 30; i++) jobs[`r${i}`] = { command: 'sleep 0.05' };
    for (let i = 0; i < 90; i++) {
      jobs[`d${i}`] = {
        deps: [`r${i % 30}`, `r${(i * 7 + 3) % 30}`, ...(i >= 30 ? [`d${i - 30}`] : [])],
        command: 'sleep 0.05',
      };
    }
    const id = await createInitialized(t, buildWorkflow(jobs));
    const worker = startWorker(id, {
      url: t.url,
      cwd: tmpDir(),
      args: ['--max-parallel-jobs', '6', '--poll-interval', '1'],
    });
    const errors: { code?: string; message: string }[] = [];
    let calls = 0;
    let ok = 0;
    const deadline = Date.now() + 90_000;
    while (!(await isComplete(t.query, id)) && Date.now() < deadline) {
      const pick = await t.query<{ id: number }>(
        `SELECT id FROM sluice.jobs WHERE workflow_id = $1 AND status IN ('ready', 'blocked')
          ORDER BY random() LIMIT 4`,
        [id],
      );
      if (pick.length === 0) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      calls++;
      try {
        await t.query("SELECT sluice.jobs_set_status($1::bigint[], 'completed')", [pick.map((p) => p.id)]);
        ok++;
      } catch (e) {
        const err = e as { code?: string; message: string };
        errors.push({ code: err.code, message: err.message });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const deadlocks = errors.filter((e) => e.code === '40P01');
    expect(deadlocks, 'deadlocks between jobs_set_status and the worker').toEqual([]);
    expect(ok, `no jobs_set_status call succeeded of ${calls}; first error: ${errors[0]?.message}`).toBeGreaterThan(0);
    const exit = await within(worker.exited, 120_000, null);
    expect(exit?.code, exit?.stderr).toBe(0);
    await expectInvariants(t.query, id);
  });

  it('jobs_set_status waits for a completion in flight instead of deadlocking with it', async () => {
    // Found by the loop above, once in a few runs. A completion holds the workflow's lock shared,
    // locks the dependents of its jobs, and updates the workflow's counter last. jobs_set_status
    // took the workflow's row first, then the dependents: each waited for the other.
    const id = await createInitialized(t, buildWorkflow({ r: {}, x: {}, d: { deps: ['r', 'x'] } }));
    const w = await registerTestWorker(t.handle, id);
    const [r] = await claimAll(t.handle, w, 1);
    expect(r?.name).toBe('r');
    const [x, d] = [await jobByName(t, id, 'x'), await jobByName(t, id, 'd')];
    // d stays locked until both the completion and the status change wait for it.
    const holder = await holdLocks(t.url, 'SELECT 1 FROM sluice.jobs WHERE id = $1 FOR NO KEY UPDATE', [d.id]);
    const completion = await openTransaction(t.url);
    const completing = settle(
      completion.query(
        `SELECT sluice.jobs_complete($1, ARRAY[$2::bigint], ARRAY[$3::int], ARRAY['completed'::sluice.job_status],
           ARRAY[0], ARRAY[now()], ARRAY[now()], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text])`,
        [w, r?.id, r?.attempt],
      ),
    );
    expect(await waitBlockedOrDone(t.url, completion.pid, completing)).toBe('blocked');
    const admin = await openTransaction(t.url);
    const setting = settle(admin.query("SELECT sluice.jobs_set_status($1::bigint[], 'completed')", [[x.id]]));
    expect(await waitBlockedOrDone(t.url, admin.pid, setting)).toBe('blocked');
    await holder.commit();
    expect(await completing).toEqual({ ok: true });
    await completion.commit();
    expect(await setting).toEqual({ ok: true });
    await admin.commit();
    expect((await jobByName(t, id, 'd')).status).toBe('ready');
    await expectInvariants(t.query, id);
  });

  it('after direct UPDATEs of sluice.jobs.status the counters still recompute equal', async () => {
    const wf = buildWorkflowWithActions(
      { a: {}, b: { deps: ['a'] }, c: { deps: ['a', 'b'] }, d: { deps: ['c'], cob: false }, e: {} },
      [
        { trigger: 'on_jobs_complete', jobs: ['a', 'b', 'c'], commands: ['true'] },
        { trigger: 'on_jobs_ready', jobs: ['b', 'd'], commands: ['true'] },
      ],
    );
    const id = await createInitialized(t, wf);
    const steps: [string, string[]][] = [
      ['completed', ['a']],
      ['failed', ['b']],
      ['ready', ['c']],
      ['disabled', ['e']],
      ['uninitialized', ['a', 'b']],
      ['completed', ['a', 'b', 'c', 'd', 'e']],
    ];
    for (const [status, names] of steps) {
      await t.query('UPDATE sluice.jobs SET status = $1 WHERE workflow_id = $2 AND name = ANY ($3)', [
        status,
        id,
        names,
      ]);
      await expectInvariants(t.query, id, `after UPDATE ... SET status = '${status}' of ${names.join(', ')}`);
    }
  });
});
