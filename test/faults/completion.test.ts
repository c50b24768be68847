import { jobsComplete } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { claimAll, registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized } from './support/fault-fixtures.js';
import { expectInvariants } from './support/invariants.js';

// Finding 6a: jobs_complete inserts a result and a job_finished event on every call, so a worker
// that retries a completion whose reply it lost (the commit went through) records the attempt
// twice. A completion must be idempotent per (job, attempt).

const t = useTestDatabase('faults_completion');

describe('completion is idempotent per attempt', () => {
  it('jobs_complete twice for the same (job, attempt) gives one result row and one job_finished event', async () => {
    const id = await createInitialized(t, buildWorkflow({ a: {}, b: { deps: ['a'] } }));
    const w = await registerTestWorker(t.handle, id);
    const [job] = await claimAll(t.handle, w);
    if (!job) throw new Error('nothing claimed');
    const done = {
      jobId: job.id,
      attempt: job.attempt,
      status: 'completed' as const,
      returnCode: 0,
      startedAt: new Date(),
      completedAt: new Date(),
      message: null,
      stdoutPath: null,
      stderrPath: null,
    };
    await jobsComplete(t.handle.db, w, [done]);
    // The retry of a write whose reply was lost.
    await jobsComplete(t.handle.db, w, [done]);
    const results = await t.query('SELECT id FROM sluice.results WHERE job_id = $1 AND attempt = $2', [
      job.id,
      job.attempt,
    ]);
    const events = await t.query(
      "SELECT id FROM sluice.events WHERE workflow_id = $1 AND kind = 'job_finished' AND job_id = $2",
      [id, job.id],
    );
    expect({ results: results.length, job_finished_events: events.length }).toEqual({
      results: 1,
      job_finished_events: 1,
    });
    await expectInvariants(t.query, id);
  });
});
