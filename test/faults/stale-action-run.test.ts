import {
  actionRunsFinish,
  actionsClaimPending,
  MAIN_LOOP_TRIGGER_TYPES,
  workersRegister,
  workflowsReinitialize,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { claimAll, SUCCEEDED } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflowWithActions } from '../support/workflow-builder.js';
import { createInitialized } from './support/fault-fixtures.js';

// Finding 5: action_runs_finish sets the action's status from any of its runs, so a run of an
// earlier workflow run that finishes late marks the current run's execution finished: the
// on_workflow_start gate opens while run 2's action still runs.

const t = useTestDatabase('faults_stale_action');

async function register(workflowId: number): Promise<number> {
  const w = await workersRegister(t.handle.db, {
    workflowId,
    hostname: 'test',
    pid: 1,
    osUser: null,
    numCpus: 4,
    memoryBytes: 1e9,
    numGpus: 0,
    numNodes: 1,
    maxParallelJobs: null,
    endsAt: null,
    heartbeatTimeoutSeconds: 600,
  });
  return w.id;
}

describe('a stale action run', () => {
  it("finishing a run-1 execution leaves run 2's on_workflow_start action running and the gate closed", async () => {
    const wf = buildWorkflowWithActions({ a: {} }, [{ trigger: 'on_workflow_start', commands: ['true'] }]);
    const id = await createInitialized(t, wf);
    const w1 = await register(id);
    const run1 = await actionsClaimPending(t.handle.db, w1, MAIN_LOOP_TRIGGER_TYPES);
    expect(run1?.trigger_type).toBe('on_workflow_start');

    await workflowsReinitialize(t.handle.db, id);
    const w2 = await register(id);
    const run2 = await actionsClaimPending(t.handle.db, w2, MAIN_LOOP_TRIGGER_TYPES);
    expect(run2?.action_id, "run 2's copy of the action is claimed by worker 2").toBe(run1?.action_id);

    await actionRunsFinish(t.handle.db, run1?.run_id as number, SUCCEEDED);
    const [action] = await t.query<{ status: string }>(
      'SELECT status::text FROM sluice.workflow_actions WHERE id = $1',
      [run1?.action_id],
    );
    expect(action?.status, "the action of run 2 is still running: run 1's late finish must not end it").toBe('running');
    expect(
      (await claimAll(t.handle, w2)).map((j) => j.name),
      "jobs are claimed while run 2's on_workflow_start action still runs",
    ).toEqual([]);

    await actionRunsFinish(t.handle.db, run2?.run_id as number, SUCCEEDED);
    expect((await claimAll(t.handle, w2)).map((j) => j.name)).toEqual(['a']);
  });
});
