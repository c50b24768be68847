import {
  jobsClaimReady,
  jobsComplete,
  openPool,
  workersRegister,
  workflowsCreate,
  workflowsGet,
  workflowsInitialize,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('concurrency');

/**
 * In-process workers on connections of their own, claiming and completing in small batches as
 * fast as they can: many concurrent completions on shared dependents and on the workflow row.
 */
async function drain(workflowId: number, workers: number, batch: number): Promise<void> {
  const pools = Array.from({ length: workers }, () => openPool(t.url, { max: 1 }));
  try {
    await Promise.all(
      pools.map(async (p, n) => {
        const w = await workersRegister(p.db, {
          workflowId,
          hostname: `w${n}`,
          pid: n,
          osUser: null,
          numCpus: 1,
          memoryBytes: 1,
          numGpus: 0,
          numNodes: 1,
          maxParallelJobs: batch,
          endsAt: null,
          heartbeatTimeoutSeconds: 600,
        });
        for (let idle = 0; idle < 200; ) {
          const claimed = await jobsClaimReady(p.db, {
            workerId: w.id,
            limit: batch,
            useResources: false,
            freeCpus: 0,
            freeMemoryBytes: 0,
            freeGpus: 0,
            freeNodes: 0,
            maxRuntimeSeconds: null,
          });
          if (claimed.length === 0) {
            const wf = await workflowsGet(p.db, workflowId);
            if (wf.unfinished_jobs === 0) return;
            idle++;
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const now = new Date();
          await jobsComplete(
            p.db,
            w.id,
            claimed.map((j) => ({
              jobId: j.id,
              attempt: j.attempt,
              status: 'completed' as const,
              returnCode: 0,
              startedAt: now,
              completedAt: now,
              message: null,
              stdoutPath: null,
              stderrPath: null,
            })),
          );
        }
        throw new Error(`worker ${n} gave up waiting`);
      }),
    );
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

async function expectConsistent(workflowId: number): Promise<void> {
  const wrong = await t.query(
    `SELECT j.name FROM sluice.jobs j
      WHERE j.workflow_id = $1 AND j.status IN ('blocked', 'ready') AND j.unfinished_deps <>
            (SELECT count(*) FROM sluice.job_dependencies d JOIN sluice.jobs p ON p.id = d.depends_on_job_id
              WHERE d.job_id = j.id AND NOT sluice.job_status_is_done(p.status))`,
    [workflowId],
  );
  expect(wrong).toEqual([]);
  const completions = await t.query('SELECT id FROM sluice.events WHERE workflow_id = $1 AND kind = $2', [
    workflowId,
    'workflow_completed',
  ]);
  expect(completions).toHaveLength(1);
  const w = await workflowsGet(t.handle.db, workflowId);
  expect(w.completed).toBe(w.num_jobs);
  expect(w.is_complete).toBe(true);
  const results = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.results WHERE workflow_id = $1', [
    workflowId,
  ]);
  expect(results[0]?.n).toBe(w.num_jobs);
}

describe('concurrent completions', () => {
  it('a wide fan-in finishes exactly once, with 8 workers completing the last jobs concurrently', async () => {
    const jobs: Record<string, JobSketch> = {};
    for (let i = 0; i < 400; i++) jobs[`leaf${i}`] = {};
    jobs.gather = { deps: Object.keys(jobs) };
    const id = await workflowsCreate(t.handle.db, buildWorkflow(jobs));
    await workflowsInitialize(t.handle.db, id);
    await drain(id, 8, 3);
    await expectConsistent(id);
  });

  it('shared dependents across layers do not deadlock and keep exact counts', async () => {
    const jobs: Record<string, JobSketch> = {};
    const width = 60;
    for (let layer = 0; layer < 4; layer++) {
      for (let i = 0; i < width; i++) {
        const deps =
          layer === 0
            ? []
            : [...new Set([0, 7, 13, 29, 41].map((k) => `l${layer - 1}_${(i + k * (layer + 1)) % width}`))];
        jobs[`l${layer}_${i}`] = { deps };
      }
    }
    const id = await workflowsCreate(t.handle.db, buildWorkflow(jobs));
    await workflowsInitialize(t.handle.db, id);
    await drain(id, 8, 4);
    await expectConsistent(id);
  });
});
