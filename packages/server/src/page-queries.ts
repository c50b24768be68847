// Keyset-paginated reads for the API (a page is the rows after an id, in id order). They run on
// the request's transaction as its user: row-level security decides what they see.
import {
  type Db,
  eventsList,
  type JobListRow,
  type JobStatus,
  type resultsList,
  SluiceError,
  type WorkflowSummaryRow,
} from '@sluice/core';

export type ResultRow = Awaited<ReturnType<typeof resultsList>>[number];
export type EventRow = Awaited<ReturnType<typeof eventsList>>[number];

export interface PageRequest {
  after: number;
  limit: number;
}

export interface Page<T> {
  items: T[];
  next_after: number | null;
}

/** One row more than asked for tells whether there is a next page. */
function pageOf<T extends { id: number }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next_after: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/**
 * Raises WORKFLOW_NOT_FOUND, in the words the repositories use, when the workflow does not
 * exist or is not the user's. Cheaper than workflowsGet: no job counts.
 */
export async function workflowsAssertVisible(db: Db, id: number): Promise<void> {
  const row = await db.selectFrom('sluice.workflows').select('id').where('id', '=', id).executeTakeFirst();
  if (!row) throw new SluiceError('WORKFLOW_NOT_FOUND', `workflow ${id} does not exist`);
}

export async function workflowsPage(db: Db, p: PageRequest): Promise<Page<WorkflowSummaryRow>> {
  const rows = await db
    .selectFrom('sluice.workflow_summary')
    .selectAll()
    .where('id', '>', p.after)
    .orderBy('id')
    .limit(p.limit + 1)
    .execute();
  return pageOf(rows as WorkflowSummaryRow[], p.limit);
}

/** jobsList's rows, a page at a time. */
export async function jobsPage(
  db: Db,
  workflowId: number,
  p: PageRequest & { status?: JobStatus | undefined },
): Promise<Page<JobListRow>> {
  await workflowsAssertVisible(db, workflowId);
  let q = db
    .selectFrom('sluice.jobs as j')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('sluice.results as r')
          .select(['r.return_code', 'r.exec_time_s'])
          .whereRef('r.job_id', '=', 'j.id')
          .whereRef('r.attempt', '=', 'j.attempt')
          .orderBy('r.id', 'desc')
          .limit(1)
          .as('r'),
      (join) => join.onTrue(),
    )
    .select([
      'j.id',
      'j.name',
      'j.status',
      'j.command',
      'j.worker_id',
      'j.attempt',
      'j.attempt_id',
      'r.return_code',
      'r.exec_time_s',
    ])
    .where('j.workflow_id', '=', workflowId)
    .where('j.id', '>', p.after);
  if (p.status) q = q.where('j.status', '=', p.status);
  const rows = (await q
    .orderBy('j.id')
    .limit(p.limit + 1)
    .execute()) as JobListRow[];
  return pageOf(rows, p.limit);
}

/** resultsList's rows, a page at a time. */
export async function resultsPage(db: Db, workflowId: number, p: PageRequest): Promise<Page<ResultRow>> {
  await workflowsAssertVisible(db, workflowId);
  const rows = await db
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
    .where('r.workflow_id', '=', workflowId)
    .where('r.id', '>', p.after)
    .orderBy('r.id')
    .limit(p.limit + 1)
    .execute();
  return pageOf(rows, p.limit);
}

export async function eventsPage(db: Db, workflowId: number, p: PageRequest): Promise<Page<EventRow>> {
  await workflowsAssertVisible(db, workflowId);
  return pageOf(await eventsList(db, workflowId, p.after, p.limit + 1), p.limit);
}
