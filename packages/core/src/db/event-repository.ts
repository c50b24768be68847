import type { Db, PageRequest } from './row-types.js';

/** Events are read in pages of at most this many rows. */
const EVENTS_PAGE = 10_000;

/** A workflow's events in id order, one page: `after` (default 0) and `limit` (default 10,000). */
export function eventsList(db: Db, workflowId: number, page: PageRequest = {}) {
  return db
    .selectFrom('sluice.events')
    .select(['id', 'kind', 'created_at', 'job_id', 'worker_id', 'action_id', 'data'])
    .where('workflow_id', '=', workflowId)
    .where('id', '>', page.after ?? 0)
    .orderBy('id')
    .limit(Math.min(page.limit ?? EVENTS_PAGE, EVENTS_PAGE))
    .execute();
}
