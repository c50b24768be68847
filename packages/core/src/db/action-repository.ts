import { type Kysely, sql } from 'kysely';
import type { ActionType, TriggerType } from '../spec/resolved-workflow.js';
import type { Database } from './database-types.js';

type Db = Kysely<Database>;

/** Triggers a worker claims in its main loop; worker-lifecycle ones are claimed at start and exit. */
export const MAIN_LOOP_TRIGGERS: readonly TriggerType[] = [
  'on_workflow_start',
  'on_workflow_complete',
  'on_jobs_ready',
  'on_jobs_complete',
  'on_worker_start',
];

export interface ClaimedAction {
  run_id: number;
  action_id: number;
  trigger_type: TriggerType;
  action_type: 'run_commands' | 'schedule_nodes';
  persistent: boolean;
  commands: string[] | null;
  scheduler_id: number | null;
  num_allocations: number | null;
  start_one_worker_per_node: boolean;
  max_parallel_jobs: number | null;
}

function triggerArray(types: readonly TriggerType[]) {
  return sql`${`{${types.join(',')}}`}::sluice.trigger_type[]`;
}

/** Claims one pending action among `types` for the worker, or null. Exactly once per run (per worker if persistent). */
export async function actionsClaimPending(
  db: Db,
  workerId: number,
  types: readonly TriggerType[],
  actionTypes: readonly ActionType[] | null = null,
): Promise<ClaimedAction | null> {
  const only = actionTypes ? sql`${`{${actionTypes.join(',')}}`}::sluice.action_type[]` : sql`NULL`;
  const r = await sql<ClaimedAction>`
    SELECT * FROM sluice.actions_claim(${workerId}, ${triggerArray(types)}, ${only})`.execute(db);
  return r.rows[0] ?? null;
}

/** Whether the worker could claim a pending action among `types` right now. */
export async function actionsClaimable(db: Db, workerId: number, types: readonly TriggerType[]): Promise<boolean> {
  const r = await sql<{
    ok: boolean;
  }>`SELECT sluice.actions_claimable(${workerId}, ${triggerArray(types)}) AS ok`.execute(db);
  return r.rows[0]?.ok ?? false;
}

export interface ActionRunOutcome {
  succeeded: boolean;
  exitCode: number | null;
  failedCommand: string | null;
  message: string | null;
  stdoutPath: string | null;
  stderrPath: string | null;
}

/** Returns false when the run had already been marked abandoned. */
export async function actionRunsFinish(db: Db, actionRunId: number, o: ActionRunOutcome): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`
    SELECT sluice.action_runs_finish(${actionRunId}, ${o.succeeded}, ${o.exitCode}, ${o.failedCommand},
      ${o.message}, ${o.stdoutPath}, ${o.stderrPath}) AS ok`.execute(db);
  return r.rows[0]?.ok ?? false;
}

export interface ActionListRow {
  id: number;
  position: number;
  trigger_type: TriggerType;
  action_type: string;
  persistent: boolean;
  job_names: string[];
  waiting_on: string[];
  trigger_count: number;
  required_triggers: number;
  executed: boolean;
  status: string;
  runs: {
    id: number;
    worker_id: number;
    run_id: number;
    status: string;
    exit_code: number | null;
    failed_command: string | null;
    started_at: string;
    finished_at: string | null;
  }[];
}

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
