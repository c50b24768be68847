import { sql } from 'kysely';
import type { Db, PageRequest } from './row-types.js';

/** A workflow's results in id order, one page at a time (all of them when `page` is empty). */
export function resultsList(db: Db, workflowId: number, page: PageRequest = {}) {
  let q = db
    .selectFrom('sluice.results as r')
    .innerJoin('sluice.jobs as j', 'j.id', 'r.job_id')
    .select([
      'r.id',
      'r.job_id',
      'j.name as job_name',
      'r.worker_id',
      'r.run_id',
      'r.attempt',
      'r.attempt_id',
      'r.status',
      'r.return_code',
      'r.started_at',
      'r.completed_at',
      'r.exec_time_s',
      'r.message',
      'r.stdout_path',
      'r.stderr_path',
      'r.peak_memory_bytes',
      'r.avg_memory_bytes',
      'r.peak_cpu_percent',
      'r.avg_cpu_percent',
    ])
    .where('r.workflow_id', '=', workflowId);
  if (page.after !== undefined) q = q.where('r.id', '>', page.after);
  if (page.limit !== undefined) q = q.limit(page.limit);
  return q.orderBy('r.id').execute();
}

/** A job's use of resources (its latest monitored execution) against what it asked for. */
export interface ResourceUseRow {
  job_id: number;
  job_name: string;
  attempt_id: number;
  status: string;
  num_cpus: number;
  memory_bytes: number;
  runtime_seconds: number;
  exec_time_s: number | null;
  peak_memory_bytes: number;
  avg_memory_bytes: number;
  peak_cpu_percent: number;
  avg_cpu_percent: number;
}

/** The latest monitored execution of each job of the workflow (results with resource figures). */
export async function resultsResourceUse(db: Db, workflowId: number): Promise<ResourceUseRow[]> {
  const r = await sql<ResourceUseRow>`
    SELECT DISTINCT ON (r.job_id) r.job_id, j.name AS job_name, r.attempt_id, r.status::text AS status,
           j.num_cpus, j.memory_bytes, j.runtime_seconds, r.exec_time_s, r.peak_memory_bytes, r.avg_memory_bytes,
           r.peak_cpu_percent, r.avg_cpu_percent
      FROM sluice.results r JOIN sluice.jobs j ON j.id = r.job_id
     WHERE r.workflow_id = ${workflowId} AND r.peak_memory_bytes IS NOT NULL
     ORDER BY r.job_id, r.id DESC`.execute(db);
  return r.rows;
}
