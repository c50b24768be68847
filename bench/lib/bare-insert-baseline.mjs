// The creation baseline: the same rows as a workflow of the staged shape (jobs, their
// dependencies, actions and the jobs each watches) inserted with unnest() into tables without
// indexes, constraints or triggers, in one transaction. The floor for writing that much at all.
import pg from 'pg';

export function stagedRows(numJobs, numActions, width = 1000) {
  const ids = Array.from({ length: numJobs }, (_, i) => i + 1);
  const names = ids.map((id) => `j${id - 1}`);
  const commands = ids.map((id) => `echo ${id - 1}`);
  const depJob = [];
  const depOn = [];
  for (let i = width; i < numJobs; i++) {
    depJob.push(i + 1);
    depOn.push(i - width + 1);
    if (i < 2 * width) {
      depJob.push(i + 1);
      depOn.push(((i - width + 1) % width) + 1);
    }
  }
  const per = Math.ceil(numJobs / Math.max(1, numActions));
  const actionIds = Array.from({ length: numActions }, (_, k) => k + 1);
  const actionCommands = actionIds.map((k) => JSON.stringify([`echo action ${k - 1}`]));
  const watchAction = ids.map((id) => Math.floor((id - 1) / per) + 1);
  return { ids, names, commands, depJob, depOn, actionIds, actionCommands, watchAction };
}

/** Returns the insert's wall time in ms (tables created beforehand, not timed). */
export async function bareInsert(url, rows) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE TABLE b_jobs (id bigint, workflow_id bigint, name text, command text, status text,
                     num_cpus int, memory_bytes bigint, runtime_seconds bigint);
                   CREATE TABLE b_deps (job_id bigint, depends_on_id bigint);
                   CREATE TABLE b_actions (id bigint, workflow_id bigint, trigger_type text, commands jsonb);
                   CREATE TABLE b_action_jobs (action_id bigint, job_id bigint)`);
    const t0 = performance.now();
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO b_jobs SELECT i, 1, n, cmd, 'uninitialized', 1, 1048576, 3600
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(i, n, cmd)`,
      [rows.ids, rows.names, rows.commands],
    );
    await c.query('INSERT INTO b_deps SELECT * FROM unnest($1::bigint[], $2::bigint[])', [rows.depJob, rows.depOn]);
    if (rows.actionIds.length) {
      await c.query(
        `INSERT INTO b_actions SELECT i, 1, 'on_jobs_complete', cmd FROM unnest($1::bigint[], $2::jsonb[]) AS u(i, cmd)`,
        [rows.actionIds, rows.actionCommands],
      );
      await c.query('INSERT INTO b_action_jobs SELECT * FROM unnest($1::bigint[], $2::bigint[])', [
        rows.watchAction,
        rows.ids,
      ]);
    }
    await c.query('COMMIT');
    return performance.now() - t0;
  } finally {
    await c.end();
  }
}
