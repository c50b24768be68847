// Keyset-paginated reads for the API (a page is the rows after an id, in id order). They run on
// the request's transaction as its user: row-level security decides what they see.
import {
  type Db,
  eventsList,
  type JobListRow,
  type JobStatus,
  jobsList,
  resultsList,
  SluiceError,
  type WorkflowSummaryRow,
  workflowsList,
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
  return pageOf(await workflowsList(db, { after: p.after, limit: p.limit + 1 }), p.limit);
}

/** jobsList's rows, a page at a time. */
export async function jobsPage(
  db: Db,
  workflowId: number,
  p: PageRequest & { status?: JobStatus | undefined },
): Promise<Page<JobListRow>> {
  await workflowsAssertVisible(db, workflowId);
  return pageOf(await jobsList(db, workflowId, p.status, { after: p.after, limit: p.limit + 1 }), p.limit);
}

/** resultsList's rows, a page at a time. */
export async function resultsPage(db: Db, workflowId: number, p: PageRequest): Promise<Page<ResultRow>> {
  await workflowsAssertVisible(db, workflowId);
  return pageOf(await resultsList(db, workflowId, { after: p.after, limit: p.limit + 1 }), p.limit);
}

export async function eventsPage(db: Db, workflowId: number, p: PageRequest): Promise<Page<EventRow>> {
  await workflowsAssertVisible(db, workflowId);
  return pageOf(await eventsList(db, workflowId, { after: p.after, limit: p.limit + 1 }), p.limit);
}
