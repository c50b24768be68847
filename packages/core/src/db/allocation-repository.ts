import { sql } from 'kysely';
import type { AllocationRow, Db } from './row-types.js';

/** Rows of sluice.scheduled_compute_nodes, the Slurm allocations of workflows (view sluice.allocations). */
export interface AllocationRequest {
  workflowId: number;
  schedulerId: number;
  actionId: number | null;
  actionRunId: number | null;
  numNodes: number;
  startOneWorkerPerNode: boolean;
  maxParallelJobs: number | null;
}

/** The row exists before sbatch runs, so that the allocation's worker can name it. */
export async function allocationsCreate(db: Db, r: AllocationRequest): Promise<number> {
  const row = await db
    .insertInto('sluice.scheduled_compute_nodes')
    .values({
      workflow_id: r.workflowId,
      scheduler_id: r.schedulerId,
      action_id: r.actionId,
      action_run_id: r.actionRunId,
      num_nodes: r.numNodes,
      start_one_worker_per_node: r.startOneWorkerPerNode,
      max_parallel_jobs: r.maxParallelJobs,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** `message`: how the job id was learnt when sbatch did not print it (found by its comment, say). */
export async function allocationsMarkSubmitted(
  db: Db,
  id: number,
  slurmJobId: string,
  scriptPath: string,
  message: string | null = null,
): Promise<void> {
  await db
    .updateTable('sluice.scheduled_compute_nodes')
    .set({ slurm_job_id: slurmJobId, script_path: scriptPath, message, submitted_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

/**
 * sbatch may have created the allocation but gave no job id that could be read or found (it
 * exited 0 and printed something else, say): recorded so, with what sbatch printed, and never
 * submitted again. No job id, so nothing cancels it; `message` says what to look for in squeue.
 */
export async function allocationsMarkUnknown(
  db: Db,
  id: number,
  message: string,
  scriptPath: string | null,
): Promise<void> {
  await db
    .updateTable('sluice.scheduled_compute_nodes')
    .set({ status: 'unknown', message, script_path: scriptPath, submitted_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

export async function allocationsMarkFailed(
  db: Db,
  id: number,
  message: string,
  scriptPath: string | null,
): Promise<void> {
  await db
    .updateTable('sluice.scheduled_compute_nodes')
    .set({ status: 'failed', message, script_path: scriptPath, finished_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

export async function allocationsList(db: Db, workflowId: number): Promise<AllocationRow[]> {
  const rows = await db
    .selectFrom('sluice.allocations')
    .select([
      'id',
      'workflow_id',
      'scheduler',
      'action_id',
      'slurm_job_id',
      'status',
      'num_nodes',
      'start_one_worker_per_node',
      'max_parallel_jobs',
      'live_workers',
      'message',
      'script_path',
      'created_at',
      'submitted_at',
      'started_at',
      'finished_at',
    ])
    .where('workflow_id', '=', workflowId)
    .orderBy('id')
    .execute();
  return rows as AllocationRow[];
}

/**
 * Slurm job ids of the allocations that canceling the workflow canceled in this transaction
 * (tg_workflows__30_cancel_allocations): call it in the transaction that canceled, then scancel.
 */
export async function allocationsCanceledNow(db: Db, workflowId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('sluice.scheduled_compute_nodes')
    .select('slurm_job_id')
    .where('workflow_id', '=', workflowId)
    .where('status', '=', 'canceled')
    .where('finished_at', '=', sql<Date>`now()`)
    .where('slurm_job_id', 'is not', null)
    .orderBy('id')
    .execute();
  return rows.map((x) => x.slurm_job_id as string);
}

/** The allocations that Slurm has or may still run: queued (with a job id) or with workers. */
export function allocationsInSlurm(db: Db, workflowId: number) {
  return db
    .selectFrom('sluice.scheduled_compute_nodes as n')
    .innerJoin('sluice.slurm_schedulers as s', 's.id', 'n.scheduler_id')
    .select(['n.id', 's.name as scheduler', 'n.slurm_job_id', 'n.status'])
    .where('n.workflow_id', '=', workflowId)
    .where('n.status', 'in', ['pending', 'active'])
    .where('n.slurm_job_id', 'is not', null)
    .orderBy('n.id')
    .execute() as Promise<{ id: number; scheduler: string; slurm_job_id: string; status: 'pending' | 'active' }[]>;
}

/**
 * A queued allocation whose Slurm job ended before any worker of it started (canceled in
 * Slurm, failed to launch): failed, with why. Only while still queued, so that a worker that
 * attached first wins.
 */
export async function allocationsMarkEndedUnstarted(db: Db, id: number, message: string): Promise<boolean> {
  const r = await db
    .updateTable('sluice.scheduled_compute_nodes')
    .set({ status: 'failed', message, finished_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}
