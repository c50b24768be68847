-- Up Migration

-- The worker's hot path (figure 1): completions and claims whose cost is linear in the batch and
-- does not depend on the statistics. Right after creation the statistics say no job has a worker,
-- so a filter on worker_id is estimated at one row, and the planner read every job (or re-read the
-- whole batch once per job) to find a batch's rows: 250 ms to complete 900 jobs, more as the
-- workflow grows, under the workflow lock that every completion queues on. With several workers,
-- completions then waited longer, batches grew, and each one cost more (throughput fell from 1 to
-- 4 workers). Here every statement is driven by the batch: rows are found by primary key (a
-- LATERAL subquery kept apart by OFFSET 0 is a nested loop by construction) or by tuple id.

-- Foreign keys that a claim and a completion checked row by row (a fifth of their CPU went to
-- row-level checks), dropped where they guard nothing the lifecycle functions do not: every
-- worker_id is set by a function holding that worker's row locked (a claim, FOR SHARE; a
-- completion, FOR KEY SHARE below; a reap or stop, updating it), and a worker row is deleted only
-- with its workflow, whose cascade takes the jobs and results along. results.workflow_id's
-- cascade was a second path to rows that results_job_fkey's cascade already deletes. A worker
-- row deleted by hand still releases what pointed at it, as ON DELETE SET NULL did (a job it
-- still runs still refuses, by jobs_claimed_has_worker). Kept: the references that cascade
-- alone (events and results to their workflow and job) and every key of creation's tables.
ALTER TABLE sluice.jobs DROP CONSTRAINT jobs_worker_fkey;
ALTER TABLE sluice.results DROP CONSTRAINT results_worker_fkey, DROP CONSTRAINT results_workflow_fkey;

CREATE FUNCTION sluice.tg_workers__release_references() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  v_gone bigint[];
BEGIN
  -- Workers deleted with their workflow need nothing: their jobs and results go too.
  SELECT array_agg(o.id) INTO v_gone FROM old_rows o
   WHERE EXISTS (SELECT 1 FROM sluice.workflows w WHERE w.id = o.workflow_id);
  IF v_gone IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE sluice.jobs SET worker_id = NULL WHERE worker_id = ANY (v_gone);
  UPDATE sluice.results SET worker_id = NULL WHERE worker_id = ANY (v_gone);
  RETURN NULL;
END $$;

CREATE TRIGGER tg_workers__30_release_references AFTER DELETE ON sluice.workers
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workers__release_references();

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

-- As in 0009, in PL/pgSQL: a SQL function that is not inlined (an INSERT) is parsed and planned
-- again on every call, and the status triggers call it on every claim and completion (a tenth of
-- a claim-and-complete cycle's CPU went to that). PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION sluice.workflow_job_counts_add(p_workflow_ids bigint[], p_statuses sluice.job_status[],
                                                          p_deltas bigint[])
  RETURNS void
  LANGUAGE plpgsql
  -- One plan whatever the arrays: custom plans were made again on every completion.
  SET plan_cache_mode = force_generic_plan
  AS $$
BEGIN
  INSERT INTO sluice.workflow_job_counts (workflow_id, shard, status, jobs)
  SELECT d.workflow_id, (pg_backend_pid() % 32768)::smallint, d.status, d.delta
    FROM unnest(p_workflow_ids, p_statuses, p_deltas) AS d(workflow_id, status, delta)
   WHERE d.delta <> 0
   ORDER BY d.workflow_id, d.status
  ON CONFLICT ON CONSTRAINT workflow_job_counts_pkey DO UPDATE SET jobs = workflow_job_counts.jobs + EXCLUDED.jobs;
END $$;

