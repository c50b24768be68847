-- Up Migration

-- Bulk creation checked set-wise (issue 11). A foreign key checks each inserted row with a
-- query of its own and locks the row it points at: creating 100k jobs, 100k dependencies and
-- 100k action memberships ran 400k such checks, more than half of the creation's time (the
-- workflow row was locked 100k times, every job three times). The four keys on that path are
-- replaced by statement-level triggers doing the same work once per statement:
--   insert:  every referenced row exists; rows this transaction did not create are locked
--            (FOR KEY SHARE, as a foreign key does) against a concurrent delete. Rows it
--            created are invisible to every other transaction, so nothing can delete them.
--   delete:  the referencing rows go too (ON DELETE CASCADE).
--   update:  key columns never change (a foreign key refused a change to a referenced key).
-- The cascades and checks are SECURITY DEFINER, as a foreign key's own queries run as the
-- table's owner: after a workflow's row is deleted, row-level security hides its jobs from
-- its owner, and a cascade run as the caller would delete nothing. Each is a trigger function
-- (no one can call it directly) with a pinned search_path; docs/site-guide.md lists them.
-- The refusals keep a foreign key's SQLSTATE (foreign_key_violation) and message.
ALTER TABLE sluice.jobs DROP CONSTRAINT jobs_workflow_fkey;
ALTER TABLE sluice.job_dependencies DROP CONSTRAINT job_dependencies_job_fkey;
ALTER TABLE sluice.workflow_action_jobs DROP CONSTRAINT workflow_action_jobs_action_fkey,
  DROP CONSTRAINT workflow_action_jobs_job_fkey;

-- jobs.workflow_id: the statement that counts new jobs into their workflows (0001) updates,
-- and so locks, each workflow once; a workflow it does not find does not exist.
CREATE OR REPLACE FUNCTION sluice.tg_jobs__count_inserted() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  v_wfs bigint[];
  v_statuses sluice.job_status[];
  v_counts bigint[];
  v_found integer;
  v_missing bigint;
BEGIN
  UPDATE sluice.workflows w
     SET num_jobs = w.num_jobs + c.n,
         unfinished_jobs = w.unfinished_jobs + c.unfinished,
         completed_at = NULL
    FROM (SELECT workflow_id, count(*) AS n,
                 count(*) FILTER (WHERE NOT sluice.job_status_is_done(status)) AS unfinished
            FROM new_rows GROUP BY workflow_id) c
   WHERE w.id = c.workflow_id;
  GET DIAGNOSTICS v_found = ROW_COUNT;
  IF v_found < (SELECT count(DISTINCT workflow_id) FROM new_rows) THEN
    SELECT n.workflow_id INTO v_missing FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM sluice.workflows w WHERE w.id = n.workflow_id) LIMIT 1;
    RAISE EXCEPTION 'insert or update on table "jobs" violates foreign key constraint "jobs_workflow_fkey"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'jobs', CONSTRAINT = 'jobs_workflow_fkey',
            DETAIL = format('Key (workflow_id)=(%s) is not present in table "workflows".', v_missing);
  END IF;
  SELECT array_agg(workflow_id), array_agg(status), array_agg(n) INTO v_wfs, v_statuses, v_counts
    FROM (SELECT workflow_id, status, count(*) AS n FROM new_rows GROUP BY workflow_id, status) c;
  PERFORM sluice.workflow_job_counts_add(v_wfs, v_statuses, v_counts);
  RETURN NULL;
END $$;

-- The jobs that new dependency or membership rows point at (p_ids, repeats allowed): all must
-- exist. Returns the first missing id, or NULL. Called by the SECURITY DEFINER checks below, so
-- it runs as the owner there; anyone else calling it runs it with their own rights.
-- Jobs this transaction created (their xmin is its id) need no lock: no other transaction sees
-- them. Creation's jobs are one dense range of ids, all its own: one scan of that range in the
-- primary key shows that every id in it exists, without looking each one up.
CREATE FUNCTION sluice.jobs_referenced_missing(p_ids bigint[]) RETURNS bigint
  LANGUAGE plpgsql
  SET jit = off
  AS $$
