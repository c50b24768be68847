-- Up Migration

-- The admin views: with workflow_summary, live_workers, allocations and action_status, the
-- public SQL interface of a site (docs/admin-sql.md). Tables stay internal. Each view runs as
-- whoever queries it (security_invoker), so row-level security applies: a user sees their own
-- workflows' rows in them, a member of sluice_admin everyone's.

-- One row per workflow: owner, state, job counts, who works on it, and the plainest stall (ready
-- jobs with nobody to run them); `sluice workflows status ID` explains finer ones (jobs that fit
-- no live worker).
CREATE VIEW sluice.workflow_overview WITH (security_invoker = true) AS
SELECT s.id, s.name, s.owner_role, s."user", s.project, s.run_id,
       CASE WHEN s.is_canceled THEN 'canceled'
            WHEN s.run_id = 0 THEN 'new'
            WHEN s.is_complete THEN 'complete'
            ELSE 'active' END AS state,
       s.num_jobs, s.num_jobs - s.unfinished_jobs AS done_jobs, s.unfinished_jobs,
       s.uninitialized, s.blocked, s.ready, s.pending, s.running,
       s.completed, s.failed, s.canceled, s.terminated, s.disabled,
       s.live_workers, coalesce(k.silent, 0) AS silent_workers,
       coalesce(a.queued, 0) AS queued_allocations, coalesce(a.active, 0) AS active_allocations,
       (s.run_id > 0 AND NOT s.is_complete AND NOT s.is_canceled AND s.ready > 0
        AND s.live_workers = 0 AND coalesce(a.queued, 0) + coalesce(a.active, 0) = 0) AS needs_worker,
       e.created_at AS last_event_at,
       s.created_at, s.initialized_at, s.completed_at, s.canceled_at
  FROM sluice.workflow_summary s
  LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE n.status = 'pending') AS queued,
           count(*) FILTER (WHERE n.status = 'active') AS active
      FROM sluice.scheduled_compute_nodes n WHERE n.workflow_id = s.id) a ON true
  LEFT JOIN LATERAL (
    SELECT count(*) AS silent FROM sluice.workers w
     WHERE w.workflow_id = s.id AND w.status = 'running' AND now() - w.heartbeat_at > w.heartbeat_timeout) k ON true
  LEFT JOIN LATERAL (
    SELECT ev.created_at FROM sluice.events ev WHERE ev.workflow_id = s.id ORDER BY ev.id DESC LIMIT 1) e ON true;

COMMENT ON VIEW sluice.workflow_overview IS
  'One row per workflow: owner, state (new, active, complete, canceled), job counts by status, live and silent workers, queued and active allocations, needs_worker, last event.';
COMMENT ON COLUMN sluice.workflow_overview.needs_worker IS
  'Active with ready jobs, and no live worker nor any queued or active allocation to run them.';
COMMENT ON COLUMN sluice.workflow_overview.silent_workers IS
  'Workers still registered as running but silent past their heartbeat timeout: the next sluice command on the workflow declares them lost.';

-- Every worker, where it runs and whether it still proves it is alive.
CREATE VIEW sluice.worker_health WITH (security_invoker = true) AS
SELECT k.id, k.workflow_id, w.owner_role, k.hostname AS node, k.pid, k.os_user, k.status,
       CASE WHEN k.status <> 'running' THEN k.status::text
            WHEN now() - k.heartbeat_at > k.heartbeat_timeout THEN 'silent'
            ELSE 'ok' END AS health,
       CASE WHEN k.status = 'running' THEN now() - k.heartbeat_at END AS heartbeat_age,
       k.heartbeat_timeout, k.heartbeat_at,
       (SELECT count(*) FROM sluice.jobs j
         WHERE j.worker_id = k.id AND sluice.job_status_is_active(j.status)) AS active_jobs,
       k.num_cpus, k.memory_bytes, k.num_gpus, k.num_nodes,
       s.name AS scheduler, k.scheduled_node_id AS allocation_id, n.slurm_job_id,
       k.ends_at, k.started_at, k.stopped_at
  FROM sluice.workers k
  JOIN sluice.workflows w ON w.id = k.workflow_id
  LEFT JOIN sluice.scheduled_compute_nodes n ON n.id = k.scheduled_node_id
  LEFT JOIN sluice.slurm_schedulers s ON s.id = k.scheduler_id;

COMMENT ON VIEW sluice.worker_health IS
  'Every worker: node, pid, owner, health (ok, silent, stopped, lost), heartbeat age, active jobs, Slurm allocation.';
COMMENT ON COLUMN sluice.worker_health.health IS
  'ok: heartbeat within its timeout; silent: running but past its heartbeat timeout (about to be declared lost); stopped or lost: gone.';

