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

-- Down Migration
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
