-- Up Migration

-- Statistics right after bulk writes. Autovacuum may be off or late: a fresh 1M-job workflow
-- had none, and the claim planner scanned and sorted every ready row (189 ms a claim; 0.08 ms
-- after one ANALYZE). Creation and a run's start call this, in their own transaction, for the
-- tables they wrote, with how many rows they wrote (or changed): a table is analyzed when that
-- is more than autovacuum's default threshold (50 rows + 10% of the table), so small workflows
-- pay nothing. Inside the writing transaction ANALYZE sees its uncommitted rows as live.
-- SECURITY DEFINER: only a table's owner may ANALYZE it, and a site's users own none (without
-- it their ANALYZE is a warning and nothing). Only the tables listed may be named, and it can do
-- no more than ANALYZE them; a site's users and admins may run it, as the owner may.
CREATE FUNCTION sluice.tables_analyze(p_tables text[], p_rows bigint[]) RETURNS text[]
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_table text;
  v_rows bigint;
  v_tuples real;
  v_analyzed text[] := '{}';
BEGIN
  FOR v_table, v_rows IN SELECT t, n FROM unnest(p_tables, p_rows) AS u(t, n) ORDER BY t LOOP
    IF v_table NOT IN ('jobs', 'job_dependencies', 'workflow_actions', 'workflow_action_jobs', 'files',
                       'user_data', 'job_input_files', 'job_output_files', 'job_input_user_data',
                       'job_output_user_data') THEN
      RAISE EXCEPTION 'internal: % is not a table analyzed after bulk writes', v_table
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- reltuples is -1 for a table never analyzed (or vacuumed).
    SELECT greatest(c.reltuples, 0) INTO v_tuples FROM pg_class c WHERE c.oid = format('sluice.%I', v_table)::regclass;
    IF v_rows > 50 + 0.1 * v_tuples THEN
      EXECUTE format('ANALYZE sluice.%I', v_table);
      v_analyzed := v_analyzed || v_table;
    END IF;
  END LOOP;
  RETURN v_analyzed;