-- Actions with what they wait on, and how their last run went.
CREATE VIEW sluice.action_overview WITH (security_invoker = true) AS
SELECT a.id, a.workflow_id, w.name AS workflow_name, w.owner_role, a."position", a.trigger_type, a.action_type,
       a.persistent, a.status, a.executed, a.trigger_count, a.required_triggers,
       a.job_names, a.waiting_on, cardinality(a.waiting_on) AS waiting_count,
       r.status AS last_run_status, r.node AS last_run_node, r.started_at AS last_run_started_at,
       r.finished_at AS last_run_finished_at, r.exit_code AS last_run_exit_code,
       r.message AS last_run_message, r.stdout_path AS last_run_stdout_path, r.stderr_path AS last_run_stderr_path
  FROM sluice.action_status a
  JOIN sluice.workflows w ON w.id = a.workflow_id
  LEFT JOIN LATERAL (
    SELECT ar.status, k.hostname AS node, ar.started_at, ar.finished_at, ar.exit_code, ar.message,
           ar.stdout_path, ar.stderr_path
      FROM sluice.action_runs ar LEFT JOIN sluice.workers k ON k.id = ar.worker_id
     WHERE ar.action_id = a.id ORDER BY ar.id DESC LIMIT 1) r ON true;

COMMENT ON VIEW sluice.action_overview IS
  'One row per workflow action: owner, status, progress, the jobs it still waits on, and its last run (status, node, exit code, message, log paths).';

-- Jobs that failed or were terminated in the last 7 days, with their log files.
CREATE VIEW sluice.recent_failures WITH (security_invoker = true) AS
SELECT r.id AS result_id, r.workflow_id, w.name AS workflow_name, w.owner_role, r.job_id, j.name AS job_name,
       r.run_id, r.attempt, r.attempt_id, r.status, r.return_code, r.message, r.stdout_path, r.stderr_path,
       k.hostname AS node, r.worker_id, r.started_at, r.completed_at, r.exec_time_s, r.peak_memory_bytes
  FROM sluice.results r
  JOIN sluice.workflows w ON w.id = r.workflow_id
  JOIN sluice.jobs j ON j.id = r.job_id
  LEFT JOIN sluice.workers k ON k.id = r.worker_id
 WHERE r.status IN ('failed', 'terminated') AND r.completed_at > now() - interval '7 days';

COMMENT ON VIEW sluice.recent_failures IS
  'Job executions that ended failed or terminated in the last 7 days: owner, job, node, return code, message, stdout and stderr paths.';

-- Slurm allocations counted per owner: who holds (or waits for) how many nodes.
CREATE VIEW sluice.allocations_by_owner WITH (security_invoker = true) AS
SELECT w.owner_role,
       count(DISTINCT n.workflow_id) AS workflows,
       count(*) FILTER (WHERE n.status = 'pending') AS pending,
       count(*) FILTER (WHERE n.status = 'active') AS active,
       count(*) FILTER (WHERE n.status = 'unknown') AS unknown,
       count(*) FILTER (WHERE n.status = 'complete') AS complete,
       count(*) FILTER (WHERE n.status = 'failed') AS failed,
       count(*) FILTER (WHERE n.status = 'canceled') AS canceled,
       coalesce(sum(n.num_nodes) FILTER (WHERE n.status = 'pending'), 0)::bigint AS pending_nodes,
       coalesce(sum(n.num_nodes) FILTER (WHERE n.status = 'active'), 0)::bigint AS active_nodes,
       coalesce(sum(lw.n), 0)::bigint AS live_workers,
       max(n.submitted_at) AS last_submitted_at
  FROM sluice.scheduled_compute_nodes n
  JOIN sluice.workflows w ON w.id = n.workflow_id
  LEFT JOIN LATERAL (
    SELECT count(*) AS n FROM sluice.workers k WHERE k.scheduled_node_id = n.id AND k.status = 'running') lw ON true
 GROUP BY w.owner_role;

COMMENT ON VIEW sluice.allocations_by_owner IS
  'Slurm allocations per owner role: counts by status (unknown: sbatch''s outcome was lost), pending and active nodes, live workers in them, last submission.';

GRANT SELECT ON sluice.workflow_overview, sluice.worker_health, sluice.action_overview, sluice.recent_failures,
  sluice.allocations_by_owner TO sluice_users, sluice_admin;

-- Down Migration
DROP VIEW sluice.allocations_by_owner;
DROP VIEW sluice.recent_failures;
DROP VIEW sluice.action_overview;
DROP VIEW sluice.worker_health;
DROP VIEW sluice.workflow_overview;
