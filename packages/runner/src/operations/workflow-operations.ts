import {
  allocationsCanceledNow,
  JOB_STATUSES,
  type JobStatus,
  type ResolvedWorkflow,
  type SluiceDb,
  type WorkflowCreateOptions,
  type WorkflowSummaryRow,
  workersReap,
  workflowsCancel,
  workflowsCreate,
  workflowsEnsureInitialized,
  workflowsGet,
  workflowsResetStatus,
} from '@sluice/core';
import { commandLineSlurm, type SlurmClient } from '../slurm/slurm-client.js';
import { workflowStall } from './stall-report.js';

/** A workflow id, or the path of a spec to create one from. */
export type WorkflowTarget = { id: number } | { specPath: string };

/** Reads a spec file into its resolved form; loaded on demand, the schemas are costly to build. */
export async function loadSpec(specPath: string): Promise<ResolvedWorkflow> {
  const { loadSpecFile } = await import('@sluice/core/spec');
  return loadSpecFile(specPath);
}

/** Creates the workflow of a spec; `initialize` starts its first run in the same transaction. */
export async function createWorkflow(
  h: SluiceDb,
  spec: ResolvedWorkflow,
  opts: WorkflowCreateOptions = {},
): Promise<number> {
  return workflowsCreate(h.db, spec, opts);
}

export interface EnsuredWorkflow {
  id: number;
  /** true when the workflow was created from a spec here */
  created: boolean;
  /** true when this call initialized it (run 1) */
  initialized: boolean;
}

/**
 * `run` and `submit`: the workflow of an id (it must exist) or of a spec (created now, from its
 * file or already loaded), initialized if it has not been yet.
 */
export async function ensureWorkflow(
  h: SluiceDb,
  target: WorkflowTarget | { spec: ResolvedWorkflow },
): Promise<EnsuredWorkflow> {
  if (!('id' in target)) {
    // Created and initialized in one transaction: its jobs are written once, waiting.
    const spec = 'spec' in target ? target.spec : await loadSpec(target.specPath);
    return { id: await createWorkflow(h, spec, { initialize: true }), created: true, initialized: true };
  }
  const id = target.id;
  const before = (await workflowsGet(h.db, id)).run_id;
  // Initializes only if no run has started, under the workflow's lock: two `run ID` at once on a
  // new workflow both go on.
  const runId = await workflowsEnsureInitialized(h.db, id);
  return { id, created: false, initialized: before === 0 && runId === 1 };
}

export interface CancelOutcome {
  jobs: number;
  allocations: string[];
  /** why scancel could not cancel the allocations, if it could not */
  problem: string | null;
}

/**
 * Cancels the workflow's unfinished jobs and its queued and running allocations in one
 * transaction, then scancels those allocations.
 */
export async function cancelWorkflow(h: SluiceDb, id: number, slurm: SlurmClient): Promise<CancelOutcome> {
  const { jobs, allocations } = await h.db.transaction().execute(async (trx) => ({
    jobs: await workflowsCancel(trx, id),
    allocations: await allocationsCanceledNow(trx, id),
  }));
  const problem = await slurm.cancel(allocations);
  return { jobs, allocations, problem };
}

/** Back to uninitialized, after declaring silent workers lost (their jobs would block the reset). */
export async function resetWorkflowStatus(h: SluiceDb, id: number, failedOnly: boolean): Promise<number> {
  await workersReap(h.db, id);
  return workflowsResetStatus(h.db, id, failedOnly);
}

/** The status every interface shows: `workflows status --json`, `run --json`, the API. */
export interface WorkflowStatus {
  id: number;
  name: string;
  owner: string;
  user: string | null;
  run_id: number;
  is_initialized: boolean;
  is_complete: boolean;
  is_canceled: boolean;
  num_jobs: number;
  live_workers: number;
  job_counts: Record<JobStatus, number>;
  created_at: Date;
  completed_at: Date | null;
  canceled_at: Date | null;
  /** why the workflow cannot go on (ready jobs no live worker can run, no allocation that may start), or null */
  stalled: string | null;
  /** what its ready jobs wait for: queued or running allocations, with Slurm's state and reason; or null */
  waiting: string | null;
}

export function toWorkflowStatus(w: WorkflowSummaryRow): WorkflowStatus {
  return {
    id: w.id,
    name: w.name,
    owner: w.owner_role,
    user: w.user,
    run_id: w.run_id,
    is_initialized: w.run_id > 0,
    is_complete: w.is_complete,
    is_canceled: w.is_canceled,
    num_jobs: w.num_jobs,
    live_workers: w.live_workers,
    job_counts: Object.fromEntries(JOB_STATUSES.map((k) => [k, w[k]])) as Record<JobStatus, number>,
    created_at: w.created_at,
    completed_at: w.completed_at,
    canceled_at: w.canceled_at,
    stalled: null,
    waiting: null,
  };
}

/**
 * Status after reaping silent workers, so that a dead worker's jobs show as terminated, and
 * reconciling the allocations with Slurm, so that one that ended unstarted shows as failed.
 */
export async function workflowStatus(
  h: SluiceDb,
  id: number,
  slurm: SlurmClient = commandLineSlurm,
): Promise<{ row: WorkflowSummaryRow; status: WorkflowStatus }> {
  await workflowsGet(h.db, id);
  await workersReap(h.db, id);
  const row = await workflowsGet(h.db, id);
  const active = row.run_id > 0 && !row.is_complete && !row.is_canceled;
  const report = active ? await workflowStall(h, id, slurm) : { stalled: null, waiting: null };
  return { row, status: { ...toWorkflowStatus(row), ...report } };
}
