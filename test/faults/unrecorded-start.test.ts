import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized, eventually, jobByName, tmpDir, within } from './support/fault-fixtures.js';
import { FaultProxy } from './support/fault-proxy.js';
import { JobLedger } from './support/job-ledger.js';
import { alive, killAllWorkers, startWorker } from './support/worker-process.js';

// Finding 3 (second half): the worker spawns a job, then records its start; jobs_start records
// nothing for a job that stopped being this worker's pending job meanwhile (canceled, reset,
// reaped), and the worker ignores that: the job runs to its end unowned. The worker must kill
// every job whose start was not recorded.

const t = useTestDatabase('faults_unrecorded_start');
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await killAllWorkers();
});

describe('a job whose start was not recorded', () => {
  it('is killed by its worker, not run to completion', async () => {
    const dir = tmpDir();
    const ledger = new JobLedger();
    cleanup.push(() => ledger.killAll());
    const marker = path.join(dir, 'ran-to-the-end');
    const id = await createInitialized(t, buildWorkflow({ a: { command: ledger.job(`sleep 20; touch '${marker}'`) } }));
    const job = await jobByName(t, id, 'a');
    const proxy = await FaultProxy.start(t.url);
    cleanup.push(() => proxy.close());
    // The worker's jobs_start waits in the proxy while an admin cancels the claimed job.
    const start = proxy.holdNext((b) => b.includes('sluice.jobs_start('));
    const worker = startWorker(id, {
      url: proxy.url(t.url),
      cwd: dir,
      args: ['--heartbeat-interval', '1', '--poll-interval', '1'],
    });
    const held = await within(start.held, 60_000, 'timeout');
    expect(held, 'the worker never sent jobs_start').not.toBe('timeout');
    expect((await jobByName(t, id, 'a')).status).toBe('pending');
    await t.query("UPDATE sluice.jobs SET status = 'canceled' WHERE id = $1", [job.id]);
    start.release();

    const [run] = await waitFor('the job process to start', async () => ledger.starts().length > 0 && ledger.starts());
    const started = await t.query(
      "SELECT id FROM sluice.events WHERE workflow_id = $1 AND kind = 'job_started' AND job_id = $2",
      [id, job.id],
    );
    expect(started, 'jobs_start recorded nothing for the canceled job').toEqual([]);
    await eventually(() => !alive(run?.pid as number), 30_000);
    expect(existsSync(marker), 'the job ran to completion although its start was never recorded').toBe(false);
    expect(alive(run?.pid as number), `the job (pid ${run?.pid}) still runs`).toBe(false);
    const exit = await within(worker.exited, 60_000, null);
    expect(exit?.code, exit?.stderr).toBe(0);
  });
});
