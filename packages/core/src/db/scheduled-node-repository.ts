import { type Kysely, sql } from 'kysely';
import type { Database } from './database-types.js';

type Db = Kysely<Database>;

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
export async function scheduledNodesCreate(db: Db, r: AllocationRequest): Promise<number> {
  const row = await sql<{ id: number }>`
    INSERT INTO sluice.scheduled_compute_nodes
      (workflow_id, scheduler_id, action_id, action_run_id, num_nodes, start_one_worker_per_node, max_parallel_jobs)
    VALUES (${r.workflowId}, ${r.schedulerId}, ${r.actionId}, ${r.actionRunId}, ${r.numNodes},
            ${r.startOneWorkerPerNode}, ${r.maxParallelJobs})
    RETURNING id`.execute(db);
  return row.rows[0]?.id as number;
}

export async function scheduledNodesSubmitted(
  db: Db,
  id: number,
  slurmJobId: string,
  scriptPath: string,
): Promise<void> {
  await sql`UPDATE sluice.scheduled_compute_nodes
               SET slurm_job_id = ${slurmJobId}, script_path = ${scriptPath}, submitted_at = now()
             WHERE id = ${id}`.execute(db);
}

export async function scheduledNodesFailed(
  db: Db,
  id: number,
  message: string,
  scriptPath: string | null,
): Promise<void> {
  await sql`UPDATE sluice.scheduled_compute_nodes
               SET status = 'failed', message = ${message}, script_path = ${scriptPath}, finished_at = now()
             WHERE id = ${id}`.execute(db);
}

export interface AllocationRow {
  id: number;
  workflow_id: number;
  scheduler: string;
  action_id: number | null;
  slurm_job_id: string | null;
  status: string;
  num_nodes: number;
  live_workers: number;
  message: string | null;
  script_path: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export async function scheduledNodesList(db: Db, workflowId: number): Promise<AllocationRow[]> {
  const r = await sql<AllocationRow>`
    SELECT id, workflow_id, scheduler, action_id, slurm_job_id, status, num_nodes, live_workers, message,
           script_path, created_at, started_at, finished_at
      FROM sluice.allocations WHERE workflow_id = ${workflowId} ORDER BY id`.execute(db);
  return r.rows;
}

/** Marks the workflow's queued and running allocations canceled; returns their Slurm job ids. */
export async function scheduledNodesCancel(db: Db, workflowId: number): Promise<string[]> {
  const r = await sql<{ slurm_job_id: string }>`
    UPDATE sluice.scheduled_compute_nodes SET status = 'canceled', finished_at = now()
     WHERE workflow_id = ${workflowId} AND status IN ('pending', 'active') AND slurm_job_id IS NOT NULL
    RETURNING slurm_job_id`.execute(db);
  return r.rows.map((x) => x.slurm_job_id);
}

export async function workersAttachAllocation(db: Db, workerId: number, scheduledNodeId: number): Promise<void> {
  await sql`SELECT sluice.workers_attach_allocation(${workerId}, ${scheduledNodeId})`.execute(db);
}

export interface SchedulerRow {
  id: number;
  name: string;
  account: string | null;
  partition: string | null;
  walltime: string | null;
  nodes: number | null;
  mem: string | null;
  gres: string | null;
  qos: string | null;
  ntasks_per_node: number | null;
  tmp: string | null;
  extra: string | null;
  workflow_name: string;
  slurm_defaults: Record<string, string | number | boolean>;
}

export async function slurmSchedulersGet(db: Db, schedulerId: number): Promise<SchedulerRow> {
  const r = await sql<SchedulerRow>`
    SELECT s.id, s.name, s.account, s.partition, s.walltime, s.nodes, s.mem, s.gres, s.qos,
           s.ntasks_per_node, s.tmp, s.extra, w.name AS workflow_name, w.slurm_defaults
      FROM sluice.slurm_schedulers s JOIN sluice.workflows w ON w.id = s.workflow_id
     WHERE s.id = ${schedulerId}`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error(`internal: scheduler ${schedulerId} does not exist`);
  return row;
}
