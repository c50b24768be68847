-- Up Migration

-- A site's security: who sees what is decided here, by PostgreSQL, for every path (SQL, CLI,
-- worker, API). See docs/site-guide.md.
--  - sluice_users: the group of users. A user's workflows are those whose owner_role is the
--    user's role; row-level security shows a user only their own workflows and what belongs to
--    them, on every table of workflow data.
--  - sluice_admin: sees and manages everything (the policies admit its members).
--  - sluice_server: the role the API server connects as; it may SET ROLE to each user (sluice
--    admin add-user grants that) and authenticate API tokens, nothing else.
-- Roles belong to the whole cluster: they are created here when missing and kept by the down
-- migration (other databases of the cluster may use them).

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['sluice_users', 'sluice_admin', 'sluice_server'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        -- sluice_server is made a member of every user role (to SET ROLE to them): it must not
        -- inherit their privileges, nor, through an admin user, sluice_admin's.
        EXECUTE format('CREATE ROLE %I NOLOGIN%s', r, CASE WHEN r = 'sluice_server' THEN ' NOINHERIT' ELSE '' END);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created meanwhile by a migration of another database of this cluster
      END;
    END IF;
  END LOOP;
  IF (SELECT rolinherit FROM pg_roles WHERE rolname = 'sluice_server') THEN
    BEGIN
      ALTER ROLE sluice_server NOINHERIT;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'role sluice_server inherits the privileges of the roles granted to it'
        USING HINT = 'a superuser or a role with CREATEROLE must run: ALTER ROLE sluice_server NOINHERIT';
    END;
  END IF;
END $$;

-- Evaluated once per statement where policies call it as (SELECT sluice.is_admin()). USAGE,
-- not MEMBER: the API server's role is a (non-inheriting) member of every user role, admins
-- included, and must not count as an admin itself.
CREATE FUNCTION sluice.is_admin() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT pg_has_role(current_user, 'sluice_admin', 'USAGE') $$;

-- API tokens: stored hashed (sha-256); the token itself is shown once, to its owner.
CREATE TABLE sluice.api_tokens (
  id bigint GENERATED ALWAYS AS IDENTITY,
  owner_role name NOT NULL DEFAULT current_user,
  name text,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
  CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash),
  CONSTRAINT api_tokens_hash_is_sha256 CHECK (length(token_hash) = 32)
);

-- The role a token speaks for, if it is valid (not revoked, not expired); NULL otherwise.
-- SECURITY DEFINER: the server's role may read no token row itself, yet must find the one
-- whose hash it was given. search_path pinned, as for every SECURITY DEFINER function.
CREATE FUNCTION sluice.api_tokens_authenticate(p_token_hash bytea) RETURNS name
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  UPDATE sluice.api_tokens SET last_used_at = now()
   WHERE token_hash = p_token_hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  RETURNING owner_role