-- Plans made once per session on the claim path. The claim gate was a SQL function with a
-- subquery, which is never inlined, so its query was planned on every claim (0.4 ms, forty
-- times its run); in PL/pgSQL the plan is kept. The claim's own queries were planned again on
-- every call too: with LIMIT p_limit unknown, a generic plan looks dearer than a custom one, so
-- the plan cache never settled on it, although with sorts ruled out (0007) both are the same walk
-- of jobs_ready_idx.
CREATE OR REPLACE FUNCTION sluice.jobs_claim_gate_open(p_worker_id bigint) RETURNS boolean
  LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN NOT EXISTS (
    SELECT 1 FROM sluice.workers k
      JOIN sluice.workflows w ON w.id = k.workflow_id
      JOIN sluice.workflow_actions a ON a.workflow_id = w.id
     WHERE k.id = p_worker_id
       AND a.trigger_type IN ('on_workflow_start', 'on_worker_start')
       AND CASE
             WHEN a.persistent THEN a.status = 'pending' AND NOT EXISTS (
               SELECT 1 FROM sluice.action_runs r
                WHERE r.action_id = a.id AND r.worker_id = p_worker_id AND r.run_id = w.run_id
                  AND r.status <> 'running')
             ELSE a.trigger_type = 'on_workflow_start' AND a.status IN ('pending', 'running')
           END);
END $$;
ALTER FUNCTION sluice.jobs_claim(bigint, integer, boolean, integer, bigint, integer, integer, bigint)
  SET plan_cache_mode = force_generic_plan;

-- As in 0001, but the dependents' counts are updated only where there are dependents.
CREATE OR REPLACE FUNCTION sluice.tg_jobs__status_change() RETURNS trigger
  LANGUAGE plpgsql
  SET jit = off
  -- A cascade or reset of 100k jobs hashes and sorts 100k-row sets (and the transition tables
  -- hold as many rows): in the default 4 MB they spill to disk.
  SET work_mem = '64MB'
  AS $$
DECLARE
  v_ids bigint[];
  v_wfs bigint[];
  v_new sluice.job_status[];
  v_old sluice.job_status[];
  v_now_done bigint[];
  v_now_undone bigint[];
  v_unsuccessful bigint[];
  v_ready_workflows bigint[];
  v_back_to_waiting bigint[];
  v_count_wfs bigint[];
  v_count_statuses sluice.job_status[];
  v_count_deltas bigint[];
  v_delta_wfs bigint[];
  v_deltas integer[];
  v_finished_workflows bigint[];
  v_wf bigint;
  v_locked text := current_setting('sluice.locked_workflow', true);
  -- done and not unsuccessful: completed (or disabled)
  v_now_succeeded bigint[];
  v_spared bigint[];
  v_dep_ids bigint[];
  v_dep_deltas integer[];
