-- Up Migration

-- Completions of one workflow no longer run one at a time (issue 11, figure 1). jobs_complete
-- took the workflow row lock (FOR NO KEY UPDATE) first and held it through commit, so with 2 and
-- 4 workers every batch queued behind the previous one's whole transaction. A batch that
-- reports only completed executions needs exclusion against the lifecycle functions (reset,
-- cancel, reinitialize, reap, requeue: what changes runs or moves jobs back), not against other
-- completions. That exclusion is now a transaction-level advisory lock per workflow, taken
-- exclusive by sluice.workflows_lock (before its row lock) and shared by such a batch, which
-- takes only a key share lock on the workflow row (sluice.workflows_lock_shared).
--
-- Workflow completion stays exactly-once by the same rule as before: every transaction that
-- moves a job to or from done updates workflows.unfinished_jobs (tg_jobs__status_change), and
-- that row lock serializes them; the second sees the first's committed count (READ COMMITTED
-- re-reads an updated row), so exactly one sees 0, records workflow_completed and arms the
-- on_workflow_complete actions (tg_workflows__10_arm_complete_actions). The row is now locked
-- only from that update (the end of the batch's job update) to commit.
--
-- Lock order: advisory lock, then (exclusive side) the workflow row, then jobs in id order;
-- a shared batch: advisory lock, its own jobs in id order, waiting dependents in id order (the
-- trigger locks them itself, as sluice.locked_workflow is not set), job-triggered actions in id
-- order, the workflow row last. An exclusive holder waits at the advisory lock before taking
-- anything, and a shared batch never waits for an exclusive holder after its advisory lock, so
-- the two cannot wait for each other.
--
-- Batches reporting any failed, canceled or terminated execution keep the exclusive lock: they
-- decide retries and cascade cancellations, whose walk updates dependents by tuple id and
-- relies on no other writer of waiting jobs running meanwhile.
--
-- The advisory key: class 0x534C ('SL'), the workflow id modulo 2^31 (two workflows sharing a
-- key only exclude each other more than needed). The two-key form does not meet
-- node-pg-migrate's one-key lock.

CREATE OR REPLACE FUNCTION sluice.workflows_lock(p_workflow_id bigint) RETURNS sluice.workflows
  LANGUAGE plpgsql AS $$
DECLARE
  v_row sluice.workflows;
BEGIN
  -- First: waits for the shared completions of this workflow to commit (see 0013).
  PERFORM pg_advisory_xact_lock(21324, (p_workflow_id % 2147483648)::integer);
  SELECT * INTO v_row FROM sluice.workflows WHERE id = p_workflow_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'workflow % does not exist', p_workflow_id
      USING ERRCODE = 'no_data_found', HINT = 'WORKFLOW_NOT_FOUND';
  END IF;
  -- Until the transaction ends (a rolled-back subtransaction drops the lock and this together):
  -- tg_jobs__status_change need not lock this workflow's jobs again.
  PERFORM set_config('sluice.locked_workflow', p_workflow_id::text, true);
  RETURN v_row;
END $$;

-- Shared exclusion against sluice.workflows_lock: no update lock, and sluice.locked_workflow is not
-- set (other completions may change waiting jobs meanwhile, so the status trigger locks them).
-- run_id cannot change while it is held (a new run takes workflows_lock).
CREATE FUNCTION sluice.workflows_lock_shared(p_workflow_id bigint) RETURNS sluice.workflows
  LANGUAGE plpgsql AS $$
DECLARE
  v_row sluice.workflows;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(21324, (p_workflow_id % 2147483648)::integer);
  -- Key share (the events' foreign key takes it anyway): a DELETE of the workflow waits for the
  -- batch here, as it waited for the row lock before, rather than between its job locks and
  -- that foreign key check (where the two would deadlock). Other batches and the counter update
  -- in tg_jobs__status_change (no key update) are not held up by it.
  SELECT * INTO v_row FROM sluice.workflows WHERE id = p_workflow_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'workflow % does not exist', p_workflow_id
      USING ERRCODE = 'no_data_found', HINT = 'WORKFLOW_NOT_FOUND';
  END IF;
  RETURN v_row;
END $$;


-- Records finished executions in one transaction (semantics as in 0001; see there): one result
-- per execution, the job's status when it is still this worker's running execution, retries
-- decided here. Inputs are matched to their jobs once, by position, and every later statement
-- reads the per-position arrays that match builds, never joining the batch to the jobs again.
-- Returns the ids whose execution now has a result.
CREATE OR REPLACE FUNCTION sluice.jobs_complete(
  p_worker_id bigint, p_job_ids bigint[], p_attempts integer[], p_statuses sluice.job_status[],
  p_return_codes integer[], p_started_at timestamptz[], p_completed_at timestamptz[],
  p_messages text[], p_stdout_paths text[], p_stderr_paths text[],
  p_retryable boolean[] DEFAULT '{}',
  p_peak_memory bigint[] DEFAULT '{}', p_avg_memory bigint[] DEFAULT '{}',
  p_peak_cpu double precision[] DEFAULT '{}', p_avg_cpu double precision[] DEFAULT '{}',
  p_sample_job_ids bigint[] DEFAULT '{}', p_sample_attempts integer[] DEFAULT '{}',
  p_sampled_at timestamptz[] DEFAULT '{}', p_sample_memory bigint[] DEFAULT '{}',
  p_sample_cpu double precision[] DEFAULT '{}', p_sample_processes integer[] DEFAULT '{}')
  RETURNS SETOF bigint
  LANGUAGE plpgsql AS $$
DECLARE
  v_worker sluice.workers;
  v_wf sluice.workflows;
  -- Per input position (NULL where this worker no longer holds that execution):
  v_attempt_ids integer[];  -- the job's attempt_id
  v_tids tid[];             -- the locked row
  v_active boolean[];       -- still pending or running (not canceled or ended meanwhile)
  v_handlers bigint[];      -- its failure handler
  v_held integer;
  v_retry bigint[];
  v_scripts text[];
  v_recorded integer;
  v_status sluice.job_status;
BEGIN
  -- Key-share locked: the results below name this worker, and no foreign key holds it any more.
  SELECT * INTO v_worker FROM sluice.workers WHERE id = p_worker_id FOR KEY SHARE;
  IF NOT FOUND OR coalesce(cardinality(p_job_ids), 0) = 0 THEN
    RETURN;
  END IF;
  -- Only completed executions: shared (see the top of 0013); anything else may retry or cascade.
  IF p_statuses <@ ARRAY['completed']::sluice.job_status[] THEN
    v_wf := sluice.workflows_lock_shared(v_worker.workflow_id);
  ELSE
    v_wf := sluice.workflows_lock(v_worker.workflow_id);
  END IF;

  -- The executions this worker still holds, locked in job id order (the lifecycle functions'
  -- order), one primary-key lookup per input.
  SELECT array_agg(h.attempt_id ORDER BY i.n), array_agg(h.tid ORDER BY i.n), array_agg(h.active ORDER BY i.n),
         array_agg(h.failure_handler_id ORDER BY i.n), count(h.tid)
    INTO v_attempt_ids, v_tids, v_active, v_handlers, v_held
    FROM (SELECT u.job_id, u.attempt, u.n FROM unnest(p_job_ids, p_attempts) WITH ORDINALITY AS u(job_id, attempt, n)
           ORDER BY u.job_id, u.n) i
    LEFT JOIN LATERAL (
      SELECT j.ctid AS tid, j.attempt_id, sluice.job_status_is_active(j.status) AS active, j.failure_handler_id
        FROM sluice.jobs j
       WHERE j.id = i.job_id AND j.worker_id = p_worker_id AND j.attempt = i.attempt
      OFFSET 0
         FOR NO KEY UPDATE) h ON true;

  IF v_held > 0 THEN
    -- Most batches fail nothing: the handler rules are read only for failed executions.
    IF 'failed' = ANY (p_statuses) THEN
      SELECT array_agg(d.job_id ORDER BY d.job_id), array_agg(d.recovery_script ORDER BY d.job_id)
        INTO v_retry, v_scripts
        FROM (SELECT i.job_id, r.recovery_script
                FROM unnest(p_job_ids, p_statuses, p_return_codes, p_retryable, v_active, v_handlers, v_attempt_ids)
                     AS i(job_id, status, return_code, retryable, active, handler_id, attempt_id)
                CROSS JOIN LATERAL (
                  SELECT r.recovery_script, r.max_retries FROM sluice.failure_handler_rules r
                   WHERE r.handler_id = i.handler_id
                     AND (i.return_code = ANY (r.exit_codes) OR r.exit_codes IS NULL)
                   ORDER BY r.exit_codes IS NULL, r.position
                   LIMIT 1) r
               WHERE i.status = 'failed' AND i.retryable AND i.return_code IS NOT NULL AND i.active
                 AND i.handler_id IS NOT NULL AND i.attempt_id < r.max_retries) d;
    END IF;

    WITH recorded AS (
      INSERT INTO sluice.results (workflow_id, job_id, worker_id, run_id, attempt, attempt_id, status, return_code,
                                  started_at, completed_at, message, stdout_path, stderr_path,
                                  peak_memory_bytes, avg_memory_bytes, peak_cpu_percent, avg_cpu_percent)
      SELECT v_worker.workflow_id, i.job_id, p_worker_id, v_wf.run_id, i.attempt, i.attempt_id, i.status,
             i.return_code, i.started_at, i.completed_at, i.message, i.stdout_path, i.stderr_path,
             i.peak_memory, i.avg_memory, i.peak_cpu, i.avg_cpu
        FROM unnest(p_job_ids, p_attempts, p_statuses, p_return_codes, p_started_at, p_completed_at,
                    p_messages, p_stdout_paths, p_stderr_paths, p_peak_memory, p_avg_memory, p_peak_cpu, p_avg_cpu,
                    v_attempt_ids)
             AS i(job_id, attempt, status, return_code, started_at, completed_at, message, stdout_path,
                  stderr_path, peak_memory, avg_memory, peak_cpu, avg_cpu, attempt_id)
       WHERE i.attempt_id IS NOT NULL
      ON CONFLICT ON CONSTRAINT results_job_attempt_key DO NOTHING
      RETURNING job_id, attempt, attempt_id, status, return_code
    ), logged AS (
      INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
      SELECT v_worker.workflow_id, 'job_finished', job_id, p_worker_id,
             jsonb_build_object('status', status, 'return_code', return_code, 'attempt', attempt,
                                'attempt_id', attempt_id)
        FROM recorded
    )
    SELECT count(*) INTO v_recorded FROM recorded;

    IF cardinality(p_sample_job_ids) > 0 THEN
      INSERT INTO sluice.job_samples (workflow_id, job_id, attempt, sampled_at, memory_bytes, cpu_percent, processes)
      SELECT v_worker.workflow_id, s.job_id, s.attempt, s.sampled_at, s.memory, s.cpu, s.processes
        FROM unnest(p_sample_job_ids, p_sample_attempts, p_sampled_at, p_sample_memory, p_sample_cpu,
                    p_sample_processes) AS s(job_id, attempt, sampled_at, memory, cpu, processes)
       WHERE s.job_id IN (SELECT i.job_id FROM unnest(p_job_ids, v_tids) AS i(job_id, tid) WHERE i.tid IS NOT NULL);
    END IF;

    -- By tuple id (the rows were locked above and nothing has changed them since), one statement
    -- per status the batch reports (usually one): a scan of the listed tuples, whatever the
    -- estimates, where a join of the batch to the jobs could read the table.
    FOR v_status IN SELECT DISTINCT x.status FROM unnest(p_statuses, v_active) AS x(status, active) WHERE x.active LOOP
      UPDATE sluice.jobs j SET status = v_status, pending_recovery = NULL, retry_return_code = NULL
       WHERE j.ctid = ANY (ARRAY(SELECT x.tid FROM unnest(v_tids, p_statuses, v_active) AS x(tid, status, active)
                                  WHERE x.active AND x.status = v_status))
         AND sluice.job_status_is_active(j.status) AND NOT j.id = ANY (coalesce(v_retry, '{}'));
    END LOOP;

    IF v_retry IS NOT NULL THEN
      WITH retried AS (
        UPDATE sluice.jobs j
           SET status = 'ready', attempt_id = j.attempt_id + 1, pending_recovery = r.script,
               retry_return_code = i.return_code, claimed_at = NULL, started_at = NULL
          FROM unnest(v_retry, v_scripts) AS r(job_id, script),
               unnest(p_job_ids, p_return_codes) AS i(job_id, return_code)
         WHERE j.id = r.job_id AND i.job_id = r.job_id
        RETURNING j.id, j.attempt_id, i.return_code
      )
      INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
      SELECT v_worker.workflow_id, 'job_retried', id, p_worker_id,
             jsonb_build_object('attempt_id', attempt_id, 'return_code', return_code)
        FROM retried;
    END IF;
  END IF;

  -- Every input was recorded just now (the usual case): no need to look the results up again.
  IF v_recorded = cardinality(p_job_ids) THEN
    RETURN QUERY SELECT unnest(p_job_ids);
    RETURN;
  END IF;
  RETURN QUERY
  SELECT i.job_id FROM unnest(p_job_ids, p_attempts) AS i(job_id, attempt)
   CROSS JOIN LATERAL (SELECT 1 FROM sluice.results r WHERE r.job_id = i.job_id AND r.attempt = i.attempt OFFSET 0) r;
END $$;

-- Down Migration

CREATE OR REPLACE FUNCTION sluice.workflows_lock(p_workflow_id bigint) RETURNS sluice.workflows
  LANGUAGE plpgsql AS $$
DECLARE
  v_row sluice.workflows;
BEGIN
  SELECT * INTO v_row FROM sluice.workflows WHERE id = p_workflow_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'workflow % does not exist', p_workflow_id
      USING ERRCODE = 'no_data_found', HINT = 'WORKFLOW_NOT_FOUND';
  END IF;
  -- Until the transaction ends (a rolled-back subtransaction drops the lock and this together):
  -- tg_jobs__status_change need not lock this workflow's jobs again.
  PERFORM set_config('sluice.locked_workflow', p_workflow_id::text, true);
  RETURN v_row;
END $$;

-- Moves uninitialized jobs to blocked, ready or (a dependency already ended unsuccessfully and
-- the job has cancel_on_blocking_job_failure) canceled, recounting their dependencies from the
-- dependency rows. Starts a new run. Used by initialize and reinitialize.


-- Records finished executions in one transaction (semantics as in 0001; see there): one result
-- per execution, the job's status when it is still this worker's running execution, retries
-- decided here. Inputs are matched to their jobs once, by position, and every later statement
-- reads the per-position arrays that match builds, never joining the batch to the jobs again.
-- Returns the ids whose execution now has a result.
CREATE OR REPLACE FUNCTION sluice.jobs_complete(
  p_worker_id bigint, p_job_ids bigint[], p_attempts integer[], p_statuses sluice.job_status[],
  p_return_codes integer[], p_started_at timestamptz[], p_completed_at timestamptz[],
  p_messages text[], p_stdout_paths text[], p_stderr_paths text[],
  p_retryable boolean[] DEFAULT '{}',
  p_peak_memory bigint[] DEFAULT '{}', p_avg_memory bigint[] DEFAULT '{}',
  p_peak_cpu double precision[] DEFAULT '{}', p_avg_cpu double precision[] DEFAULT '{}',
  p_sample_job_ids bigint[] DEFAULT '{}', p_sample_attempts integer[] DEFAULT '{}',
  p_sampled_at timestamptz[] DEFAULT '{}', p_sample_memory bigint[] DEFAULT '{}',
  p_sample_cpu double precision[] DEFAULT '{}', p_sample_processes integer[] DEFAULT '{}')
  RETURNS SETOF bigint
  LANGUAGE plpgsql AS $$
DECLARE
  v_worker sluice.workers;
  v_wf sluice.workflows;
  -- Per input position (NULL where this worker no longer holds that execution):
  v_attempt_ids integer[];  -- the job's attempt_id
  v_tids tid[];             -- the locked row
  v_active boolean[];       -- still pending or running (not canceled or ended meanwhile)
  v_handlers bigint[];      -- its failure handler
  v_held integer;
  v_retry bigint[];
  v_scripts text[];
  v_recorded integer;
  v_status sluice.job_status;
BEGIN
  -- Key-share locked: the results below name this worker, and no foreign key holds it any more.
  SELECT * INTO v_worker FROM sluice.workers WHERE id = p_worker_id FOR KEY SHARE;
  IF NOT FOUND OR coalesce(cardinality(p_job_ids), 0) = 0 THEN
    RETURN;
  END IF;
  v_wf := sluice.workflows_lock(v_worker.workflow_id);

  -- The executions this worker still holds, locked in job id order (the lifecycle functions'
  -- order), one primary-key lookup per input.
  SELECT array_agg(h.attempt_id ORDER BY i.n), array_agg(h.tid ORDER BY i.n), array_agg(h.active ORDER BY i.n),
         array_agg(h.failure_handler_id ORDER BY i.n), count(h.tid)
    INTO v_attempt_ids, v_tids, v_active, v_handlers, v_held
    FROM (SELECT u.job_id, u.attempt, u.n FROM unnest(p_job_ids, p_attempts) WITH ORDINALITY AS u(job_id, attempt, n)
           ORDER BY u.job_id, u.n) i
    LEFT JOIN LATERAL (
      SELECT j.ctid AS tid, j.attempt_id, sluice.job_status_is_active(j.status) AS active, j.failure_handler_id
        FROM sluice.jobs j
       WHERE j.id = i.job_id AND j.worker_id = p_worker_id AND j.attempt = i.attempt
      OFFSET 0
         FOR NO KEY UPDATE) h ON true;

  IF v_held > 0 THEN
    -- Most batches fail nothing: the handler rules are read only for failed executions.
    IF 'failed' = ANY (p_statuses) THEN
      SELECT array_agg(d.job_id ORDER BY d.job_id), array_agg(d.recovery_script ORDER BY d.job_id)
        INTO v_retry, v_scripts
        FROM (SELECT i.job_id, r.recovery_script
                FROM unnest(p_job_ids, p_statuses, p_return_codes, p_retryable, v_active, v_handlers, v_attempt_ids)
                     AS i(job_id, status, return_code, retryable, active, handler_id, attempt_id)
                CROSS JOIN LATERAL (
                  SELECT r.recovery_script, r.max_retries FROM sluice.failure_handler_rules r
                   WHERE r.handler_id = i.handler_id
                     AND (i.return_code = ANY (r.exit_codes) OR r.exit_codes IS NULL)
                   ORDER BY r.exit_codes IS NULL, r.position
                   LIMIT 1) r
               WHERE i.status = 'failed' AND i.retryable AND i.return_code IS NOT NULL AND i.active
                 AND i.handler_id IS NOT NULL AND i.attempt_id < r.max_retries) d;
    END IF;

    WITH recorded AS (
      INSERT INTO sluice.results (workflow_id, job_id, worker_id, run_id, attempt, attempt_id, status, return_code,
                                  started_at, completed_at, message, stdout_path, stderr_path,
                                  peak_memory_bytes, avg_memory_bytes, peak_cpu_percent, avg_cpu_percent)
      SELECT v_worker.workflow_id, i.job_id, p_worker_id, v_wf.run_id, i.attempt, i.attempt_id, i.status,
             i.return_code, i.started_at, i.completed_at, i.message, i.stdout_path, i.stderr_path,
             i.peak_memory, i.avg_memory, i.peak_cpu, i.avg_cpu
        FROM unnest(p_job_ids, p_attempts, p_statuses, p_return_codes, p_started_at, p_completed_at,
                    p_messages, p_stdout_paths, p_stderr_paths, p_peak_memory, p_avg_memory, p_peak_cpu, p_avg_cpu,
                    v_attempt_ids)
             AS i(job_id, attempt, status, return_code, started_at, completed_at, message, stdout_path,
                  stderr_path, peak_memory, avg_memory, peak_cpu, avg_cpu, attempt_id)
       WHERE i.attempt_id IS NOT NULL
      ON CONFLICT ON CONSTRAINT results_job_attempt_key DO NOTHING
      RETURNING job_id, attempt, attempt_id, status, return_code
    ), logged AS (
      INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
      SELECT v_worker.workflow_id, 'job_finished', job_id, p_worker_id,
             jsonb_build_object('status', status, 'return_code', return_code, 'attempt', attempt,
                                'attempt_id', attempt_id)
        FROM recorded
    )
    SELECT count(*) INTO v_recorded FROM recorded;

    IF cardinality(p_sample_job_ids) > 0 THEN
      INSERT INTO sluice.job_samples (workflow_id, job_id, attempt, sampled_at, memory_bytes, cpu_percent, processes)
      SELECT v_worker.workflow_id, s.job_id, s.attempt, s.sampled_at, s.memory, s.cpu, s.processes
        FROM unnest(p_sample_job_ids, p_sample_attempts, p_sampled_at, p_sample_memory, p_sample_cpu,
                    p_sample_processes) AS s(job_id, attempt, sampled_at, memory, cpu, processes)
       WHERE s.job_id IN (SELECT i.job_id FROM unnest(p_job_ids, v_tids) AS i(job_id, tid) WHERE i.tid IS NOT NULL);
    END IF;

    -- By tuple id (the rows were locked above and nothing has changed them since), one statement
    -- per status the batch reports (usually one): a scan of the listed tuples, whatever the
    -- estimates, where a join of the batch to the jobs could read the table.
    FOR v_status IN SELECT DISTINCT x.status FROM unnest(p_statuses, v_active) AS x(status, active) WHERE x.active LOOP
      UPDATE sluice.jobs j SET status = v_status, pending_recovery = NULL, retry_return_code = NULL
       WHERE j.ctid = ANY (ARRAY(SELECT x.tid FROM unnest(v_tids, p_statuses, v_active) AS x(tid, status, active)
                                  WHERE x.active AND x.status = v_status))
         AND sluice.job_status_is_active(j.status) AND NOT j.id = ANY (coalesce(v_retry, '{}'));
    END LOOP;

    IF v_retry IS NOT NULL THEN
      WITH retried AS (
        UPDATE sluice.jobs j
           SET status = 'ready', attempt_id = j.attempt_id + 1, pending_recovery = r.script,
               retry_return_code = i.return_code, claimed_at = NULL, started_at = NULL
          FROM unnest(v_retry, v_scripts) AS r(job_id, script),
               unnest(p_job_ids, p_return_codes) AS i(job_id, return_code)
         WHERE j.id = r.job_id AND i.job_id = r.job_id
        RETURNING j.id, j.attempt_id, i.return_code
      )
      INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
      SELECT v_worker.workflow_id, 'job_retried', id, p_worker_id,
             jsonb_build_object('attempt_id', attempt_id, 'return_code', return_code)
        FROM retried;
    END IF;
  END IF;

  -- Every input was recorded just now (the usual case): no need to look the results up again.
  IF v_recorded = cardinality(p_job_ids) THEN
    RETURN QUERY SELECT unnest(p_job_ids);
    RETURN;
  END IF;
  RETURN QUERY
  SELECT i.job_id FROM unnest(p_job_ids, p_attempts) AS i(job_id, attempt)
   CROSS JOIN LATERAL (SELECT 1 FROM sluice.results r WHERE r.job_id = i.job_id AND r.attempt = i.attempt OFFSET 0) r;
END $$;

DROP FUNCTION sluice.workflows_lock_shared(bigint);
