import { sql } from 'kysely';
import { SluiceError } from '../errors.js';
import { JOB_TRIGGER_TYPES } from '../model.js';
import type { Db, PageRequest, WorkflowSummaryRow } from './row-types.js';

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
  /** torc's resource_monitor, as created: {enabled, granularity, sample_interval_seconds, ...} */
  resource_monitor: { enabled?: boolean; granularity?: string; sample_interval_seconds?: number };
  /** some action is triggered by jobs (on_jobs_ready, on_jobs_complete): a completion may make one pending */
  watches_jobs: boolean;
}

/**
 * What a worker checks on every wake-up: the workflow row and its per-status counts.
 */
export async function workflowsGetState(db: Db, id: number): Promise<WorkflowState> {
  const r = await sql<WorkflowState>`
    SELECT w.run_id, w.unfinished_jobs, w.canceled_at IS NOT NULL AS is_canceled, w.resource_monitor,
           (SELECT coalesce(sum(n.jobs), 0) FROM sluice.workflow_job_counts n
             WHERE n.workflow_id = w.id AND sluice.job_status_is_active(n.status))::int AS active_jobs,
           EXISTS (SELECT 1 FROM sluice.workflow_actions a
                    WHERE a.workflow_id = w.id AND a.trigger_type = ANY (${[...JOB_TRIGGER_TYPES]}::sluice.trigger_type[]))
             AS watches_jobs
      FROM sluice.workflows w WHERE w.id = ${id}`.execute(db);
  const row = r.rows[0];
  if (!row) throw new SluiceError('WORKFLOW_NOT_FOUND', `workflow ${id} does not exist`);
  return row;
}

/** The workflows the connected role may see, in id order, one page at a time (all when `page` is empty). */
export async function workflowsList(db: Db, page: PageRequest = {}): Promise<WorkflowSummaryRow[]> {
  let q = db.selectFrom('sluice.workflow_summary').selectAll();
  if (page.after !== undefined) q = q.where('id', '>', page.after);
  if (page.limit !== undefined) q = q.limit(page.limit);
  return (await q.orderBy('id').execute()) as WorkflowSummaryRow[];
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

/** What a stall report needs: the ready jobs that no live worker could run, and what the workers offer. */
export interface WorkflowStallFacts {
  ready: number;
  unfit: number;
  /** some ready jobs were not looked at (beyond the sample): unfit is a lower bound */
  unfit_is_lower_bound: boolean;
  /** the most the unfit jobs need, each */
  need_cpus: number | null;
  need_memory_bytes: number | null;
  need_gpus: number | null;
  need_nodes: number | null;
  need_runtime_seconds: number | null;
  /** schedulers named by unfit jobs that no live worker belongs to */
  need_schedulers: string[];
  live_workers: number;
  /** the most a live worker offers */
  max_cpus: number | null;
  max_memory_bytes: number | null;
  max_gpus: number | null;
  max_nodes: number | null;
  /** the most time a live worker has left; null: some worker has no time limit */
  max_seconds_left: number | null;
  /** allocations requested or running: jobs may be waiting for them */
  queued_allocations: number;
}

/** Ready jobs looked at, in claim order (biggest first: the likeliest not to fit). */
const STALL_SAMPLE = 10_000;

/**
 * Ready jobs that no live worker could ever claim (jobs_fit against each worker's whole
 * resources, scheduler and time left), for `workflows status` to say why a workflow stalls.
 * Looks at the first 10k ready jobs in claim order (the claim index, biggest first): enough to
 * name the reason, and a cost that does not grow with the workflow. With no live worker every
 * ready job is unfit, counted from the per-status counters.
 */
export async function workflowsStallFacts(db: Db, id: number): Promise<WorkflowStallFacts> {
  const r = await sql<WorkflowStallFacts>`
    WITH live AS (
      SELECT k.*, CASE WHEN k.ends_at IS NULL THEN NULL
                       ELSE greatest(0, extract(epoch FROM k.ends_at - now()))::bigint END AS seconds_left
        FROM sluice.workers k
       WHERE k.workflow_id = ${id} AND k.status = 'running' AND k.heartbeat_at >= now() - k.heartbeat_timeout
    ), counted AS (
      SELECT coalesce(sum(n.jobs), 0)::int AS ready
        FROM sluice.workflow_job_counts n WHERE n.workflow_id = ${id} AND n.status = 'ready'
    ), ready AS (
      SELECT j.* FROM sluice.jobs j WHERE j.workflow_id = ${id} AND j.status = 'ready'
       ORDER BY j.priority DESC, j.num_gpus DESC, j.runtime_seconds DESC, j.memory_bytes DESC, j.num_cpus DESC, j.id
       LIMIT ${STALL_SAMPLE}
    ), unfit AS (
      SELECT j.* FROM ready j
       WHERE NOT EXISTS (SELECT 1 FROM live k
                          WHERE sluice.jobs_fit(j, k.scheduler_id, k.seconds_left, k.max_parallel_jobs IS NULL,
                                                k.num_cpus, k.memory_bytes, k.num_gpus, k.num_nodes))
    )
    SELECT (SELECT ready FROM counted) AS ready,
           CASE WHEN EXISTS (SELECT 1 FROM live) THEN (SELECT count(*) FROM unfit)::int
                ELSE (SELECT ready FROM counted) END AS unfit,
           (EXISTS (SELECT 1 FROM live) AND (SELECT count(*) FROM ready) < (SELECT ready FROM counted))
             AS unfit_is_lower_bound,
           (SELECT max(num_cpus) FROM unfit) AS need_cpus,
           (SELECT max(memory_bytes) FROM unfit) AS need_memory_bytes,
           (SELECT max(num_gpus) FROM unfit) AS need_gpus,
           (SELECT max(num_nodes) FROM unfit) AS need_nodes,
           (SELECT max(runtime_seconds) FROM unfit) AS need_runtime_seconds,
           ARRAY(SELECT DISTINCT s.name FROM unfit u JOIN sluice.slurm_schedulers s ON s.id = u.scheduler_id
                  WHERE NOT EXISTS (SELECT 1 FROM live k WHERE k.scheduler_id = u.scheduler_id)
                  ORDER BY s.name) AS need_schedulers,
           (SELECT count(*) FROM live)::int AS live_workers,
           (SELECT max(num_cpus) FROM live) AS max_cpus,
           (SELECT max(memory_bytes) FROM live) AS max_memory_bytes,
           (SELECT max(num_gpus) FROM live) AS max_gpus,
           (SELECT max(num_nodes) FROM live) AS max_nodes,
           (SELECT CASE WHEN bool_or(seconds_left IS NULL) THEN NULL ELSE max(seconds_left) END FROM live)
             AS max_seconds_left,
           (SELECT count(*) FROM sluice.scheduled_compute_nodes n
             WHERE n.workflow_id = ${id} AND n.status IN ('pending', 'active'))::int AS queued_allocations`.execute(db);
  return r.rows[0] as WorkflowStallFacts;
}