BEGIN
  -- Old and new rows are paired by sorting both transition tables by id (they hold the same
  -- rows), not by joining them: a join of transition tables is planned without statistics, once
  -- per session, and turned a 10k-job cascade into a 10k x 10k nested loop.
  SELECT array_agg(id ORDER BY id), array_agg(workflow_id ORDER BY id), array_agg(status ORDER BY id)
    INTO v_ids, v_wfs, v_new FROM new_rows;
  SELECT array_agg(status ORDER BY id) INTO v_old FROM old_rows;

  SELECT array_agg(c.id ORDER BY c.id) FILTER (WHERE sluice.job_status_is_done(c.ns) AND NOT sluice.job_status_is_done(c.os)),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE NOT sluice.job_status_is_done(c.ns) AND sluice.job_status_is_done(c.os)),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE sluice.job_status_is_unsuccessful(c.ns)
                                                 AND NOT sluice.job_status_is_done(c.os)),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE sluice.job_status_is_done(c.ns) AND NOT sluice.job_status_is_done(c.os)
                                                 AND NOT sluice.job_status_is_unsuccessful(c.ns)),
         array_agg(DISTINCT c.wf) FILTER (WHERE c.ns = 'ready'),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE c.ns IN ('blocked', 'ready')
                                                 AND c.os NOT IN ('blocked', 'ready', 'uninitialized'))
    INTO v_now_done, v_now_undone, v_unsuccessful, v_now_succeeded, v_ready_workflows, v_back_to_waiting
    FROM unnest(v_ids, v_wfs, v_new, v_old) AS c(id, wf, ns, os)
   WHERE c.ns <> c.os;

  -- Per-status counts: one statement for every status the rows left or reached.
  SELECT array_agg(wf), array_agg(st), array_agg(delta) INTO v_count_wfs, v_count_statuses, v_count_deltas
    FROM (SELECT wf, st, sum(delta)::bigint AS delta
            FROM (SELECT c.wf, c.ns AS st, 1 AS delta FROM unnest(v_wfs, v_new, v_old) AS c(wf, ns, os) WHERE c.ns <> c.os
                  UNION ALL
                  SELECT c.wf, c.os, -1 FROM unnest(v_wfs, v_new, v_old) AS c(wf, ns, os) WHERE c.ns <> c.os) x
           GROUP BY wf, st) d
   WHERE delta <> 0;
  IF v_count_wfs IS NOT NULL THEN
    PERFORM sluice.workflow_job_counts_add(v_count_wfs, v_count_statuses, v_count_deltas);
  END IF;

  -- A job that waits again without a run's start (an admin's UPDATE, a claim given back) gets
  -- its count from its dependency rows: only waiting jobs' counts are kept (see below).
  IF v_back_to_waiting IS NOT NULL THEN
    UPDATE sluice.jobs j
       SET unfinished_deps = c.n
      FROM (SELECT j2.id, count(dep.id) FILTER (WHERE NOT sluice.job_status_is_done(dep.status))::int AS n
              FROM sluice.jobs j2
              LEFT JOIN sluice.job_dependencies d ON d.job_id = j2.id
              LEFT JOIN sluice.jobs dep ON dep.id = d.depends_on_job_id
             WHERE j2.id = ANY (v_back_to_waiting)
             GROUP BY j2.id) c
     WHERE j.id = c.id AND j.unfinished_deps <> c.n;
  END IF;

  IF v_now_done IS NOT NULL OR v_now_undone IS NOT NULL THEN
    -- Dependents are shared between concurrent completions: lock them in id order. Only
    -- waiting dependents (blocked, ready) are counted: a job's count matters while it waits,
    -- and a run's start recounts every job it moves (workflows_start_run), so jobs that are done
    -- or back to uninitialized are left alone (a 100k-job cascade would otherwise update every
    -- canceled job a second time).
    -- Not needed when this transaction holds the lock of the (one) workflow whose jobs changed
    -- (sluice.workflows_lock marks it): every other writer of waiting jobs takes that lock first,
    -- and claims, which do not, never wait (SKIP LOCKED). A 100k-job cascade saves a pass.
    IF v_locked IS NULL OR EXISTS (SELECT 1 FROM unnest(v_wfs) AS w(id) WHERE w.id::text <> v_locked) THEN
      PERFORM 1 FROM sluice.jobs j
       WHERE j.id IN (SELECT d.job_id FROM sluice.job_dependencies d
                       WHERE d.depends_on_job_id = ANY (coalesce(v_now_done, '{}') || coalesce(v_now_undone, '{}')))
         AND j.status IN ('blocked', 'ready')
       ORDER BY j.id FOR NO KEY UPDATE;
    END IF;

    IF v_unsuccessful IS NOT NULL THEN
      -- One statement for the whole cascade, however deep: its own trigger call finds nothing
      -- left to cascade. The unsuccessful jobs' waiting dependents are read once: those canceled
      -- (blocked, cancel_on_blocking_job_failure) and those spared, whose counts drop below. The
      -- rows are updated by their tuple ids: the walk has read them, and looking each canceled
      -- job up again (and, in the count update, once more) was half of a 100k-job cascade.
      WITH RECURSIVE direct AS MATERIALIZED (
        SELECT d.job_id, j.ctid AS tid, (j.status = 'blocked' AND j.cancel_on_blocking_job_failure) AS doomed
          FROM sluice.job_dependencies d
          JOIN sluice.jobs j ON j.id = d.job_id
         WHERE d.depends_on_job_id = ANY (v_unsuccessful) AND j.status IN ('blocked', 'ready')
      ), doomed (id, tid) AS (
        SELECT job_id, tid FROM direct WHERE doomed
        UNION
        SELECT d.job_id, j.ctid FROM doomed x
          JOIN sluice.job_dependencies d ON d.depends_on_job_id = x.id
          JOIN sluice.jobs j ON j.id = d.job_id
         WHERE j.status = 'blocked' AND j.cancel_on_blocking_job_failure
      ), canceled AS (
        UPDATE sluice.jobs j SET status = 'canceled'
         WHERE j.ctid = ANY (ARRAY(SELECT tid FROM doomed)) AND j.status = 'blocked'
      )
      SELECT array_agg(job_id) FILTER (WHERE NOT doomed) INTO v_spared FROM direct;
    END IF;

    -- One row per dependency edge: -1 for a dependency now done (those of unsuccessful ones
    -- were found above: the dependents spared), +1 for one no longer done. Read from the
    -- dependency index first: most completions release nobody (independent jobs, or the last
    -- ones of a stage), and the update, planned for a join, read every job to find no one.
    SELECT array_agg(x.job_id ORDER BY x.job_id), array_agg(x.delta ORDER BY x.job_id) INTO v_dep_ids, v_dep_deltas
      FROM (SELECT x.job_id, sum(x.delta)::int AS delta
              FROM (SELECT d.job_id, -1 AS delta FROM sluice.job_dependencies d
                     WHERE d.depends_on_job_id = ANY (v_now_succeeded)
                    UNION ALL
                    SELECT d.job_id, 1 FROM sluice.job_dependencies d WHERE d.depends_on_job_id = ANY (v_now_undone)
                    UNION ALL
                    SELECT s.id, -1 FROM unnest(v_spared) AS s(id)) x
             GROUP BY x.job_id) x
     WHERE x.delta <> 0;
    IF v_dep_ids IS NOT NULL THEN
      UPDATE sluice.jobs j
         SET unfinished_deps = j.unfinished_deps + c.delta,
             status = CASE WHEN j.status = 'blocked' AND j.unfinished_deps + c.delta = 0
                           THEN 'ready'::sluice.job_status ELSE j.status END
        FROM unnest(v_dep_ids, v_dep_deltas) AS c(job_id, delta)
       WHERE j.id = c.job_id AND j.status IN ('blocked', 'ready')
         AND NOT j.id = ANY (coalesce(v_back_to_waiting, '{}'));  -- recounted whole above
    END IF;

    SELECT array_agg(wf ORDER BY wf), array_agg(delta ORDER BY wf) INTO v_delta_wfs, v_deltas
      FROM (SELECT c.wf, sum(CASE WHEN sluice.job_status_is_done(c.ns) THEN -1 ELSE 1 END)::int AS delta
              FROM unnest(v_ids, v_wfs, v_new, v_old) AS c(id, wf, ns, os)
             WHERE sluice.job_status_is_done(c.ns) <> sluice.job_status_is_done(c.os)
             GROUP BY c.wf) s
     WHERE delta <> 0;

    WITH changed AS (
      UPDATE sluice.workflows w
         SET unfinished_jobs = w.unfinished_jobs + d.delta,
             completed_at = CASE WHEN w.unfinished_jobs + d.delta = 0 THEN now() END
        FROM unnest(v_delta_wfs, v_deltas) AS d(wf, delta)
       WHERE w.id = d.wf
      RETURNING w.id, w.run_id, w.unfinished_jobs, w.canceled_at
    ), finished AS (
      INSERT INTO sluice.events (workflow_id, kind, data)
      SELECT id, 'workflow_completed', jsonb_build_object('run_id', run_id)
        FROM changed WHERE unfinished_jobs = 0 AND run_id > 0 AND canceled_at IS NULL
    )
    SELECT array_agg(id) INTO v_finished_workflows FROM changed WHERE unfinished_jobs = 0;

    IF v_finished_workflows IS NOT NULL THEN
      FOREACH v_wf IN ARRAY v_finished_workflows LOOP
        PERFORM pg_notify('sluice_workflow_state', v_wf::text);
      END LOOP;
    END IF;
  END IF;

  IF v_ready_workflows IS NOT NULL THEN
    FOREACH v_wf IN ARRAY v_ready_workflows LOOP
      PERFORM pg_notify('sluice_jobs_ready', v_wf::text);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;

