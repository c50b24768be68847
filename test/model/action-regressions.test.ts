import {
  actionRunsFinish,
  actionsClaimPending,
  MAIN_LOOP_TRIGGER_TYPES,
  workersReap,
  workflowsCreate,
  workflowsInitialize,
  workflowsReinitialize,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { claimAll, registerTestWorker, SUCCEEDED } from '../support/engine-driver.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflowWithActions } from '../support/workflow-builder.js';

/**
 * Counterexamples found by the model-based test (workflow-actions.test.ts), shrunk and written
 * out as plain tests. Each names the sentence of the seed document or of Sluice's docs that the
 * database breaks today.
 */

const t = useTestDatabase('model_action_regressions');
const db = () => t.handle.db;
const FAILED = { ...SUCCEEDED, succeeded: false, exitCode: 1, failedCommand: 'false' };

async function actionStatus(workflowId: number) {
  const rows = await t.query<{ status: string; executed: boolean }>(
    'SELECT status, executed FROM sluice.action_status WHERE workflow_id = $1 ORDER BY position',
    [workflowId],
  );
  return rows[0];
}

/** a -> b with one on_workflow_start action, initialized. */
async function startWorkflow(): Promise<number> {
  const id = await workflowsCreate(
    db(),
    buildWorkflowWithActions({ a: {}, b: { deps: ['a'] } }, [{ trigger: 'on_workflow_start' }]),
  );
  await workflowsInitialize(db(), id);
  return id;
}

async function claimStart(workerId: number): Promise<number> {
  const a = await actionsClaimPending(db(), workerId, MAIN_LOOP_TRIGGER_TYPES);
  expect(a?.trigger_type).toBe('on_workflow_start');
  return a?.run_id as number;
}

describe('an action run of an earlier workflow run does not decide the action of the current one', () => {
  // Seed, "Workflow Reinitialization": "Executed flags are cleared: All actions can be claimed
  // and executed again". Seed, run_commands: "If a command fails, the action fails (but workflow
  // continues)". README: on_workflow_start fires "at initialize and reinitialize; no job starts
  // before it has finished". Found by the model (shrunk): initialize, a worker claims
  // on_workflow_start and is still running it, reinitialize, the same worker claims it again for
  // run 2, then its run-1 execution ends.
  it('a run-1 execution that ends while the run-2 execution is running leaves the action running', async () => {
    const id = await startWorkflow();
    const w = await registerTestWorker(t.handle, id);
    const run1 = await claimStart(w);
    await workflowsReinitialize(db(), id);
    const run2 = await claimStart(w);
    expect(await actionStatus(id)).toMatchObject({ status: 'running', executed: true });

    expect(await actionRunsFinish(db(), run1, SUCCEEDED)).toBe(true);
    // Fails today: the action shows 'succeeded' while its run-2 execution is still running...
    expect.soft(await actionStatus(id)).toMatchObject({ status: 'running' });
    // ...so the on_workflow_start gate is open and a job starts before the action finished.
    const other = await registerTestWorker(t.handle, id);
    expect.soft((await claimAll(t.handle, other)).map((j) => j.name)).toEqual([]);

    // The execution of the current run fails: the action fails (today it stays 'succeeded').
    expect(await actionRunsFinish(db(), run2, FAILED)).toBe(true);
    expect(await actionStatus(id)).toMatchObject({ status: 'failed', executed: true });
  });

  // Same rule, through the other way a run ends: its worker is declared lost. docs/state-machines.md:
  // "running --> succeeded: every command exited 0"; an abandoned run of an earlier workflow run
  // is not this run's outcome.
  it('abandoning a run-1 execution of a lost worker does not fail the run-2 execution of another worker', async () => {
    const id = await startWorkflow();
    const lost = await registerTestWorker(t.handle, id);
    await claimStart(lost);
    await workflowsReinitialize(db(), id);
    const live = await registerTestWorker(t.handle, id);
    const run2 = await claimStart(live);

    await t.query("UPDATE sluice.workers SET heartbeat_at = now() - interval '1 day' WHERE id = $1", [lost]);
    expect(await workersReap(db(), id)).toBe(1);
    // Fails today: the action is 'failed' while the live worker is still running it, and jobs
    // may start.
    expect.soft(await actionStatus(id)).toMatchObject({ status: 'running' });
    const other = await registerTestWorker(t.handle, id);
    expect.soft((await claimAll(t.handle, other)).map((j) => j.name)).toEqual([]);

    expect(await actionRunsFinish(db(), run2, SUCCEEDED)).toBe(true);
    expect(await actionStatus(id)).toMatchObject({ status: 'succeeded', executed: true });
  });
});
