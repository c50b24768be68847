import type pg from 'pg';
import { expect } from 'vitest';

export type Query = <T extends pg.QueryResultRow = Record<string, unknown>>(
  text: string,
  params?: unknown[],
) => Promise<T[]>;

interface Check {
  name: string;
  /** each row returned is one violation, described by its columns */
  sql: string;
}

// Every stored counter is recomputed from the rows it counts; every rule about who may hold a
// job is checked against the workers table. $1 is the workflow id.
const CHECKS: Check[] = [
  {
    name: 'workflows.num_jobs / unfinished_jobs equal the job rows',
    sql: `SELECT w.num_jobs, w.unfinished_jobs, c.n AS actual_jobs, c.unfinished AS actual_unfinished
            FROM sluice.workflows w,
                 LATERAL (SELECT count(*)::int AS n,
                                 count(*) FILTER (WHERE NOT sluice.job_status_is_done(j.status))::int AS unfinished
                            FROM sluice.jobs j WHERE j.workflow_id = w.id) c
           WHERE w.id = $1 AND (w.num_jobs <> c.n OR w.unfinished_jobs <> c.unfinished)`,
  },
  {
    name: 'jobs.unfinished_deps equals the dependencies not done (waiting jobs: blocked, ready)',
    sql: `SELECT j.id, j.name, j.status, j.unfinished_deps, c.n AS actual
            FROM sluice.jobs j,
                 LATERAL (SELECT count(*) FILTER (WHERE NOT sluice.job_status_is_done(d2.status))::int AS n
                            FROM sluice.job_dependencies d JOIN sluice.jobs d2 ON d2.id = d.depends_on_job_id
                           WHERE d.job_id = j.id) c
           WHERE j.workflow_id = $1 AND j.status IN ('blocked', 'ready') AND j.unfinished_deps <> c.n`,
  },
  {
    name: 'workflow_job_counts: jobs per status equal the jobs rows',
    sql: `SELECT coalesce(a.status, c.status) AS status, a.n AS actual, c.n AS counted
            FROM (SELECT status, count(*)::int AS n FROM sluice.jobs WHERE workflow_id = $1 GROUP BY status) a
            FULL JOIN (SELECT status, sum(jobs)::int AS n FROM sluice.workflow_job_counts
                        WHERE workflow_id = $1 GROUP BY status HAVING sum(jobs) <> 0) c ON c.status = a.status
           WHERE a.n IS DISTINCT FROM c.n`,
  },
  {
    name: 'no blocked job whose dependencies are all done (it would wait forever)',
    sql: `SELECT j.id, j.name, j.unfinished_deps FROM sluice.jobs j
           WHERE j.workflow_id = $1 AND j.status = 'blocked'
             AND NOT EXISTS (SELECT 1 FROM sluice.job_dependencies d JOIN sluice.jobs d2 ON d2.id = d.depends_on_job_id
                              WHERE d.job_id = j.id AND NOT sluice.job_status_is_done(d2.status))`,
  },
  {
    name: 'no dependency on a job that does not exist',
    sql: `SELECT d.job_id, d.depends_on_job_id FROM sluice.job_dependencies d JOIN sluice.jobs j ON j.id = d.job_id
           WHERE j.workflow_id = $1 AND NOT EXISTS (SELECT 1 FROM sluice.jobs x WHERE x.id = d.depends_on_job_id)`,
  },
  {
    name: 'workflow_actions.trigger_count equals its selected jobs (terminal / became_ready)',
    sql: `SELECT a.id, a.trigger_type, a.trigger_count, c.n AS actual
            FROM sluice.workflow_actions a,
                 LATERAL (SELECT count(*) FILTER (WHERE CASE WHEN a.trigger_type = 'on_jobs_complete'
                                                             THEN sluice.job_status_is_terminal(j.status)
                                                             ELSE j.became_ready END)::int AS n
                            FROM sluice.workflow_action_jobs m JOIN sluice.jobs j ON j.id = m.job_id
                           WHERE m.action_id = a.id) c
           WHERE a.workflow_id = $1 AND a.trigger_type IN ('on_jobs_complete', 'on_jobs_ready')
             AND a.trigger_count <> c.n`,
  },
  {
    name: 'a job-triggered action requires no more triggers than it has selected jobs',
    sql: `SELECT a.id, a.trigger_type, a.required_triggers, c.n AS selected
            FROM sluice.workflow_actions a,
                 LATERAL (SELECT count(*)::int AS n FROM sluice.workflow_action_jobs m WHERE m.action_id = a.id) c
           WHERE a.workflow_id = $1 AND a.trigger_type IN ('on_jobs_complete', 'on_jobs_ready')
             AND a.required_triggers > c.n`,
  },
  {
    name: "no job pending/running on a worker that is not 'running'",
    sql: `SELECT j.id, j.name, j.status, j.worker_id, k.status AS worker_status
            FROM sluice.jobs j LEFT JOIN sluice.workers k ON k.id = j.worker_id
           WHERE j.workflow_id = $1 AND sluice.job_status_is_active(j.status)
             AND k.status IS DISTINCT FROM 'running'`,
  },
  {
    name: 'at most one result row per (job_id, attempt)',
    sql: `SELECT job_id, attempt, count(*)::int AS n, array_agg(status::text ORDER BY id) AS statuses
            FROM sluice.results WHERE workflow_id = $1 GROUP BY job_id, attempt HAVING count(*) > 1`,
  },
  {
    name: 'at most one workflow_completed event per run, exactly one for a completed current run',
    sql: `SELECT r.run_id, count(e.id)::int AS events
            FROM (SELECT DISTINCT (data->>'run_id')::int AS run_id FROM sluice.events
                   WHERE workflow_id = $1 AND kind = 'workflow_completed'
                  UNION
                  SELECT run_id FROM sluice.workflows
                   WHERE id = $1 AND run_id > 0 AND unfinished_jobs = 0 AND canceled_at IS NULL) r
            LEFT JOIN sluice.events e ON e.workflow_id = $1 AND e.kind = 'workflow_completed'
                                     AND (e.data->>'run_id')::int = r.run_id
           GROUP BY r.run_id HAVING count(e.id) <> 1`,
  },
  {
    name: 'a non-persistent action runs at most once per workflow run',
    sql: `SELECT r.action_id, r.run_id, count(*)::int AS runs
            FROM sluice.action_runs r JOIN sluice.workflow_actions a ON a.id = r.action_id
           WHERE r.workflow_id = $1 AND NOT a.persistent GROUP BY r.action_id, r.run_id HAVING count(*) > 1`,
  },
  {
    name: "no action run 'running' for a worker that is not 'running'",
    sql: `SELECT r.id, r.action_id, r.worker_id, k.status AS worker_status
            FROM sluice.action_runs r JOIN sluice.workers k ON k.id = r.worker_id
           WHERE r.workflow_id = $1 AND r.status = 'running' AND k.status <> 'running'`,
  },
];