DECLARE
  v_xid xid := pg_current_xact_id()::xid;
  v_lo bigint;
  v_hi bigint;
  v_n bigint;
  v_found bigint;
  v_ours boolean;
  v_missing bigint;
  v_others boolean;
BEGIN
  SELECT min(r.id), max(r.id), count(*) INTO v_lo, v_hi, v_n FROM unnest(p_ids) AS r(id);
  IF v_n = 0 THEN
    RETURN NULL;
  END IF;
  IF v_hi - v_lo < 2 * v_n THEN
    SELECT count(*), coalesce(bool_and(j.xmin = v_xid), true) INTO v_found, v_ours
      FROM sluice.jobs j WHERE j.id BETWEEN v_lo AND v_hi;
    IF v_found = v_hi - v_lo + 1 AND v_ours THEN
      RETURN NULL;
    END IF;
  END IF;
  SELECT min(r.id) FILTER (WHERE j.id IS NULL), coalesce(bool_or(j.xmin <> v_xid), false)
    INTO v_missing, v_others
    FROM unnest(p_ids) AS r(id) LEFT JOIN sluice.jobs j ON j.id = r.id;
  IF v_others THEN
    PERFORM 1 FROM sluice.jobs j WHERE j.id = ANY (p_ids) AND j.xmin <> v_xid ORDER BY j.id FOR KEY SHARE OF j;
    -- A job deleted before its lock was granted is missing now.
    SELECT r.id INTO v_missing FROM unnest(p_ids) AS r(id)
     WHERE NOT EXISTS (SELECT 1 FROM sluice.jobs j WHERE j.id = r.id) LIMIT 1;
  END IF;
  RETURN v_missing;
END $$;
REVOKE EXECUTE ON FUNCTION sluice.jobs_referenced_missing(bigint[]) FROM PUBLIC;

CREATE FUNCTION sluice.tg_job_dependencies__check_jobs() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET jit = off
  AS $$
DECLARE
  v_missing bigint;
BEGIN
  v_missing := sluice.jobs_referenced_missing(ARRAY(SELECT job_id FROM new_rows));
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "job_dependencies" violates foreign key constraint "job_dependencies_job_fkey"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'job_dependencies', CONSTRAINT = 'job_dependencies_job_fkey',
            DETAIL = format('Key (job_id)=(%s) is not present in table "jobs".', v_missing);
  END IF;
  RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION sluice.tg_job_dependencies__check_jobs() FROM PUBLIC;

CREATE TRIGGER tg_job_dependencies__10_check_jobs AFTER INSERT ON sluice.job_dependencies
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_job_dependencies__check_jobs();

CREATE FUNCTION sluice.tg_workflow_action_jobs__check_refs() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET jit = off
  AS $$
DECLARE
  v_xid xid := pg_current_xact_id()::xid;
  v_lo bigint;
  v_hi bigint;
  v_n bigint;
  v_found bigint;
  v_ours boolean;
  v_missing bigint;
BEGIN
  -- Actions: a few rows, however many members; created by this transaction too, as one range.
  SELECT min(action_id), max(action_id), count(*) INTO v_lo, v_hi, v_n FROM new_rows;
  IF v_n = 0 THEN
    RETURN NULL;
  END IF;
  IF v_hi - v_lo < 2 * v_n THEN
    SELECT count(*), coalesce(bool_and(a.xmin = v_xid), true) INTO v_found, v_ours
      FROM sluice.workflow_actions a WHERE a.id BETWEEN v_lo AND v_hi;
  END IF;
  IF v_found IS DISTINCT FROM v_hi - v_lo + 1 OR NOT v_ours THEN
    PERFORM 1 FROM sluice.workflow_actions a
     WHERE a.id IN (SELECT action_id FROM new_rows) AND a.xmin <> v_xid ORDER BY a.id FOR KEY SHARE OF a;
    SELECT n.action_id INTO v_missing FROM (SELECT DISTINCT action_id FROM new_rows) n
     WHERE NOT EXISTS (SELECT 1 FROM sluice.workflow_actions a WHERE a.id = n.action_id) LIMIT 1;
  END IF;
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "workflow_action_jobs" violates foreign key constraint "workflow_action_jobs_action_fkey"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'workflow_action_jobs',
            CONSTRAINT = 'workflow_action_jobs_action_fkey',
            DETAIL = format('Key (action_id)=(%s) is not present in table "workflow_actions".', v_missing);
  END IF;
  v_missing := sluice.jobs_referenced_missing(ARRAY(SELECT job_id FROM new_rows));
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "workflow_action_jobs" violates foreign key constraint "workflow_action_jobs_job_fkey"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'workflow_action_jobs',
            CONSTRAINT = 'workflow_action_jobs_job_fkey',
            DETAIL = format('Key (job_id)=(%s) is not present in table "jobs".', v_missing);
  END IF;
  RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION sluice.tg_workflow_action_jobs__check_refs() FROM PUBLIC;

