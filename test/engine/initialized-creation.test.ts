import { workflowsCreate, workflowsInitialize, workflowsReinitialize, workflowsResetStatus } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { finishJobs } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { type ActionSketch, buildWorkflowWithActions, type JobSketch } from '../support/workflow-builder.js';

// Creating with `initialize` (run, submit, `workflows create --initialize`) inserts the jobs
// waiting instead of moving them out of uninitialized afterwards (migration 0015). Whatever the
// path, the workflow must be the same: jobs, counters, actions and events.
const t = useTestDatabase('initialized_creation');

const JOBS: Record<string, JobSketch> = {
  prep: {},
  lone: {},
  left: { deps: ['prep'] },
  right: { deps: ['prep'], cob: false },
  join: { deps: ['left', 'right'] },
};
const ACTIONS: ActionSketch[] = [
  { trigger: 'on_workflow_start' },
  { trigger: 'on_worker_start' },
  // Its jobs are ready at once: pending from the run's start.
  { trigger: 'on_jobs_ready', jobs: ['prep', 'lone'] },
  { trigger: 'on_jobs_ready', jobs: ['join'] },
  { trigger: 'on_jobs_complete', jobs: ['left', 'right'] },
  { trigger: 'on_workflow_complete' },
];

async function snapshot(id: number) {
  const q = (text: string) => t.query(text, [id]);
  return {
    jobs: await q(
      `SELECT name, status, unfinished_deps, became_ready FROM sluice.jobs WHERE workflow_id = $1 ORDER BY name`,
    ),
    workflow: await q(
      `SELECT run_id, num_jobs, unfinished_jobs, initialized_at IS NOT NULL AS initialized,
              completed_at IS NOT NULL AS completed
         FROM sluice.workflows WHERE id = $1`,
    ),
    counts: await q(
      `SELECT status, sum(jobs)::int AS jobs FROM sluice.workflow_job_counts
        WHERE workflow_id = $1 GROUP BY status HAVING sum(jobs) <> 0 ORDER BY status`,
    ),
    actions: await q(
      `SELECT position, trigger_count, required_triggers, status FROM sluice.workflow_actions
        WHERE workflow_id = $1 ORDER BY position`,
    ),
    events: await q(
      `SELECT kind, action_id IS NOT NULL AS for_action, data FROM sluice.events
        WHERE workflow_id = $1 ORDER BY kind, action_id, id`,
    ),
  };
}

async function bothWays(jobs: Record<string, JobSketch>, actions: ActionSketch[]) {
  const spec = buildWorkflowWithActions(jobs, actions);
  const twoSteps = await workflowsCreate(t.handle.db, spec);
  await workflowsInitialize(t.handle.db, twoSteps);
  const oneStep = await workflowsCreate(t.handle.db, spec, { initialize: true });
  return { twoSteps, oneStep };
}

describe('creating a workflow initialized', () => {
  it('gives the same jobs, counters, actions and events as create then initialize', async () => {
    const { twoSteps, oneStep } = await bothWays(JOBS, ACTIONS);
    const a = await snapshot(twoSteps);
    const b = await snapshot(oneStep);
    expect(b).toEqual(a);
    expect(b.jobs).toContainEqual({ name: 'prep', status: 'ready', unfinished_deps: 0, became_ready: true });
    expect(b.jobs).toContainEqual({ name: 'join', status: 'blocked', unfinished_deps: 2, became_ready: false });
    expect(b.counts).toEqual([
      { status: 'blocked', jobs: 3 },
      { status: 'ready', jobs: 2 },
    ]);
    expect(b.actions.map((x) => x.status)).toEqual(['pending', 'pending', 'pending', 'waiting', 'waiting', 'waiting']);
    expect(b.events.find((e) => e.kind === 'workflow_initialized')?.data).toEqual({ run_id: 1, jobs: 5 });
  });

  it('runs the same way afterwards, and a reset and reinitialize still move every job', async () => {
    const { twoSteps, oneStep } = await bothWays(JOBS, ACTIONS);
    for (const id of [twoSteps, oneStep]) {
      await finishJobs(t.handle, id, { prep: 'completed', lone: 'completed' });
      await finishJobs(t.handle, id, { left: 'failed', right: 'completed' });
    }
    const a = await snapshot(twoSteps);
    const b = await snapshot(oneStep);
    expect(b.jobs).toEqual(a.jobs);
    expect(b.counts).toEqual(a.counts);
    expect(b.actions).toEqual(a.actions);
    // left failed: join (cancel_on_blocking_job_failure) is canceled, and the workflow complete.
    expect(b.jobs.find((j) => j.name === 'join')?.status).toBe('canceled');
    expect(b.workflow).toEqual([{ run_id: 1, num_jobs: 5, unfinished_jobs: 0, initialized: true, completed: true }]);

    await workflowsResetStatus(t.handle.db, oneStep, false);
    await workflowsReinitialize(t.handle.db, oneStep);
    const again = await snapshot(oneStep);
    expect(again.counts).toEqual([
      { status: 'blocked', jobs: 3 },
      { status: 'ready', jobs: 2 },
    ]);
    const runs = again.events.filter((e) => e.kind === 'workflow_reinitialized').map((e) => e.data);
    expect(runs).toEqual([{ run_id: 2, jobs: 5 }]);
  });

  it('completes an empty workflow at once, as initialize does', async () => {
    const { twoSteps, oneStep } = await bothWays({}, [{ trigger: 'on_workflow_complete' }]);
    const b = await snapshot(oneStep);
    expect(b).toEqual(await snapshot(twoSteps));
    expect(b.workflow).toEqual([{ run_id: 1, num_jobs: 0, unfinished_jobs: 0, initialized: true, completed: true }]);
    expect(b.actions.map((x) => x.status)).toEqual(['pending']);
  });
});
