-- Up Migration

-- Per-status counters were sharded by pg_backend_pid() % 8, so two backends could share a
-- shard: a claim (ready -1, running +1, one statement) and a completion (running -1, completed
-- +1, then its dependents' blocked -1, ready +1 in a nested statement) then lock the same two
-- counter rows in opposite orders, and deadlock. Seen through PgBouncer, where two workers'
-- transactions run on backends whose pids met modulo 8. A shard per backend (the pid itself, in
-- smallint range) means no two transactions running at once ever write the same counter row;
-- readers sum a few more rows per workflow (one set per backend that ever wrote to it).
CREATE OR REPLACE FUNCTION sluice.workflow_job_counts_add(p_workflow_ids bigint[], p_statuses sluice.job_status[],
                                                          p_deltas bigint[])
  RETURNS void
  LANGUAGE sql AS $$
  INSERT INTO sluice.workflow_job_counts (workflow_id, shard, status, jobs)
  SELECT d.workflow_id, (pg_backend_pid() % 32768)::smallint, d.status, d.delta
    FROM unnest(p_workflow_ids, p_statuses, p_deltas) AS d(workflow_id, status, delta)
   WHERE d.delta <> 0
   ORDER BY d.workflow_id, d.status
  ON CONFLICT ON CONSTRAINT workflow_job_counts_pkey DO UPDATE SET jobs = workflow_job_counts.jobs + EXCLUDED.jobs
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION sluice.workflow_job_counts_add(p_workflow_ids bigint[], p_statuses sluice.job_status[],
                                                          p_deltas bigint[])
  RETURNS void
  LANGUAGE sql AS $$
  INSERT INTO sluice.workflow_job_counts (workflow_id, shard, status, jobs)
  SELECT d.workflow_id, (pg_backend_pid() % 8)::smallint, d.status, d.delta
    FROM unnest(p_workflow_ids, p_statuses, p_deltas) AS d(workflow_id, status, delta)
   WHERE d.delta <> 0
   ORDER BY d.workflow_id, d.status
  ON CONFLICT ON CONSTRAINT workflow_job_counts_pkey DO UPDATE SET jobs = workflow_job_counts.jobs + EXCLUDED.jobs
$$;
