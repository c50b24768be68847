import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized, eventually, jobByName, tmpDir, within } from './support/fault-fixtures.js';
import { JobLedger } from './support/job-ledger.js';
import { alive, killAllWorkers, startWorker } from './support/worker-process.js';

// Finding 3 (second half): a worker ran jobs the database no longer counted as its own (its
// start recorded nothing: canceled, reset or reaped meanwhile) to their end. Claims now record
// the start themselves; what remains is that a job taken away from its worker while it runs
// (canceled by an admin, reaped) must be killed by that worker, not run to completion.

const t = useTestDatabase('faults_unrecorded_start');
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await killAllWorkers();
});

describe("a job that is no longer its worker's", () => {
  it('is killed by its worker, not run to completion', async () => {
    const dir = tmpDir();
    const ledger = new JobLedger();
    cleanup.push(() => ledger.killAll());
    const marker = path.join(dir, 'ran-to-the-end');
    const id = await createInitialized(t, buildWorkflow({ a: { command: ledger.job(`sleep 20; touch '${marker}'`) } }));
    const job = await jobByName(t, id, 'a');
    const worker = startWorker(id, {
      url: t.url,
      cwd: dir,
      args: ['--heartbeat-interval', '1', '--poll-interval', '60'],
    });
    const [run] = await waitFor('the job process to start', async () => ledger.starts().length > 0 && ledger.starts());
    const started = await t.query(
      "SELECT id FROM sluice.events WHERE workflow_id = $1 AND kind = 'job_started' AND job_id = $2",
      [id, job.id],
    );
    expect(started, 'the claim records the start').toHaveLength(1);
    // An admin takes the job away while it runs; no NOTIFY tells the worker.
    await t.query("SELECT sluice.jobs_set_status(ARRAY[$1]::bigint[], 'canceled')", [job.id]);
    await eventually(() => !alive(run?.pid as number), 30_000);
    expect(existsSync(marker), "the job ran to completion although it was no longer its worker's").toBe(false);
    expect(alive(run?.pid as number), `the job (pid ${run?.pid}) still runs`).toBe(false);
    const exit = await within(worker.exited, 60_000, null);
    expect(exit?.code, exit?.stderr).toBe(0);
  });
});