END $$;
REVOKE EXECUTE ON FUNCTION sluice.tables_analyze(text[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice.tables_analyze(text[], bigint[]) TO sluice_users, sluice_admin;

-- As in 0001, and then statistics for the jobs whose status the run's start changed: right
-- after `workflows initialize` the claim planner knows how many are ready.
CREATE OR REPLACE FUNCTION sluice.workflows_start_run(p_workflow_id bigint, p_kind sluice.event_kind)
  RETURNS integer
  LANGUAGE plpgsql
  SET work_mem = '64MB'
  SET jit = off
  AS $$
DECLARE
  v_wf sluice.workflows;
  v_moved integer;
BEGIN
  v_wf := sluice.workflows_lock(p_workflow_id);
  IF v_wf.canceled_at IS NOT NULL THEN
    RAISE EXCEPTION 'workflow % is canceled; reset its status first', p_workflow_id
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'WORKFLOW_CANCELED';
  END IF;

  UPDATE sluice.workflows
     SET run_id = run_id + 1, initialized_at = now(),
         completed_at = CASE WHEN unfinished_jobs = 0 THEN now() END
   WHERE id = p_workflow_id;
  -- Ephemeral user data does not survive into a new run (torc's is_ephemeral).
  IF p_kind = 'workflow_reinitialized' THEN
    UPDATE sluice.user_data SET data = NULL WHERE workflow_id = p_workflow_id AND is_ephemeral AND data IS NOT NULL;
  END IF;

  -- No separate lock pass: uninitialized jobs are touched only by holders of the workflow lock.
  UPDATE sluice.jobs j
     SET unfinished_deps = c.unfinished,
         status = CASE
           WHEN j.cancel_on_blocking_job_failure AND c.unsuccessful > 0 THEN 'canceled'::sluice.job_status
           WHEN c.unfinished = 0 THEN 'ready'::sluice.job_status
           ELSE 'blocked'::sluice.job_status END
    FROM (SELECT j2.id,
                 count(dep.id) FILTER (WHERE NOT sluice.job_status_is_done(dep.status)) AS unfinished,
                 count(dep.id) FILTER (WHERE sluice.job_status_is_unsuccessful(dep.status)) AS unsuccessful
            FROM sluice.jobs j2
            LEFT JOIN sluice.job_dependencies d ON d.job_id = j2.id
            LEFT JOIN sluice.jobs dep ON dep.id = d.depends_on_job_id
           WHERE j2.workflow_id = p_workflow_id AND j2.status = 'uninitialized'
           GROUP BY j2.id) c
   WHERE j.id = c.id;
  GET DIAGNOSTICS v_moved = ROW_COUNT;

  INSERT INTO sluice.events (workflow_id, kind, data)
  VALUES (p_workflow_id, p_kind, jsonb_build_object('run_id', v_wf.run_id + 1, 'jobs', v_moved));
  PERFORM sluice.tables_analyze(ARRAY['jobs'], ARRAY[v_moved::bigint]);
  PERFORM pg_notify('sluice_workflow_state', p_workflow_id::text);
  RETURN v_wf.run_id + 1;
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION sluice.workflows_start_run(p_workflow_id bigint, p_kind sluice.event_kind)
  RETURNS integer
  LANGUAGE plpgsql
  SET work_mem = '64MB'
  SET jit = off
  AS $$
DECLARE
  v_wf sluice.workflows;
  v_moved integer;
BEGIN
  v_wf := sluice.workflows_lock(p_workflow_id);
  IF v_wf.canceled_at IS NOT NULL THEN
    RAISE EXCEPTION 'workflow % is canceled; reset its status first', p_workflow_id
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'WORKFLOW_CANCELED';
  END IF;

  UPDATE sluice.workflows
     SET run_id = run_id + 1, initialized_at = now(),
         completed_at = CASE WHEN unfinished_jobs = 0 THEN now() END
   WHERE id = p_workflow_id;
  -- Ephemeral user data does not survive into a new run (torc's is_ephemeral).
  IF p_kind = 'workflow_reinitialized' THEN
    UPDATE sluice.user_data SET data = NULL WHERE workflow_id = p_workflow_id AND is_ephemeral AND data IS NOT NULL;
  END IF;

  -- No separate lock pass: uninitialized jobs are touched only by holders of the workflow lock.
  UPDATE sluice.jobs j
     SET unfinished_deps = c.unfinished,
         status = CASE
           WHEN j.cancel_on_blocking_job_failure AND c.unsuccessful > 0 THEN 'canceled'::sluice.job_status
           WHEN c.unfinished = 0 THEN 'ready'::sluice.job_status
           ELSE 'blocked'::sluice.job_status END
    FROM (SELECT j2.id,
                 count(dep.id) FILTER (WHERE NOT sluice.job_status_is_done(dep.status)) AS unfinished,
                 count(dep.id) FILTER (WHERE sluice.job_status_is_unsuccessful(dep.status)) AS unsuccessful
            FROM sluice.jobs j2
            LEFT JOIN sluice.job_dependencies d ON d.job_id = j2.id
            LEFT JOIN sluice.jobs dep ON dep.id = d.depends_on_job_id
           WHERE j2.workflow_id = p_workflow_id AND j2.status = 'uninitialized'
           GROUP BY j2.id) c
   WHERE j.id = c.id;
  GET DIAGNOSTICS v_moved = ROW_COUNT;

  INSERT INTO sluice.events (workflow_id, kind, data)
  VALUES (p_workflow_id, p_kind, jsonb_build_object('run_id', v_wf.run_id + 1, 'jobs', v_moved));
  PERFORM pg_notify('sluice_workflow_state', p_workflow_id::text);
  RETURN v_wf.run_id + 1;
END $$;
DROP FUNCTION sluice.tables_analyze(text[], bigint[]);
