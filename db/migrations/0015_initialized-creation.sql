-- Up Migration

-- Creation that initializes (issue 11, figure 5). `run`, `submit` and `workflows create
-- --initialize` create a workflow and start its first run in one transaction. Its jobs are then
-- inserted waiting already (ready without dependencies, else blocked, as a first run sets them:
-- no dependency of a new job is done), so the run's start has no job to move. Moving 100k
-- uninitialized jobs was a second version of every row, each through every index (status is in
-- partial-index predicates, so no update of it is HOT), and both status triggers over 100k-row
-- transition tables: 1.8 s of a 100k-job create + initialize, more than the jobs' INSERT.
--
-- workflows_start_run as in 0011, except that it does not look for uninitialized jobs when the
-- per-status counts say there are none, and a first run's event counts every job (all of them
-- start the run, moved now or inserted waiting).
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
  -- None at all (a creation that initialized: workflows_create's initialize inserts its jobs
  -- waiting already): nothing to move, and no pass over the jobs to find that out.
  IF (SELECT coalesce(sum(c.jobs), 0) FROM sluice.workflow_job_counts c
       WHERE c.workflow_id = p_workflow_id AND c.status = 'uninitialized') = 0 THEN
    v_moved := 0;
  ELSIF NOT EXISTS (SELECT 1 FROM sluice.workflow_job_counts c
                     WHERE c.workflow_id = p_workflow_id AND c.status <> 'uninitialized' AND c.jobs <> 0) THEN
    UPDATE sluice.jobs j
       SET unfinished_deps = c.n,
           status = CASE WHEN c.n = 0 THEN 'ready'::sluice.job_status ELSE 'blocked'::sluice.job_status END,
           became_ready = c.n = 0
      FROM (SELECT j2.id, count(d.job_id)::int AS n
              FROM sluice.jobs j2
              LEFT JOIN sluice.job_dependencies d ON d.job_id = j2.id
             WHERE j2.workflow_id = p_workflow_id AND j2.status = 'uninitialized'
             GROUP BY j2.id) c
     WHERE j.id = c.id;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
  ELSE
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
  END IF;

  INSERT INTO sluice.events (workflow_id, kind, data)
  VALUES (p_workflow_id, p_kind,
          jsonb_build_object('run_id', v_wf.run_id + 1,
                             'jobs', CASE WHEN v_wf.run_id = 0 THEN v_wf.num_jobs ELSE v_moved END));
  PERFORM sluice.tables_analyze(ARRAY['jobs'], ARRAY[v_moved::bigint]);
  PERFORM pg_notify('sluice_workflow_state', p_workflow_id::text);
  RETURN v_wf.run_id + 1;
END $$;

-- Down Migration

-- workflows_start_run as in 0011:
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
  IF NOT EXISTS (SELECT 1 FROM sluice.workflow_job_counts c
                  WHERE c.workflow_id = p_workflow_id AND c.status <> 'uninitialized' AND c.jobs <> 0) THEN
    UPDATE sluice.jobs j
       SET unfinished_deps = c.n,
           status = CASE WHEN c.n = 0 THEN 'ready'::sluice.job_status ELSE 'blocked'::sluice.job_status END,
           became_ready = c.n = 0
      FROM (SELECT j2.id, count(d.job_id)::int AS n
              FROM sluice.jobs j2
              LEFT JOIN sluice.job_dependencies d ON d.job_id = j2.id
             WHERE j2.workflow_id = p_workflow_id AND j2.status = 'uninitialized'
             GROUP BY j2.id) c
     WHERE j.id = c.id;
  ELSE
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
  END IF;
  GET DIAGNOSTICS v_moved = ROW_COUNT;

  INSERT INTO sluice.events (workflow_id, kind, data)
  VALUES (p_workflow_id, p_kind, jsonb_build_object('run_id', v_wf.run_id + 1, 'jobs', v_moved));
  PERFORM sluice.tables_analyze(ARRAY['jobs'], ARRAY[v_moved::bigint]);
  PERFORM pg_notify('sluice_workflow_state', p_workflow_id::text);
  RETURN v_wf.run_id + 1;
END $$;
