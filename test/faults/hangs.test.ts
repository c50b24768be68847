import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, buildWorkflowWithActions } from '../support/workflow-builder.js';
import { createInitialized, describeWorkflow, eventually, tmpDir, within } from './support/fault-fixtures.js';
import { FaultProxy } from './support/fault-proxy.js';
import { expectInvariants, isComplete } from './support/invariants.js';
import { JobLedger } from './support/job-ledger.js';
import { killAllWorkers, sluice, startWorker } from './support/worker-process.js';

// Finding 4 (a, b): a claim that commits but whose reply is lost (a connection reset at the
// wrong moment) leaves the jobs pending on a worker that does not know it has them, or the
// on_workflow_start action running on it, forever: the workflow never completes. The worker
// must reconcile after a database error: what the database says it owns against what it runs.

const t = useTestDatabase('faults_hangs');
const cleanup: (() => Promise<void> | void)[] = [];
const ARGS = ['--heartbeat-interval', '1', '--poll-interval', '1', '--max-parallel-jobs', '4'];

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await killAllWorkers();
});

async function proxied() {
  const proxy = await FaultProxy.start(t.url);
  cleanup.push(() => proxy.close());
  return proxy;
}

async function expectCompletes(id: number, what: string, timeoutMs = 60_000): Promise<void> {
  const done = await eventually(() => isComplete(t.query, id), timeoutMs);
  expect(done, `${what}: not complete after ${timeoutMs / 1000} s; ${await describeWorkflow(t, id)}`).toBe(true);
}

describe('no permanent hang after a lost reply', () => {
  it('a lost jobs_claim reply: the worker still completes the workflow', async () => {
    const id = await createInitialized(t, buildWorkflow({ a: {}, b: {}, c: { deps: ['a'] } }));
    const proxy = await proxied();
    const dropped = proxy.dropNextReply((b) => b.includes('sluice.jobs_claim('));
    const worker = startWorker(id, { url: proxy.url(t.url), cwd: tmpDir(), args: ARGS });
    expect(await within(dropped, 60_000, 'timeout'), 'the claim reply was never dropped').not.toBe('timeout');
    await expectCompletes(id, 'after a lost claim reply');
    const exit = await within(worker.exited, 60_000, null);
    expect(exit?.code, exit?.stderr).toBe(0);
    await expectInvariants(t.query, id);
  });

  // Found by terminate-backends.test.ts: a connection lost while the worker was starting (its
  // registration, its schema check) ended it with "internal error" instead of a retry.
  for (const [what, sqlText] of [
    ['workers_register', 'sluice.workers_register('],
    ['schema check', "to_regclass('sluice.migrations')"],
  ] as const) {
    it(`a lost ${what} reply while starting: the worker retries and completes the workflow`, async () => {
      const id = await createInitialized(t, buildWorkflow({ a: {}, b: { deps: ['a'] } }));
      const proxy = await proxied();
      const dropped = proxy.dropNextReply((b) => b.includes(sqlText));
      const worker = startWorker(id, { url: proxy.url(t.url), cwd: tmpDir(), args: ARGS });
      expect(await within(dropped, 60_000, 'timeout'), `the ${what} reply was never dropped`).not.toBe('timeout');
      await expectCompletes(id, `after a lost ${what} reply`);
      const exit = await within(worker.exited, 60_000, null);
      expect(exit?.code, exit?.stderr).toBe(0);
      expect(exit?.stderr).toMatch(/database error, retrying in \d+ ms/);
      await expectInvariants(t.query, id);
    });
  }

  it('a lost jobs_claim reply: once the worker stops, reset-status works', async () => {
    const id = await createInitialized(t, buildWorkflow({ a: {}, b: {} }));
    const proxy = await proxied();
    const dropped = proxy.dropNextReply((b) => b.includes('sluice.jobs_claim('));
    const worker = startWorker(id, { url: proxy.url(t.url), cwd: tmpDir(), args: ARGS });
    expect(await within(dropped, 60_000, 'timeout'), 'the claim reply was never dropped').not.toBe('timeout');
    worker.kill('SIGTERM');
    const exit = await within(worker.exited, 60_000, null);
    expect(exit, 'the worker did not exit within 60 s of SIGTERM').not.toBeNull();
    const reset = await sluice(t.url, ['workflows', 'reset-status', String(id)]);
    expect(reset.code, `${reset.stderr.trim()}; ${await describeWorkflow(t, id)}`).toBe(0);
    await expectInvariants(t.query, id);
  });

  it('a lost actions_claim reply for on_workflow_start: the workflow still completes, the action ran at most once', async () => {
    const ledger = new JobLedger();
    cleanup.push(() => ledger.killAll());
    const wf = buildWorkflowWithActions({ a: {}, b: { deps: ['a'] } }, [
      { trigger: 'on_workflow_start', commands: [ledger.action('start')] },
    ]);
    const id = await createInitialized(t, wf);
    const proxy = await proxied();
    const dropped = proxy.dropNextReply((b) => b.includes('sluice.actions_claim('));
    const worker = startWorker(id, { url: proxy.url(t.url), cwd: tmpDir(), args: ARGS });
    expect(await within(dropped, 60_000, 'timeout'), 'the action claim reply was never dropped').not.toBe('timeout');
    await expectCompletes(id, 'after a lost action claim reply');
    const [action] = await t.query<{ status: string }>(
      'SELECT status::text FROM sluice.workflow_actions WHERE workflow_id = $1',
      [id],
    );
    expect(action?.status).not.toBe('running');
    expect(ledger.actions('start').length, 'executions of the action command').toBeLessThanOrEqual(1);
    const exit = await within(worker.exited, 60_000, null);
    expect(exit?.code, exit?.stderr).toBe(0);
    await expectInvariants(t.query, id);
  });
});
