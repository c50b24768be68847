-- Up Migration

-- jobs_set_status deadlocked with completions (found by test/faults/admin-changes.test.ts). It
-- locked the workflows' rows, then the jobs, then (in the status trigger) their dependents. A
-- batch of completed jobs holds its workflow's lock only shared (0013): it locks its dependents,
-- then updates the workflow's counter, for which it waits on that row; jobs_set_status, holding
-- the row, waited on a dependent the batch had locked. It now takes each workflow's lock as the
-- other lifecycle functions do (sluice.workflows_lock, in workflow id order), which waits for the
-- shared completions to commit and holds new ones back until it commits.
CREATE OR REPLACE FUNCTION sluice.jobs_set_status(p_job_ids bigint[], p_status sluice.job_status) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_n integer;
  v_workflow_id bigint;
BEGIN
  IF sluice.job_status_is_active(p_status) THEN
    RAISE EXCEPTION 'jobs become % only by a worker''s claim', p_status
      USING ERRCODE = 'invalid_parameter_value', HINT = 'USAGE';
  END IF;
  FOR v_workflow_id IN
    SELECT DISTINCT workflow_id FROM sluice.jobs WHERE id = ANY (p_job_ids) ORDER BY workflow_id
  LOOP
    PERFORM sluice.workflows_lock(v_workflow_id);
  END LOOP;
  PERFORM 1 FROM sluice.jobs WHERE id = ANY (p_job_ids) ORDER BY id FOR NO KEY UPDATE;
  UPDATE sluice.jobs SET status = p_status WHERE id = ANY (p_job_ids) AND status <> p_status;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n;
END $$;

-- Down Migration

-- jobs_set_status as in 0001:
CREATE OR REPLACE FUNCTION sluice.jobs_set_status(p_job_ids bigint[], p_status sluice.job_status) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_n integer;
BEGIN
  IF sluice.job_status_is_active(p_status) THEN
    RAISE EXCEPTION 'jobs become % only by a worker''s claim', p_status
      USING ERRCODE = 'invalid_parameter_value', HINT = 'USAGE';
  END IF;
  PERFORM 1 FROM sluice.workflows
   WHERE id IN (SELECT DISTINCT workflow_id FROM sluice.jobs WHERE id = ANY (p_job_ids))
   ORDER BY id FOR NO KEY UPDATE;
  PERFORM 1 FROM sluice.jobs WHERE id = ANY (p_job_ids) ORDER BY id FOR NO KEY UPDATE;
  UPDATE sluice.jobs SET status = p_status WHERE id = ANY (p_job_ids) AND status <> p_status;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n;
END $$;
