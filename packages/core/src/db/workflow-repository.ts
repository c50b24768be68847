import { sql } from 'kysely';
import { SluiceError } from '../errors.js';
import type { Db, WorkflowSummaryRow } from './row-types.js';

export async function workflowsGet(db: Db, id: number): Promise<WorkflowSummaryRow> {
  const row = await db.selectFrom('sluice.workflow_summary').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SluiceError('WORKFLOW_NOT_FOUND', `workflow ${id} does not exist`);
  return row as WorkflowSummaryRow;
}

export interface WorkflowState {
  run_id: number;
  unfinished_jobs: number;
  is_canceled: boolean;
  /** jobs claimed or running, on any worker */
  active_jobs: number;
}

/**
 * What a worker checks on every wake-up: read from the workflow row and the status index,
 * without the per-status count over every job that workflowsGet makes.
 */
export async function workflowsGetState(db: Db, id: number): Promise<WorkflowState> {
  const r = await sql<WorkflowState>`
    SELECT w.run_id, w.unfinished_jobs, w.canceled_at IS NOT NULL AS is_canceled,
           (SELECT count(*) FROM sluice.jobs j
             WHERE j.workflow_id = w.id AND sluice.job_status_is_active(j.status))::int AS active_jobs
      FROM sluice.workflows w WHERE w.id = ${id}`.execute(db);
  const row = r.rows[0];
  if (!row) throw new SluiceError('WORKFLOW_NOT_FOUND', `workflow ${id} does not exist`);
  return row;
}

export async function workflowsList(db: Db): Promise<WorkflowSummaryRow[]> {
  return (await db.selectFrom('sluice.workflow_summary').selectAll().orderBy('id').execute()) as WorkflowSummaryRow[];
}

async function callInt(db: Db, query: ReturnType<typeof sql<{ n: number }>>): Promise<number> {
  const r = await query.execute(db);
  return r.rows[0]?.n ?? 0;
}

/** Returns the new run id. */
export function workflowsInitialize(db: Db, id: number): Promise<number> {
  return callInt(db, sql<{ n: number }>`SELECT sluice.workflows_initialize(${id}) AS n`);
}

/** Initializes the workflow unless a run has started; returns the current run id. */
export function workflowsEnsureInitialized(db: Db, id: number): Promise<number> {
  return callInt(db, sql<{ n: number }>`SELECT sluice.workflows_ensure_initialized(${id}) AS n`);
}

export function workflowsReinitialize(db: Db, id: number): Promise<number> {
  return callInt(db, sql<{ n: number }>`SELECT sluice.workflows_reinitialize(${id}) AS n`);
}

/** Returns how many jobs were reset. */
export function workflowsResetStatus(db: Db, id: number, failedOnly: boolean): Promise<number> {
  return callInt(db, sql<{ n: number }>`SELECT sluice.workflows_reset_status(${id}, ${failedOnly}) AS n`);
}

/** Returns how many jobs were canceled. */
export function workflowsCancel(db: Db, id: number): Promise<number> {
  return callInt(db, sql<{ n: number }>`SELECT sluice.workflows_cancel(${id}) AS n`);
}

export async function workflowsDelete(db: Db, id: number): Promise<void> {
  const r = await db.deleteFrom('sluice.workflows').where('id', '=', id).executeTakeFirst();
  if (r.numDeletedRows === 0n) throw new SluiceError('WORKFLOW_NOT_FOUND', `workflow ${id} does not exist`);
}