CREATE TRIGGER tg_workflow_action_jobs__10_check_refs AFTER INSERT ON sluice.workflow_action_jobs
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workflow_action_jobs__check_refs();

-- Keys that rows point at, and the pointing columns, never change: nothing in Sluice updates
-- them, and a foreign key refused such a change (or had to check it).
CREATE FUNCTION sluice.tg_keys_fixed() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the key columns of %.% never change: delete the row and insert another', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END $$;

CREATE TRIGGER tg_jobs__00_keys_fixed BEFORE UPDATE OF id, workflow_id ON sluice.jobs
  FOR EACH ROW WHEN (OLD.id <> NEW.id OR OLD.workflow_id <> NEW.workflow_id)
  EXECUTE FUNCTION sluice.tg_keys_fixed();
CREATE TRIGGER tg_workflow_actions__00_keys_fixed BEFORE UPDATE OF id ON sluice.workflow_actions
  FOR EACH ROW WHEN (OLD.id <> NEW.id)
  EXECUTE FUNCTION sluice.tg_keys_fixed();
CREATE TRIGGER tg_job_dependencies__00_keys_fixed BEFORE UPDATE OF job_id ON sluice.job_dependencies
  FOR EACH ROW WHEN (OLD.job_id <> NEW.job_id)
  EXECUTE FUNCTION sluice.tg_keys_fixed();
CREATE TRIGGER tg_workflow_action_jobs__00_keys_fixed BEFORE UPDATE OF action_id, job_id ON sluice.workflow_action_jobs
  FOR EACH ROW WHEN (OLD.action_id <> NEW.action_id OR OLD.job_id <> NEW.job_id)
  EXECUTE FUNCTION sluice.tg_keys_fixed();

-- ON DELETE CASCADE, one statement per deleting statement.
CREATE FUNCTION sluice.tg_workflows__delete_jobs() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  DELETE FROM sluice.jobs j WHERE j.workflow_id IN (SELECT o.id FROM old_rows o);
  RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION sluice.tg_workflows__delete_jobs() FROM PUBLIC;

CREATE TRIGGER tg_workflows__40_delete_jobs AFTER DELETE ON sluice.workflows
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workflows__delete_jobs();

-- Before tg_jobs__30_recount_actions (which counts only jobs that still exist either way).
CREATE FUNCTION sluice.tg_jobs__delete_links() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  DELETE FROM sluice.job_dependencies d WHERE d.job_id IN (SELECT o.id FROM old_rows o);
  DELETE FROM sluice.workflow_action_jobs m WHERE m.job_id IN (SELECT o.id FROM old_rows o);
  RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION sluice.tg_jobs__delete_links() FROM PUBLIC;

CREATE TRIGGER tg_jobs__25_delete_links AFTER DELETE ON sluice.jobs
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__delete_links();

CREATE FUNCTION sluice.tg_workflow_actions__delete_members() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  DELETE FROM sluice.workflow_action_jobs m WHERE m.action_id IN (SELECT o.id FROM old_rows o);
  RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION sluice.tg_workflow_actions__delete_members() FROM PUBLIC;

CREATE TRIGGER tg_workflow_actions__40_delete_members AFTER DELETE ON sluice.workflow_actions
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workflow_actions__delete_members();

-- A run's start (initialize) for a workflow none of whose jobs has left 'uninitialized' (the
-- first initialize, or one after a full reset): no dependency is done or unsuccessful, so a
-- job's unfinished count is its number of dependency rows, and no job is canceled. Counting
-- rows is one hash join fewer than reading every dependency's status (a quarter of a 100k-job
-- initialize). Otherwise as in 0008. The UPDATE sets became_ready itself, so the per-row
-- trigger below has nothing left to do and is not called.
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

