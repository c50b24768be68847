import os from 'node:os';
import {
  actionRunsFinish,
  actionsClaimPending,
  actionsList,
  type ResolvedWorkflow,
  type SluiceDb,
  SluiceError,
  workersRegister,
  workersStop,
} from '@sluice/core';
import type { SlurmClient } from '../slurm/slurm-client.js';
import { executeAction } from '../worker/action-executor.js';
import { ensureWorkflow, loadSpec, type WorkflowTarget } from './workflow-operations.js';

export interface SubmitResult {
  id: number;
  created: boolean;
  submitted: number;
  failed: string[];
}

const refuse = (what: string) =>
  new SluiceError(
    'WORKFLOW_STATE',
    `${what} has no on_workflow_start schedule_nodes action, so submit would start nothing; use \`sluice run\` or \`sluice worker\``,
  );

const startsAllocations = (actions: readonly { triggerType: string; actionType: string }[]) =>
  actions.some((a) => a.triggerType === 'on_workflow_start' && a.actionType === 'schedule_nodes');

/**
 * `submit`: creates (from a spec) and initializes the workflow if needed, then submits its
 * on_workflow_start Slurm allocations from here, a login node. A workflow without such an
 * action is refused before anything is created.
 */
export async function submitWorkflow(
  h: SluiceDb,
  target: WorkflowTarget,
  outputDir: string,
  slurm: SlurmClient,
  cliPath: string = process.argv[1] ?? '',
): Promise<SubmitResult> {
  let ensured: Awaited<ReturnType<typeof ensureWorkflow>>;
  if ('specPath' in target) {
    const spec: ResolvedWorkflow = await loadSpec(target.specPath);
    if (!startsAllocations(spec.actions)) throw refuse(target.specPath);
    ensured = await ensureWorkflow(h, { spec });
  } else {
    const actions = await actionsList(h.db, target.id);
    const asSpec = actions.map((a) => ({ triggerType: a.trigger_type, actionType: a.action_type }));
    if (!startsAllocations(asSpec)) throw refuse(`workflow ${target.id}`);
    ensured = await ensureWorkflow(h, target);
  }
  const r = await submitAllocations(h, ensured.id, outputDir, slurm, cliPath);
  return { id: ensured.id, created: ensured.created, ...r };
}

/**
 * Runs a workflow's pending on_workflow_start schedule_nodes actions from here, as a
 * short-lived worker that claims nothing else: the allocations' workers do the rest, including
 * any run_commands setup, which belongs on compute nodes.
 */
async function submitAllocations(
  handle: SluiceDb,
  workflowId: number,
  outputDir: string,
  slurm: SlurmClient,
  cliPath: string,
): Promise<{ submitted: number; failed: string[] }> {
  const result = { submitted: 0, failed: [] as string[] };
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
        slurm,
      });
      await actionRunsFinish(handle.db, action.run_id, outcome);
      if (outcome.succeeded) result.submitted++;
      else result.failed.push(outcome.message ?? `action ${action.action_id} failed`);
    }
  } finally {
    if (workerId) await workersStop(handle.db, workerId).catch(() => {});
  }
  return result;
}