-- Down Migration
-- The definitions of 0001, 0004, 0007 and 0009.
DROP TRIGGER tg_workers__30_release_references ON sluice.workers;
DROP FUNCTION sluice.tg_workers__release_references();
ALTER TABLE sluice.jobs ADD CONSTRAINT jobs_worker_fkey FOREIGN KEY (worker_id)
  REFERENCES sluice.workers (id) ON DELETE SET NULL;
ALTER TABLE sluice.results
  ADD CONSTRAINT results_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  ADD CONSTRAINT results_worker_fkey FOREIGN KEY (worker_id) REFERENCES sluice.workers (id) ON DELETE SET NULL;
ALTER FUNCTION sluice.jobs_claim(bigint, integer, boolean, integer, bigint, integer, integer, bigint)
  RESET plan_cache_mode;
CREATE OR REPLACE FUNCTION sluice.jobs_claim_gate_open(p_worker_id bigint) RETURNS boolean
  LANGUAGE sql STABLE AS $$
  SELECT NOT EXISTS (
    SELECT 1 FROM sluice.workers k
      JOIN sluice.workflows w ON w.id = k.workflow_id
      JOIN sluice.workflow_actions a ON a.workflow_id = w.id
     WHERE k.id = p_worker_id
       AND a.trigger_type IN ('on_workflow_start', 'on_worker_start')
       AND CASE
             WHEN a.persistent THEN a.status = 'pending' AND NOT EXISTS (
               SELECT 1 FROM sluice.action_runs r
                WHERE r.action_id = a.id AND r.worker_id = p_worker_id AND r.run_id = w.run_id
                  AND r.status <> 'running')
             ELSE a.trigger_type = 'on_workflow_start' AND a.status IN ('pending', 'running')
           END)
