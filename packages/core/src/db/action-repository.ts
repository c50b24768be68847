import { sql } from 'kysely';
import type { ActionType, TriggerType } from '../model.js';
import type { ActionStatusRow, Db, WorkflowActionRow } from './row-types.js';

/** What a worker needs to run a claimed action: the action's settings and its run's id. */
export type ClaimedAction = Pick<
  WorkflowActionRow,
  | 'trigger_type'
  | 'action_type'
  | 'persistent'
  | 'commands'
  | 'scheduler_id'
  | 'num_allocations'
  | 'start_one_worker_per_node'
  | 'max_parallel_jobs'
> & { run_id: number; action_id: number };

function enumArray(values: readonly string[], type: 'trigger_type' | 'action_type') {
  return sql`${`{${values.join(',')}}`}::${sql.raw(`sluice.${type}[]`)}`;
}

/** Claims one pending action among `types` for the worker, or null. Exactly once per run (per worker if persistent). */
export async function actionsClaimPending(
  db: Db,
  workerId: number,
  types: readonly TriggerType[],
  actionTypes: readonly ActionType[] | null = null,
): Promise<ClaimedAction | null> {
  const only = actionTypes ? enumArray(actionTypes, 'action_type') : sql`NULL`;
  const r = await sql<ClaimedAction>`
    SELECT * FROM sluice.actions_claim(${workerId}, ${enumArray(types, 'trigger_type')}, ${only})`.execute(db);
  return r.rows[0] ?? null;
}

/** Whether the worker could claim a pending action among `types` right now. */
export async function actionsClaimable(db: Db, workerId: number, types: readonly TriggerType[]): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`
    SELECT sluice.actions_claimable(${workerId}, ${enumArray(types, 'trigger_type')}) AS ok`.execute(db);
  return r.rows[0]?.ok ?? false;
}

export interface ActionRunSummary {
  id: number;
  worker_id: number;
  run_id: number;
  status: string;
  exit_code: number | null;
  failed_command: string | null;
  started_at: string;
  finished_at: string | null;
}

export type ActionListRow = Omit<ActionStatusRow, 'workflow_id'> & { runs: ActionRunSummary[] };

export async function actionsList(db: Db, workflowId: number): Promise<ActionListRow[]> {
  const r = await sql<ActionListRow>`
    SELECT s.id, s.position, s.trigger_type, s.action_type, s.persistent, s.job_names, s.waiting_on,
           s.trigger_count, s.required_triggers, s.executed, s.status,
           coalesce((SELECT json_agg(json_build_object(
                       'id', r.id, 'worker_id', r.worker_id, 'run_id', r.run_id, 'status', r.status,
                       'exit_code', r.exit_code, 'failed_command', r.failed_command,
                       'started_at', r.started_at, 'finished_at', r.finished_at) ORDER BY r.id)
                       FROM sluice.action_runs r WHERE r.action_id = s.id), '[]'::json) AS runs
      FROM sluice.action_status s
     WHERE s.workflow_id = ${workflowId}
     ORDER BY s.position`.execute(db);
  return r.rows;
}
