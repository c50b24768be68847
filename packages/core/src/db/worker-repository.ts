import { sql } from 'kysely';
import type { WorkerStatus } from '../model.js';
import type { Db } from './row-types.js';

export interface WorkerRegistration {
  workflowId: number;
  hostname: string;
  pid: number;
  osUser: string | null;
  numCpus: number;
  memoryBytes: number;
  numGpus: number;
  numNodes: number;
  maxParallelJobs: number | null;
  endsAt: Date | null;
  heartbeatTimeoutSeconds: number;
}

export interface RegisteredWorker {
  id: number;
  run_id: number;
}

export async function workersRegister(db: Db, w: WorkerRegistration): Promise<RegisteredWorker> {
  const r = await sql<RegisteredWorker>`
    SELECT id, run_id FROM sluice.workers_register(${w.workflowId}, ${w.hostname}, ${w.pid}, ${w.osUser},
      ${w.numCpus}, ${w.memoryBytes}, ${w.numGpus}, ${w.numNodes}, ${w.maxParallelJobs}, ${w.endsAt},
      make_interval(secs => ${w.heartbeatTimeoutSeconds}))`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('internal: worker registration returned no row');
  return row;
}

/** The heartbeat statement: returns the worker's status after the beat, null when it is no longer running. */
export const WORKERS_HEARTBEAT_SQL = 'SELECT sluice.workers_heartbeat($1) AS s';

/** Returns the worker's status after the beat, or null when it is no longer running. */
export async function workersHeartbeat(db: Db, workerId: number): Promise<WorkerStatus | null> {
  const r = await sql<{ s: WorkerStatus | null }>`SELECT sluice.workers_heartbeat(${workerId}) AS s`.execute(db);
  return r.rows[0]?.s ?? null;
}

/** The worker's status, or null when it does not exist or is not the user's (row-level security). */
export async function workersGetStatus(db: Db, workerId: number): Promise<WorkerStatus | null> {
  const r = await db.selectFrom('sluice.workers').select('status').where('id', '=', workerId).executeTakeFirst();
  return r?.status ?? null;
}

export async function workersStop(db: Db, workerId: number): Promise<void> {
  await sql`SELECT sluice.workers_stop(${workerId})`.execute(db);
}

/** Declares silent workers of a workflow lost; returns how many. */
export async function workersReap(db: Db, workflowId: number): Promise<number> {
  const r = await sql<{ n: number }>`SELECT sluice.workers_reap(${workflowId}) AS n`.execute(db);
  return r.rows[0]?.n ?? 0;
}

/** A worker inside a Slurm allocation takes the allocation's scheduler and marks it active. */
export async function workersAttachAllocation(
  db: Db,
  workerId: number,
  scheduledNodeId: number,
  slurmJobId: string | null = null,
): Promise<void> {
  await sql`SELECT sluice.workers_attach_allocation(${workerId}, ${scheduledNodeId}, ${slurmJobId})`.execute(db);
}
