import type { Db } from './row-types.js';

export function eventsList(db: Db, workflowId: number, afterId = 0, limit = 10000) {
  return db
    .selectFrom('sluice.events')
    .select(['id', 'kind', 'created_at', 'job_id', 'worker_id', 'action_id', 'data'])
    .where('workflow_id', '=', workflowId)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}
