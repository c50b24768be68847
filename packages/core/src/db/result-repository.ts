import type { Db } from './row-types.js';

export function resultsList(db: Db, workflowId: number) {
  return db
    .selectFrom('sluice.results as r')
    .innerJoin('sluice.jobs as j', 'j.id', 'r.job_id')
    .select([
      'r.id',
      'r.job_id',
      'j.name as job_name',
      'r.worker_id',
      'r.run_id',
      'r.attempt',
      'r.status',
      'r.return_code',
      'r.started_at',
      'r.completed_at',
      'r.exec_time_s',
      'r.message',
      'r.stdout_path',
      'r.stderr_path',
    ])
    .where('r.workflow_id', '=', workflowId)
    .orderBy('r.id')
    .execute();
}