$$;

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

CREATE OR REPLACE FUNCTION sluice.jobs_complete(
  p_worker_id bigint, p_job_ids bigint[], p_attempts integer[], p_statuses sluice.job_status[],
  p_return_codes integer[], p_started_at timestamptz[], p_completed_at timestamptz[],
  p_messages text[], p_stdout_paths text[], p_stderr_paths text[],
  -- Optional (unnest pads a shorter array with nulls): not retryable, no resource figures.
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
  v_ids bigint[];
  v_retry bigint[];
  v_scripts text[];
BEGIN
  SELECT * INTO v_worker FROM sluice.workers WHERE id = p_worker_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  v_wf := sluice.workflows_lock(v_worker.workflow_id);

  SELECT array_agg(j.id ORDER BY j.id) INTO v_ids
    FROM (SELECT j.id FROM sluice.jobs j
            JOIN unnest(p_job_ids, p_attempts) AS i(job_id, attempt) ON i.job_id = j.id
           WHERE j.worker_id = p_worker_id AND j.attempt = i.attempt
           ORDER BY j.id FOR NO KEY UPDATE OF j) j;

  IF v_ids IS NOT NULL THEN
    SELECT array_agg(d.job_id ORDER BY d.job_id), array_agg(d.recovery_script ORDER BY d.job_id)
      INTO v_retry, v_scripts
      FROM (SELECT i.job_id, r.recovery_script
              FROM unnest(p_job_ids, p_statuses, p_return_codes, p_retryable)
                   AS i(job_id, status, return_code, retryable)
              JOIN sluice.jobs j ON j.id = i.job_id
              CROSS JOIN LATERAL (
                SELECT r.recovery_script, r.max_retries FROM sluice.failure_handler_rules r
                 WHERE r.handler_id = j.failure_handler_id
                   AND (i.return_code = ANY (r.exit_codes) OR r.exit_codes IS NULL)
                 ORDER BY r.exit_codes IS NULL, r.position
                 LIMIT 1) r
             WHERE i.job_id = ANY (v_ids) AND i.status = 'failed' AND i.retryable AND i.return_code IS NOT NULL
               AND sluice.job_status_is_active(j.status) AND j.attempt_id < r.max_retries) d;

    WITH recorded AS (
      INSERT INTO sluice.results (workflow_id, job_id, worker_id, run_id, attempt, attempt_id, status, return_code,
                                  started_at, completed_at, message, stdout_path, stderr_path,
                                  peak_memory_bytes, avg_memory_bytes, peak_cpu_percent, avg_cpu_percent)
      SELECT v_worker.workflow_id, i.job_id, p_worker_id, v_wf.run_id, i.attempt, j.attempt_id, i.status,
             i.return_code, i.started_at, i.completed_at, i.message, i.stdout_path, i.stderr_path,
             i.peak_memory, i.avg_memory, i.peak_cpu, i.avg_cpu
        FROM unnest(p_job_ids, p_attempts, p_statuses, p_return_codes, p_started_at, p_completed_at,
                    p_messages, p_stdout_paths, p_stderr_paths, p_peak_memory, p_avg_memory, p_peak_cpu, p_avg_cpu)
             AS i(job_id, attempt, status, return_code, started_at, completed_at, message, stdout_path,
                  stderr_path, peak_memory, avg_memory, peak_cpu, avg_cpu)
        JOIN sluice.jobs j ON j.id = i.job_id
       WHERE i.job_id = ANY (v_ids)
      ON CONFLICT ON CONSTRAINT results_job_attempt_key DO NOTHING
      RETURNING job_id, attempt, attempt_id, status, return_code
    )
    INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
    SELECT v_worker.workflow_id, 'job_finished', job_id, p_worker_id,
           jsonb_build_object('status', status, 'return_code', return_code, 'attempt', attempt,
                              'attempt_id', attempt_id)
      FROM recorded;

    INSERT INTO sluice.job_samples (workflow_id, job_id, attempt, sampled_at, memory_bytes, cpu_percent, processes)
    SELECT v_worker.workflow_id, s.job_id, s.attempt, s.sampled_at, s.memory, s.cpu, s.processes
      FROM unnest(p_sample_job_ids, p_sample_attempts, p_sampled_at, p_sample_memory, p_sample_cpu,
                  p_sample_processes) AS s(job_id, attempt, sampled_at, memory, cpu, processes)
     WHERE s.job_id = ANY (v_ids);

    UPDATE sluice.jobs j SET status = i.status, pending_recovery = NULL, retry_return_code = NULL
      FROM unnest(p_job_ids, p_statuses) AS i(job_id, status)
     WHERE j.id = i.job_id AND j.id = ANY (v_ids) AND sluice.job_status_is_active(j.status)
       AND NOT j.id = ANY (coalesce(v_retry, '{}'));

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

  RETURN QUERY
  SELECT r.job_id FROM sluice.results r
    JOIN unnest(p_job_ids, p_attempts) AS i(job_id, attempt) ON r.job_id = i.job_id AND r.attempt = i.attempt;
END $$;

CREATE OR REPLACE FUNCTION sluice.tg_jobs__status_change() RETURNS trigger
  LANGUAGE plpgsql
  SET jit = off
  -- A cascade or reset of 100k jobs hashes and sorts 100k-row sets (and the transition tables
  -- hold as many rows): in the default 4 MB they spill to disk.
  SET work_mem = '64MB'
  AS $$
DECLARE
  v_ids bigint[];
  v_wfs bigint[];
  v_new sluice.job_status[];
  v_old sluice.job_status[];
  v_now_done bigint[];
  v_now_undone bigint[];
  v_unsuccessful bigint[];
  v_ready_workflows bigint[];
  v_back_to_waiting bigint[];
  v_count_wfs bigint[];
  v_count_statuses sluice.job_status[];
  v_count_deltas bigint[];
  v_delta_wfs bigint[];
  v_deltas integer[];
  v_finished_workflows bigint[];
  v_wf bigint;
  v_locked text := current_setting('sluice.locked_workflow', true);
  -- done and not unsuccessful: completed (or disabled)
  v_now_succeeded bigint[];
  v_spared bigint[];
BEGIN
  -- Old and new rows are paired by sorting both transition tables by id (they hold the same
  -- rows), not by joining them: a join of transition tables is planned without statistics, once
  -- per session, and turned a 10k-job cascade into a 10k x 10k nested loop.
  SELECT array_agg(id ORDER BY id), array_agg(workflow_id ORDER BY id), array_agg(status ORDER BY id)
    INTO v_ids, v_wfs, v_new FROM new_rows;
  SELECT array_agg(status ORDER BY id) INTO v_old FROM old_rows;

  SELECT array_agg(c.id ORDER BY c.id) FILTER (WHERE sluice.job_status_is_done(c.ns) AND NOT sluice.job_status_is_done(c.os)),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE NOT sluice.job_status_is_done(c.ns) AND sluice.job_status_is_done(c.os)),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE sluice.job_status_is_unsuccessful(c.ns)
                                                 AND NOT sluice.job_status_is_done(c.os)),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE sluice.job_status_is_done(c.ns) AND NOT sluice.job_status_is_done(c.os)
                                                 AND NOT sluice.job_status_is_unsuccessful(c.ns)),
         array_agg(DISTINCT c.wf) FILTER (WHERE c.ns = 'ready'),
         array_agg(c.id ORDER BY c.id) FILTER (WHERE c.ns IN ('blocked', 'ready')
                                                 AND c.os NOT IN ('blocked', 'ready', 'uninitialized'))
    INTO v_now_done, v_now_undone, v_unsuccessful, v_now_succeeded, v_ready_workflows, v_back_to_waiting
    FROM unnest(v_ids, v_wfs, v_new, v_old) AS c(id, wf, ns, os)
   WHERE c.ns <> c.os;

  -- Per-status counts: one statement for every status the rows left or reached.
  SELECT array_agg(wf), array_agg(st), array_agg(delta) INTO v_count_wfs, v_count_statuses, v_count_deltas
    FROM (SELECT wf, st, sum(delta)::bigint AS delta
            FROM (SELECT c.wf, c.ns AS st, 1 AS delta FROM unnest(v_wfs, v_new, v_old) AS c(wf, ns, os) WHERE c.ns <> c.os
                  UNION ALL
                  SELECT c.wf, c.os, -1 FROM unnest(v_wfs, v_new, v_old) AS c(wf, ns, os) WHERE c.ns <> c.os) x
           GROUP BY wf, st) d
   WHERE delta <> 0;
  IF v_count_wfs IS NOT NULL THEN
    PERFORM sluice.workflow_job_counts_add(v_count_wfs, v_count_statuses, v_count_deltas);
  END IF;

  -- A job that waits again without a run's start (an admin's UPDATE, a claim given back) gets
  -- its count from its dependency rows: only waiting jobs' counts are kept (see below).
  IF v_back_to_waiting IS NOT NULL THEN
    UPDATE sluice.jobs j
       SET unfinished_deps = c.n
      FROM (SELECT j2.id, count(dep.id) FILTER (WHERE NOT sluice.job_status_is_done(dep.status))::int AS n
              FROM sluice.jobs j2
              LEFT JOIN sluice.job_dependencies d ON d.job_id = j2.id
              LEFT JOIN sluice.jobs dep ON dep.id = d.depends_on_job_id
             WHERE j2.id = ANY (v_back_to_waiting)
             GROUP BY j2.id) c
     WHERE j.id = c.id AND j.unfinished_deps <> c.n;
  END IF;

  IF v_now_done IS NOT NULL OR v_now_undone IS NOT NULL THEN
    -- Dependents are shared between concurrent completions: lock them in id order. Only
    -- waiting dependents (blocked, ready) are counted: a job's count matters while it waits,
    -- and a run's start recounts every job it moves (workflows_start_run), so jobs that are done
    -- or back to uninitialized are left alone (a 100k-job cascade would otherwise update every
    -- canceled job a second time).
    -- Not needed when this transaction holds the lock of the (one) workflow whose jobs changed
    -- (sluice.workflows_lock marks it): every other writer of waiting jobs takes that lock first,
    -- and claims, which do not, never wait (SKIP LOCKED). A 100k-job cascade saves a pass.
    IF v_locked IS NULL OR EXISTS (SELECT 1 FROM unnest(v_wfs) AS w(id) WHERE w.id::text <> v_locked) THEN
      PERFORM 1 FROM sluice.jobs j
       WHERE j.id IN (SELECT d.job_id FROM sluice.job_dependencies d
                       WHERE d.depends_on_job_id = ANY (coalesce(v_now_done, '{}') || coalesce(v_now_undone, '{}')))
         AND j.status IN ('blocked', 'ready')
       ORDER BY j.id FOR NO KEY UPDATE;
    END IF;

    IF v_unsuccessful IS NOT NULL THEN
      -- One statement for the whole cascade, however deep: its own trigger call finds nothing
      -- left to cascade. The unsuccessful jobs' waiting dependents are read once: those canceled
      -- (blocked, cancel_on_blocking_job_failure) and those spared, whose counts drop below. The
      -- rows are updated by their tuple ids: the walk has read them, and looking each canceled
      -- job up again (and, in the count update, once more) was half of a 100k-job cascade.
      WITH RECURSIVE direct AS MATERIALIZED (
        SELECT d.job_id, j.ctid AS tid, (j.status = 'blocked' AND j.cancel_on_blocking_job_failure) AS doomed
          FROM sluice.job_dependencies d
          JOIN sluice.jobs j ON j.id = d.job_id
         WHERE d.depends_on_job_id = ANY (v_unsuccessful) AND j.status IN ('blocked', 'ready')
      ), doomed (id, tid) AS (
        SELECT job_id, tid FROM direct WHERE doomed
        UNION
        SELECT d.job_id, j.ctid FROM doomed x
          JOIN sluice.job_dependencies d ON d.depends_on_job_id = x.id
          JOIN sluice.jobs j ON j.id = d.job_id
         WHERE j.status = 'blocked' AND j.cancel_on_blocking_job_failure
      ), canceled AS (
        UPDATE sluice.jobs j SET status = 'canceled'
         WHERE j.ctid = ANY (ARRAY(SELECT tid FROM doomed)) AND j.status = 'blocked'
      )
      SELECT array_agg(job_id) FILTER (WHERE NOT doomed) INTO v_spared FROM direct;
    END IF;

    -- One row per dependency edge: -1 for a dependency now done (those of unsuccessful ones
    -- were found above: the dependents spared), +1 for one no longer done.
    UPDATE sluice.jobs j
       SET unfinished_deps = j.unfinished_deps + c.delta,
           status = CASE WHEN j.status = 'blocked' AND j.unfinished_deps + c.delta = 0
                         THEN 'ready'::sluice.job_status ELSE j.status END
      FROM (SELECT x.job_id, sum(x.delta)::int AS delta
              FROM (SELECT d.job_id, -1 AS delta FROM sluice.job_dependencies d
                     WHERE d.depends_on_job_id = ANY (v_now_succeeded)
                    UNION ALL
                    SELECT d.job_id, 1 FROM sluice.job_dependencies d WHERE d.depends_on_job_id = ANY (v_now_undone)
                    UNION ALL
                    SELECT s.id, -1 FROM unnest(v_spared) AS s(id)) x
             GROUP BY x.job_id) c
     WHERE j.id = c.job_id AND c.delta <> 0 AND j.status IN ('blocked', 'ready')
       AND NOT j.id = ANY (coalesce(v_back_to_waiting, '{}'));  -- recounted whole above

    SELECT array_agg(wf ORDER BY wf), array_agg(delta ORDER BY wf) INTO v_delta_wfs, v_deltas
      FROM (SELECT c.wf, sum(CASE WHEN sluice.job_status_is_done(c.ns) THEN -1 ELSE 1 END)::int AS delta
              FROM unnest(v_ids, v_wfs, v_new, v_old) AS c(id, wf, ns, os)
             WHERE sluice.job_status_is_done(c.ns) <> sluice.job_status_is_done(c.os)
             GROUP BY c.wf) s
     WHERE delta <> 0;

    WITH changed AS (
      UPDATE sluice.workflows w
         SET unfinished_jobs = w.unfinished_jobs + d.delta,
             completed_at = CASE WHEN w.unfinished_jobs + d.delta = 0 THEN now() END
        FROM unnest(v_delta_wfs, v_deltas) AS d(wf, delta)
       WHERE w.id = d.wf
      RETURNING w.id, w.run_id, w.unfinished_jobs, w.canceled_at
    ), finished AS (
      INSERT INTO sluice.events (workflow_id, kind, data)
      SELECT id, 'workflow_completed', jsonb_build_object('run_id', run_id)
        FROM changed WHERE unfinished_jobs = 0 AND run_id > 0 AND canceled_at IS NULL
    )
    SELECT array_agg(id) INTO v_finished_workflows FROM changed WHERE unfinished_jobs = 0;

    IF v_finished_workflows IS NOT NULL THEN
      FOREACH v_wf IN ARRAY v_finished_workflows LOOP
        PERFORM pg_notify('sluice_workflow_state', v_wf::text);
      END LOOP;
    END IF;
  END IF;

  IF v_ready_workflows IS NOT NULL THEN
    FOREACH v_wf IN ARRAY v_ready_workflows LOOP
      PERFORM pg_notify('sluice_jobs_ready', v_wf::text);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
