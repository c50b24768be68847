import os from 'node:os';
import { actionRunsFinish, actionsClaimPending, openPool, workersRegister, workersStop } from '@sluice/core';
import { executeAction } from './action-executor.js';

export interface SubmitResult {
  submitted: number;
  failed: string[];
}

/**
 * Runs a workflow's pending on_workflow_start schedule_nodes actions from here (a login node),
 * as a short-lived worker that claims nothing else: the allocations' workers do the rest,
 * including any run_commands setup, which belongs on compute nodes.
 */
export async function submitWorkflowAllocations(
  url: string,
  workflowId: number,
  outputDir: string,
  cliPath: string = process.argv[1] ?? '',
): Promise<SubmitResult> {
  const handle = openPool(url, { max: 1, applicationName: 'sluice-submit' });
  const result: SubmitResult = { submitted: 0, failed: [] };
  let workerId = 0;
  try {
    workerId = (
      await workersRegister(handle.db, {
        workflowId,
        hostname: os.hostname(),
        pid: process.pid,
        osUser: os.userInfo().username,
        numCpus: 0,
        memoryBytes: 0,
        numGpus: 0,
        numNodes: 1,
        maxParallelJobs: null,
        endsAt: null,
        heartbeatTimeoutSeconds: 600,
      })
    ).id;
    for (;;) {
      const action = await actionsClaimPending(handle.db, workerId, ['on_workflow_start'], ['schedule_nodes']);
      if (!action) break;
      const outcome = await executeAction(action, {
        workflowId,
        workerId,
        outputDir,
        handle,
        nodePath: process.execPath,
        cliPath,
      });
      await actionRunsFinish(handle.db, action.run_id, outcome);
      if (outcome.succeeded) result.submitted++;
      else result.failed.push(outcome.message ?? `action ${action.action_id} failed`);
    }
  } finally {
    if (workerId) await workersStop(handle.db, workerId).catch(() => {});
    await handle.close();
  }
  return result;
}