-- As in 0003, but not called for a row whose became_ready is already what it would set: a run's
-- start sets it in its UPDATE, and 100k independent jobs were 100k PL/pgSQL calls.
DROP TRIGGER tg_jobs__05_track_ready ON sluice.jobs;
CREATE TRIGGER tg_jobs__05_track_ready BEFORE UPDATE OF status ON sluice.jobs
  FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('ready', 'uninitialized')
        AND NEW.became_ready IS DISTINCT FROM (NEW.status = 'ready'))
  EXECUTE FUNCTION sluice.tg_jobs__track_ready();

-- Down Migration
-- workflows_start_run as in 0008:
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
DROP TRIGGER tg_jobs__05_track_ready ON sluice.jobs;
CREATE TRIGGER tg_jobs__05_track_ready BEFORE UPDATE OF status ON sluice.jobs
  FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('ready', 'uninitialized'))
  EXECUTE FUNCTION sluice.tg_jobs__track_ready();
DROP TRIGGER tg_workflow_actions__40_delete_members ON sluice.workflow_actions;
DROP FUNCTION sluice.tg_workflow_actions__delete_members();
DROP TRIGGER tg_jobs__25_delete_links ON sluice.jobs;
DROP FUNCTION sluice.tg_jobs__delete_links();
DROP TRIGGER tg_workflows__40_delete_jobs ON sluice.workflows;
DROP FUNCTION sluice.tg_workflows__delete_jobs();
DROP TRIGGER tg_jobs__00_keys_fixed ON sluice.jobs;
DROP TRIGGER tg_workflow_actions__00_keys_fixed ON sluice.workflow_actions;
DROP TRIGGER tg_job_dependencies__00_keys_fixed ON sluice.job_dependencies;
DROP TRIGGER tg_workflow_action_jobs__00_keys_fixed ON sluice.workflow_action_jobs;
DROP FUNCTION sluice.tg_keys_fixed();
DROP TRIGGER tg_workflow_action_jobs__10_check_refs ON sluice.workflow_action_jobs;
DROP FUNCTION sluice.tg_workflow_action_jobs__check_refs();
DROP TRIGGER tg_job_dependencies__10_check_jobs ON sluice.job_dependencies;
DROP FUNCTION sluice.tg_job_dependencies__check_jobs();
DROP FUNCTION sluice.jobs_referenced_missing(bigint[]);
CREATE OR REPLACE FUNCTION sluice.tg_jobs__count_inserted() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  v_wfs bigint[];
  v_statuses sluice.job_status[];
  v_counts bigint[];
BEGIN
  UPDATE sluice.workflows w
     SET num_jobs = w.num_jobs + c.n,
         unfinished_jobs = w.unfinished_jobs + c.unfinished,
         completed_at = NULL
    FROM (SELECT workflow_id, count(*) AS n,
                 count(*) FILTER (WHERE NOT sluice.job_status_is_done(status)) AS unfinished
            FROM new_rows GROUP BY workflow_id) c
   WHERE w.id = c.workflow_id;
  SELECT array_agg(workflow_id), array_agg(status), array_agg(n) INTO v_wfs, v_statuses, v_counts
    FROM (SELECT workflow_id, status, count(*) AS n FROM new_rows GROUP BY workflow_id, status) c;
  PERFORM sluice.workflow_job_counts_add(v_wfs, v_statuses, v_counts);
  RETURN NULL;
END $$;
ALTER TABLE sluice.workflow_action_jobs
  ADD CONSTRAINT workflow_action_jobs_action_fkey FOREIGN KEY (action_id)
    REFERENCES sluice.workflow_actions (id) ON DELETE CASCADE,
  ADD CONSTRAINT workflow_action_jobs_job_fkey FOREIGN KEY (job_id)
    REFERENCES sluice.jobs (id) ON DELETE CASCADE;
ALTER TABLE sluice.job_dependencies
  ADD CONSTRAINT job_dependencies_job_fkey FOREIGN KEY (job_id)
    REFERENCES sluice.jobs (id) ON DELETE CASCADE;
ALTER TABLE sluice.jobs
  ADD CONSTRAINT jobs_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE;