/** Every invariant violated by the workflow, one line each: an empty list means all hold. */
export async function invariantViolations(query: Query, workflowId: number): Promise<string[]> {
  const out: string[] = [];
  for (const c of CHECKS) {
    const rows = await query(c.sql, [workflowId]);
    for (const r of rows.slice(0, 5)) out.push(`${c.name}: ${JSON.stringify(r)}`);
    if (rows.length > 5) out.push(`${c.name}: ... and ${rows.length - 5} more`);
  }
  return out;
}

/** Job counts by status, for messages. */
export async function statusCounts(query: Query, workflowId: number): Promise<Record<string, number>> {
  const rows = await query<{ status: string; n: number }>(
    'SELECT status::text, count(*)::int AS n FROM sluice.jobs WHERE workflow_id = $1 GROUP BY status ORDER BY status',
    [workflowId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Whether the workflow's counters say it is complete (run started, nothing unfinished, not canceled). */
export async function isComplete(query: Query, workflowId: number): Promise<boolean> {
  const rows = await query<{ ok: boolean }>(
    `SELECT (run_id > 0 AND unfinished_jobs = 0 AND canceled_at IS NULL) AS ok FROM sluice.workflows WHERE id = $1`,
    [workflowId],
  );
  return rows[0]?.ok === true;
}

/** Fails the test with every violated invariant, one a line. */
export async function expectInvariants(query: Query, workflowId: number, context = ''): Promise<void> {
  const v = await invariantViolations(query, workflowId);
  expect(v, `${context ? `${context}: ` : ''}invariants violated:\n${v.join('\n')}\n`).toEqual([]);
}
