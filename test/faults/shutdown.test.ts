import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, buildWorkflowWithActions } from '../support/workflow-builder.js';
import { createInitialized, describeWorkflow, jobByName, tmpDir, within } from './support/fault-fixtures.js';
import { FaultProxy } from './support/fault-proxy.js';
import { JobLedger } from './support/job-ledger.js';
import { killAllWorkers, startWorker, type WorkerProcess } from './support/worker-process.js';

// Finding 8: on SIGTERM the worker waits for its running actions however long they take, and
// with the database unreachable it retries forever: it never exits. It must stop its actions
// like its jobs (within --termination-grace), record them, and give up on an unreachable
// database within a bounded time once asked to stop.

const t = useTestDatabase('faults_shutdown');
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await killAllWorkers();
});

function ledgerFor(): JobLedger {
  const ledger = new JobLedger();
  cleanup.push(() => ledger.killAll(['pids']));
  return ledger;
}

/** An action command that sleeps 300 s in a child whose pid it records (for cleanup). */
function sleepyAction(ledger: JobLedger, tag: string): string {
  return ledger.action(tag, `sleep 300 & echo $! >> '${path.join(ledger.dir, 'pids')}'; wait`);
}

async function expectExitWithin(w: WorkerProcess, ms: number, what: string, id: number) {
  const exit = await within(w.exited, ms, null);
  expect(
    exit,
    `${what}: the worker did not exit within ${ms / 1000} s; ${await describeWorkflow(t, id)}`,
  ).not.toBeNull();
  return exit;
}

async function expectActionRunRecorded(id: number): Promise<void> {
  const runs = await t.query<{ status: string }>('SELECT status::text FROM sluice.action_runs WHERE workflow_id = $1', [
    id,
  ]);
  expect(
    runs.map((r) => r.status),
    'the action run of the stopped action',
  ).toEqual([expect.stringMatching(/^(failed|abandoned)$/)]);
}

describe('shutdown', () => {
  for (const trigger of ['on_workflow_start', 'on_jobs_complete'] as const) {
    it(`SIGTERM while an ${trigger} action runs sleep 300: exits within the grace plus a bounded wait`, async () => {
      const ledger = ledgerFor();
      const wf = buildWorkflowWithActions({ a: {}, b: { deps: ['a'], command: 'sleep 1' } }, [
        { trigger, jobs: trigger === 'on_jobs_complete' ? ['a'] : [], commands: [sleepyAction(ledger, trigger)] },
      ]);
      const id = await createInitialized(t, wf);
      const w = startWorker(id, {
        url: t.url,
        cwd: tmpDir(),
        args: ['--poll-interval', '1', '--termination-grace', '2'],
      });
      await waitFor('the action to run', async () => ledger.actions(trigger).length > 0, 60_000);
      w.kill('SIGTERM');
      await expectExitWithin(w, 30_000, 'SIGTERM with an action running (grace 2 s)', id);
      await expectActionRunRecorded(id);
    });
  }

  it('SIGTERM while the database is unreachable: the worker exits within a bounded time', async () => {
    const ledger = ledgerFor();
    const id = await createInitialized(t, buildWorkflow({ a: { command: ledger.job('sleep 300') } }));
    const proxy = await FaultProxy.start(t.url);
    cleanup.push(() => proxy.close());
    cleanup.push(() => proxy.restore());
    const w = startWorker(id, {
      url: proxy.url(t.url),
      cwd: tmpDir(),
      args: ['--poll-interval', '1', '--termination-grace', '2', '--heartbeat-interval', '1'],
    });
    await waitFor('the job to run', async () => (await jobByName(t, id, 'a')).status === 'running', 60_000);
    proxy.cut();
    w.kill('SIGTERM');
    await expectExitWithin(w, 60_000, 'SIGTERM with the database cut off', id);
  });
});