$$;
REVOKE EXECUTE ON FUNCTION sluice.api_tokens_authenticate(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice.api_tokens_authenticate(bytea) TO sluice_server;

-- Row-level security on every table of workflow data.
DO $$
DECLARE
  t text;
BEGIN
  -- The workflow row decides: its owner, or an admin.
  ALTER TABLE sluice.workflows ENABLE ROW LEVEL SECURITY;
  CREATE POLICY workflows_owner ON sluice.workflows
    USING (owner_role = current_user OR (SELECT sluice.is_admin()))
    WITH CHECK (owner_role = current_user OR (SELECT sluice.is_admin()));

  -- Tables with a workflow_id: visible when their workflow is (its own policy applies).
  FOREACH t IN ARRAY ARRAY['resource_requirements', 'failure_handlers', 'workers', 'jobs', 'files', 'user_data',
                           'results', 'job_samples', 'events', 'workflow_job_counts', 'slurm_schedulers', 'scheduled_compute_nodes',
                           'workflow_actions', 'action_runs'] LOOP
    EXECUTE format('ALTER TABLE sluice.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY %I ON sluice.%I USING (EXISTS (SELECT 1 FROM sluice.workflows w WHERE w.id = workflow_id))',
      t || '_workflow_visible', t);
  END LOOP;

  -- Link tables: visible when what they link is.
  FOREACH t IN ARRAY ARRAY['job_dependencies', 'job_input_files', 'job_output_files', 'job_input_user_data',
                           'job_output_user_data'] LOOP
    EXECUTE format('ALTER TABLE sluice.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY %I ON sluice.%I USING (EXISTS (SELECT 1 FROM sluice.jobs j WHERE j.id = job_id))',
      t || '_job_visible', t);
  END LOOP;
END $$;

ALTER TABLE sluice.workflow_action_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY workflow_action_jobs_action_visible ON sluice.workflow_action_jobs
  USING (EXISTS (SELECT 1 FROM sluice.workflow_actions a WHERE a.id = action_id));
ALTER TABLE sluice.failure_handler_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY failure_handler_rules_handler_visible ON sluice.failure_handler_rules
  USING (EXISTS (SELECT 1 FROM sluice.failure_handlers h WHERE h.id = handler_id));
ALTER TABLE sluice.api_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_owner ON sluice.api_tokens
  USING (owner_role = current_user OR (SELECT sluice.is_admin()))
  WITH CHECK (owner_role = current_user);

-- The views are the public SQL interface: they run as whoever queries them, so that row-level
-- security applies to them too.
ALTER VIEW sluice.workflow_summary SET (security_invoker = true);
ALTER VIEW sluice.live_workers SET (security_invoker = true);
ALTER VIEW sluice.allocations SET (security_invoker = true);
ALTER VIEW sluice.action_status SET (security_invoker = true);

-- The minimum: using the schema, reading and changing rows (row-level security decides which),
-- and the sequences behind ids. Owning the tables (altering, dropping, truncating, switching
-- row-level security off) stays with the role that migrates.
GRANT USAGE ON SCHEMA sluice TO sluice_users, sluice_admin, sluice_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA sluice TO sluice_users, sluice_admin;
REVOKE INSERT, UPDATE, DELETE ON sluice.migrations FROM sluice_users, sluice_admin;
GRANT SELECT ON sluice.migrations TO sluice_server;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA sluice TO sluice_users, sluice_admin;
-- Later migrations' tables and sequences get the same.
ALTER DEFAULT PRIVILEGES IN SCHEMA sluice
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO sluice_users, sluice_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA sluice GRANT USAGE ON SEQUENCES TO sluice_users, sluice_admin;

-- Down Migration
ALTER DEFAULT PRIVILEGES IN SCHEMA sluice REVOKE USAGE ON SEQUENCES FROM sluice_users, sluice_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA sluice
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM sluice_users, sluice_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA sluice FROM sluice_users, sluice_admin;
REVOKE ALL ON ALL TABLES IN SCHEMA sluice FROM sluice_users, sluice_admin, sluice_server;
REVOKE USAGE ON SCHEMA sluice FROM sluice_users, sluice_admin, sluice_server;
ALTER VIEW sluice.action_status RESET (security_invoker);
ALTER VIEW sluice.allocations RESET (security_invoker);
ALTER VIEW sluice.live_workers RESET (security_invoker);
ALTER VIEW sluice.workflow_summary RESET (security_invoker);
DO $$
DECLARE
  p record;
BEGIN
  FOR p IN SELECT policyname, tablename FROM pg_policies WHERE schemaname = 'sluice' LOOP
    EXECUTE format('DROP POLICY %I ON sluice.%I', p.policyname, p.tablename);
  END LOOP;
  FOR p IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'sluice' AND c.relkind = 'r' AND c.relrowsecurity LOOP
    EXECUTE format('ALTER TABLE sluice.%I DISABLE ROW LEVEL SECURITY', p.relname);
  END LOOP;
END $$;
DROP FUNCTION sluice.api_tokens_authenticate(bytea);
DROP TABLE sluice.api_tokens;
DROP FUNCTION sluice.is_admin();
