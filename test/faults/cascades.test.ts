import { jobsComplete, type ResolvedWorkflow } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { claimAll, registerTestWorker } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch } from '../support/workflow-builder.js';
import { createInitialized } from './support/fault-fixtures.js';
import { expectInvariants, statusCounts } from './support/invariants.js';

// Finding 7 (correctness only; bench/ measures the speed): a failing root cancels every
// transitive dependent in one cascade, for a wide fan-out and for a long chain alike.

const t = useTestDatabase('faults_cascades');
const N = 10_000;

async function failRoot(wf: ResolvedWorkflow): Promise<number> {
  const id = await createInitialized(t, wf);
  const w = await registerTestWorker(t.handle, id);
  const claimed = await claimAll(t.handle, w);
  expect(claimed.map((j) => j.name)).toEqual(['root']);
  const root = claimed[0];
  if (!root) throw new Error('root not claimed');
  const now = new Date();
  await jobsComplete(t.handle.db, w, [
    {
      jobId: root.id,
      attempt: root.attempt,
      status: 'failed',
      returnCode: 1,
      startedAt: now,
      completedAt: now,
      message: null,
      stdoutPath: null,
      stderrPath: null,
    },
  ]);
  return id;
}

describe('cascades of a failing root', { timeout: 600_000 }, () => {
  it(`cancels all ${N} dependents of a fan-out`, async () => {
    const jobs: Record<string, JobSketch> = { root: {} };
    for (let i = 0; i < N; i++) jobs[`leaf${i}`] = { deps: ['root'] };
    const id = await failRoot(buildWorkflow(jobs));
    expect(await statusCounts(t.query, id)).toEqual({ failed: 1, canceled: N });
    await expectInvariants(t.query, id);
    const [wf] = await t.query<{ unfinished_jobs: number }>(
      'SELECT unfinished_jobs FROM sluice.workflows WHERE id = $1',
      [id],
    );
    expect(wf?.unfinished_jobs).toBe(0);
  });

  it(`cancels all ${N} jobs of a chain`, async () => {
    const jobs: Record<string, JobSketch> = { root: {} };
    let prev = 'root';
    for (let i = 0; i < N; i++) {
      jobs[`c${i}`] = { deps: [prev] };
      prev = `c${i}`;
    }
    const id = await failRoot(buildWorkflow(jobs));
    expect(await statusCounts(t.query, id)).toEqual({ failed: 1, canceled: N });
    await expectInvariants(t.query, id);
  });
});
