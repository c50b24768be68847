-- Up Migration

-- Sluice core schema: workflows of shell jobs coordinated by PostgreSQL.
-- Tables are internal; the views are the public SQL interface for admins.
-- Lock order for every transaction that changes job statuses through the lifecycle functions:
-- the workflow row first (FOR NO KEY UPDATE, sluice.workflows_lock), then job rows in id order.
-- See docs/concurrency.md.

CREATE SCHEMA IF NOT EXISTS sluice;

--------------------------------------------------------------------------------------------------
-- Vocabulary. Each state machine is an enum; packages/core/src/model.ts is its TypeScript twin,
-- and test/schema checks that the two agree, status sets included.
--------------------------------------------------------------------------------------------------

CREATE TYPE sluice.job_status AS ENUM (
  'uninitialized', 'blocked', 'ready', 'pending', 'running',
  'completed', 'failed', 'canceled', 'terminated', 'disabled'
);

CREATE TYPE sluice.worker_status AS ENUM ('running', 'stopped', 'lost');

CREATE TYPE sluice.event_kind AS ENUM (
  'workflow_created', 'workflow_initialized', 'workflow_reinitialized', 'workflow_reset',
  'workflow_canceled', 'workflow_completed',
  'job_started', 'job_finished', 'job_requeued', 'job_retried',
  'worker_started', 'worker_stopped', 'worker_lost',
  'action_pending', 'action_started', 'action_finished'
);

-- Claimed by a worker: pending (claimed, not yet started) or running.
CREATE FUNCTION sluice.job_status_is_active(s sluice.job_status) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT s IN ('pending', 'running') $$;

-- Terminal for the user: completed, failed, canceled, terminated.
CREATE FUNCTION sluice.job_status_is_terminal(s sluice.job_status) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT s IN ('completed', 'failed', 'canceled', 'terminated') $$;

-- "Done" is what dependents and workflow completion wait for: terminal, or disabled (a disabled
-- job will never run, so nothing may wait on it forever).
CREATE FUNCTION sluice.job_status_is_done(s sluice.job_status) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT s IN ('completed', 'failed', 'canceled', 'terminated', 'disabled') $$;

-- A dependency that ended like this cancels dependents that have cancel_on_blocking_job_failure.
CREATE FUNCTION sluice.job_status_is_unsuccessful(s sluice.job_status) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT s IN ('failed', 'canceled', 'terminated') $$;

--------------------------------------------------------------------------------------------------
-- Tables.
--------------------------------------------------------------------------------------------------

CREATE TABLE sluice.workflows (
  id bigint GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL,
  description text,
  spec_user text,
  owner_role name NOT NULL DEFAULT current_user,
  project text,
  metadata jsonb,
  slurm_defaults jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- torc's resource_monitor: {enabled, granularity (summary | time_series), sample_interval_seconds,
  -- generate_plots}; workers sample their jobs' process trees when enabled.
  resource_monitor jsonb NOT NULL DEFAULT '{"enabled": false}'::jsonb,
  -- 0 until initialized; each initialize/reinitialize starts a new run.
  run_id integer NOT NULL DEFAULT 0,
  -- Kept by the jobs triggers. Every transaction that finishes a job writes this row, which is
  -- what makes exactly one of two concurrent "last job" completions see the count reach zero.
  num_jobs integer NOT NULL DEFAULT 0,
  unfinished_jobs integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  initialized_at timestamptz,
  completed_at timestamptz,
  canceled_at timestamptz,
  CONSTRAINT workflows_pkey PRIMARY KEY (id),
  CONSTRAINT workflows_name_not_empty CHECK (name <> ''),
  CONSTRAINT workflows_run_id_nonnegative CHECK (run_id >= 0),
  CONSTRAINT workflows_job_counts_valid CHECK (unfinished_jobs >= 0 AND unfinished_jobs <= num_jobs)
);
CREATE INDEX workflows_owner_role_idx ON sluice.workflows (owner_role);

CREATE TABLE sluice.resource_requirements (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  name text NOT NULL,
  num_cpus integer NOT NULL,
  num_gpus integer NOT NULL,
  num_nodes integer NOT NULL,
  memory text NOT NULL,
  memory_bytes bigint NOT NULL,
  runtime text NOT NULL,
  runtime_seconds bigint NOT NULL,
  CONSTRAINT resource_requirements_pkey PRIMARY KEY (id),
  CONSTRAINT resource_requirements_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT resource_requirements_workflow_name_key UNIQUE (workflow_id, name),
  CONSTRAINT resource_requirements_amounts_valid CHECK (
    num_cpus >= 0 AND num_gpus >= 0 AND num_nodes >= 1 AND memory_bytes >= 0 AND runtime_seconds >= 0)
);

-- torc's failure handlers: a job that fails with an exit code one of its handler's rules covers
-- is retried (see jobs_complete).
CREATE TABLE sluice.failure_handlers (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  name text NOT NULL,
  CONSTRAINT failure_handlers_pkey PRIMARY KEY (id),
  CONSTRAINT failure_handlers_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT failure_handlers_workflow_name_key UNIQUE (workflow_id, name)
);

CREATE TABLE sluice.failure_handler_rules (
  handler_id bigint NOT NULL,
  position integer NOT NULL,
  -- NULL: every exit code (match_all_exit_codes); a rule naming the code wins over those.
  exit_codes integer[],
  recovery_script text,
  -- Attempts are numbered from 1: a job is retried while its attempt_id is below this.
  max_retries integer NOT NULL,
  CONSTRAINT failure_handler_rules_pkey PRIMARY KEY (handler_id, position),
  CONSTRAINT failure_handler_rules_handler_fkey FOREIGN KEY (handler_id)
    REFERENCES sluice.failure_handlers (id) ON DELETE CASCADE,
  CONSTRAINT failure_handler_rules_max_retries_positive CHECK (max_retries >= 1)
);

CREATE TABLE sluice.workers (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  run_id integer NOT NULL,
  hostname text NOT NULL,
  pid integer NOT NULL,
  os_user text,
  num_cpus integer NOT NULL,
  memory_bytes bigint NOT NULL,
  num_gpus integer NOT NULL,
  num_nodes integer NOT NULL,
  max_parallel_jobs integer,
  ends_at timestamptz,
  status sluice.worker_status NOT NULL DEFAULT 'running',
  -- Each worker states how long it may stay silent; any process may declare it lost after that.
  heartbeat_timeout interval NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz,
  CONSTRAINT workers_pkey PRIMARY KEY (id),
  CONSTRAINT workers_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT workers_stopped_at_matches_status CHECK ((status = 'running') = (stopped_at IS NULL)),
  CONSTRAINT workers_max_parallel_jobs_positive CHECK (max_parallel_jobs IS NULL OR max_parallel_jobs >= 1)
);
CREATE INDEX workers_live_idx ON sluice.workers (workflow_id) WHERE status = 'running';

CREATE TABLE sluice.jobs (
  id bigint GENERATED BY DEFAULT AS IDENTITY,
  workflow_id bigint NOT NULL,
  name text NOT NULL,
  command text NOT NULL,
  invocation_script text,
  status sluice.job_status NOT NULL DEFAULT 'uninitialized',
  -- No foreign key: resource requirements are immutable and live exactly as long as the
  -- workflow; their amounts are copied below. (Per-row checks dominate bulk creation.)
  resource_requirements_id bigint NOT NULL,
  -- Copied from resource_requirements so that a claim reads one table in one index order:
  -- biggest first.
  num_cpus integer NOT NULL,
  num_gpus integer NOT NULL,
  num_nodes integer NOT NULL,
  memory_bytes bigint NOT NULL,
  runtime_seconds bigint NOT NULL,
  cancel_on_blocking_job_failure boolean NOT NULL DEFAULT true,
  supports_termination boolean NOT NULL DEFAULT false,
  -- Higher is claimed first (torc's priority); ties go by size, then id.
  priority integer NOT NULL DEFAULT 0,
  failure_handler_id bigint,
  -- torc's attempt_id: the attempt within the run, from 1; a retry adds one, a reset starts over.
  attempt_id integer NOT NULL DEFAULT 1,
  -- A retry's recovery script, run before the next attempt's command, with the failed attempt's
  -- return code (see jobs_complete).
  pending_recovery text,
  retry_return_code integer,
  -- Dependencies not yet done, while the job waits (blocked or ready): kept by
  -- tg_jobs__20_status_change, recounted from the dependency rows when a run starts.
  unfinished_deps integer NOT NULL DEFAULT 0,
  worker_id bigint,
  -- Number of times the job has been claimed: the token of one execution, tying its result to it.
  attempt integer NOT NULL DEFAULT 0,
  -- The workflow run of the last claim: names the execution's log files with attempt_id.
  run_id integer,
  claimed_at timestamptz,
  started_at timestamptz,
  CONSTRAINT jobs_pkey PRIMARY KEY (id),
  CONSTRAINT jobs_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT jobs_worker_fkey FOREIGN KEY (worker_id)
    REFERENCES sluice.workers (id) ON DELETE SET NULL,
  CONSTRAINT jobs_failure_handler_fkey FOREIGN KEY (failure_handler_id)
    REFERENCES sluice.failure_handlers (id),
  CONSTRAINT jobs_attempt_id_positive CHECK (attempt_id >= 1),
  CONSTRAINT jobs_workflow_name_key UNIQUE (workflow_id, name),
  CONSTRAINT jobs_unfinished_deps_nonnegative CHECK (unfinished_deps >= 0),
  CONSTRAINT jobs_claimed_has_worker CHECK (NOT sluice.job_status_is_active(status) OR worker_id IS NOT NULL)
);
-- The claim path: ready jobs of one workflow, biggest first.
CREATE INDEX jobs_ready_idx ON sluice.jobs
  (workflow_id, priority DESC, num_gpus DESC, runtime_seconds DESC, memory_bytes DESC, num_cpus DESC, id)
  WHERE status = 'ready';
-- A workflow's jobs in id order: the pages of jobs list (keyset by id).
CREATE INDEX jobs_workflow_idx ON sluice.jobs (workflow_id, id);
-- Finding a (lost) worker's jobs.
CREATE INDEX jobs_worker_active_idx ON sluice.jobs (worker_id) WHERE sluice.job_status_is_active(status);

CREATE TABLE sluice.job_dependencies (
  job_id bigint NOT NULL,
  depends_on_job_id bigint NOT NULL,
  CONSTRAINT job_dependencies_pkey PRIMARY KEY (job_id, depends_on_job_id),
  -- Only job_id has a foreign key: both ends always belong to one workflow and are created in
  -- one transaction by workflow creation; a job deleted by hand takes the rows that point at it
  -- with it (tg_jobs__20_release_dependents). A second per-row check would double the cost of
  -- creating a 100k-dependency workflow for no added protection.
  CONSTRAINT job_dependencies_job_fkey FOREIGN KEY (job_id)
    REFERENCES sluice.jobs (id) ON DELETE CASCADE,
  CONSTRAINT job_dependencies_not_self CHECK (job_id <> depends_on_job_id)
);
-- The completion path: dependents of a job.
CREATE INDEX job_dependencies_dependents_idx ON sluice.job_dependencies (depends_on_job_id, job_id);

CREATE TABLE sluice.files (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  name text NOT NULL,
  path text NOT NULL,
  CONSTRAINT files_pkey PRIMARY KEY (id),
  CONSTRAINT files_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT files_workflow_name_key UNIQUE (workflow_id, name)
);

CREATE TABLE sluice.job_input_files (
  job_id bigint NOT NULL,
  file_id bigint NOT NULL,
  CONSTRAINT job_input_files_pkey PRIMARY KEY (job_id, file_id),
  CONSTRAINT job_input_files_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs (id) ON DELETE CASCADE,
  CONSTRAINT job_input_files_file_fkey FOREIGN KEY (file_id) REFERENCES sluice.files (id) ON DELETE CASCADE
);
CREATE INDEX job_input_files_file_idx ON sluice.job_input_files (file_id);

CREATE TABLE sluice.job_output_files (
  job_id bigint NOT NULL,
  file_id bigint NOT NULL,
  CONSTRAINT job_output_files_pkey PRIMARY KEY (job_id, file_id),
  CONSTRAINT job_output_files_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs (id) ON DELETE CASCADE,
  CONSTRAINT job_output_files_file_fkey FOREIGN KEY (file_id) REFERENCES sluice.files (id) ON DELETE CASCADE,
  -- One writer per file: the implicit dependency on it must be unambiguous.
  CONSTRAINT job_output_files_file_key UNIQUE (file_id)
);

CREATE TABLE sluice.user_data (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  name text NOT NULL,
  data jsonb,
  -- Cleared when the workflow is reinitialized (torc's is_ephemeral).
  is_ephemeral boolean NOT NULL DEFAULT false,
  CONSTRAINT user_data_pkey PRIMARY KEY (id),
  CONSTRAINT user_data_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT user_data_workflow_name_key UNIQUE (workflow_id, name)
);

CREATE TABLE sluice.job_input_user_data (
  job_id bigint NOT NULL,
  user_data_id bigint NOT NULL,
  CONSTRAINT job_input_user_data_pkey PRIMARY KEY (job_id, user_data_id),
  CONSTRAINT job_input_user_data_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs (id) ON DELETE CASCADE,
  CONSTRAINT job_input_user_data_user_data_fkey FOREIGN KEY (user_data_id)
    REFERENCES sluice.user_data (id) ON DELETE CASCADE
);
CREATE INDEX job_input_user_data_user_data_idx ON sluice.job_input_user_data (user_data_id);

CREATE TABLE sluice.job_output_user_data (
  job_id bigint NOT NULL,
  user_data_id bigint NOT NULL,
  CONSTRAINT job_output_user_data_pkey PRIMARY KEY (job_id, user_data_id),
  CONSTRAINT job_output_user_data_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs (id) ON DELETE CASCADE,
  CONSTRAINT job_output_user_data_user_data_fkey FOREIGN KEY (user_data_id)
    REFERENCES sluice.user_data (id) ON DELETE CASCADE,
  CONSTRAINT job_output_user_data_user_data_key UNIQUE (user_data_id)
);

CREATE TABLE sluice.results (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  job_id bigint NOT NULL,
  worker_id bigint,
  run_id integer NOT NULL,
  attempt integer NOT NULL,
  attempt_id integer NOT NULL,
  status sluice.job_status NOT NULL,
  return_code integer,
  started_at timestamptz,
  completed_at timestamptz NOT NULL DEFAULT now(),
  exec_time_s double precision GENERATED ALWAYS AS (extract(epoch FROM completed_at - started_at)) STORED,
  message text,
  stdout_path text,
  stderr_path text,
  -- Resource monitoring (when enabled): the job's whole process tree, sampled by its worker.
  peak_memory_bytes bigint,
  avg_memory_bytes bigint,
  peak_cpu_percent double precision,
  avg_cpu_percent double precision,
  CONSTRAINT results_pkey PRIMARY KEY (id),
  CONSTRAINT results_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT results_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs (id) ON DELETE CASCADE,
  CONSTRAINT results_worker_fkey FOREIGN KEY (worker_id) REFERENCES sluice.workers (id) ON DELETE SET NULL,
  CONSTRAINT results_status_terminal CHECK (sluice.job_status_is_terminal(status)),
  -- One result per execution: the claim's attempt number is the execution's token, and whoever
  -- records an execution first (its worker, a reap, a stop) is the one that counts.
  CONSTRAINT results_job_attempt_key UNIQUE (job_id, attempt)
);
CREATE INDEX results_workflow_idx ON sluice.results (workflow_id, id);

-- Resource monitoring with granularity time_series: every sample of every execution.
CREATE TABLE sluice.job_samples (
  workflow_id bigint NOT NULL,
  job_id bigint NOT NULL,
  attempt integer NOT NULL,
  sampled_at timestamptz NOT NULL,
  memory_bytes bigint NOT NULL,
  cpu_percent double precision NOT NULL,
  processes integer NOT NULL,
  CONSTRAINT job_samples_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT job_samples_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs (id) ON DELETE CASCADE
);
CREATE INDEX job_samples_job_idx ON sluice.job_samples (job_id, attempt, sampled_at);

-- Append-only history. No foreign keys to jobs or workers: the log outlives what it mentions.
CREATE TABLE sluice.events (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  kind sluice.event_kind NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  job_id bigint,
  worker_id bigint,
  action_id bigint,
  data jsonb,
  CONSTRAINT events_pkey PRIMARY KEY (id),
  CONSTRAINT events_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE
);
CREATE INDEX events_workflow_idx ON sluice.events (workflow_id, id);

-- Jobs per status of each workflow, kept by the jobs triggers, so that status, progress and
-- workflow_summary cost a few rows whatever the workflow's size. Sharded by backend: claims,
-- which change statuses without the workflow's lock, then update rows of their own and do not
-- queue on one another; readers sum the shards.
CREATE TABLE sluice.workflow_job_counts (
  workflow_id bigint NOT NULL,
  shard smallint NOT NULL,
  status sluice.job_status NOT NULL,
  jobs bigint NOT NULL,
  CONSTRAINT workflow_job_counts_pkey PRIMARY KEY (workflow_id, shard, status),
  CONSTRAINT workflow_job_counts_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE
);

-- Adds per-(workflow, status) deltas to this backend's shard, in one statement, rows locked in
-- key order (two backends that share a shard take them in the same order).
CREATE FUNCTION sluice.workflow_job_counts_add(p_workflow_ids bigint[], p_statuses sluice.job_status[],
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

--------------------------------------------------------------------------------------------------
-- Job counters, kept by statement-level triggers so that bulk statements (initialize, reset,
-- cancel of thousands of jobs) cost a handful of set-based queries, not one query per row.
--------------------------------------------------------------------------------------------------

CREATE FUNCTION sluice.tg_jobs__count_inserted() RETURNS trigger
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

CREATE TRIGGER tg_jobs__10_count_inserted AFTER INSERT ON sluice.jobs
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__count_inserted();

CREATE FUNCTION sluice.tg_jobs__count_deleted() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  v_wfs bigint[];
  v_statuses sluice.job_status[];
  v_counts bigint[];
BEGIN
  UPDATE sluice.workflows w
     SET num_jobs = w.num_jobs - c.n,
         unfinished_jobs = w.unfinished_jobs - c.unfinished
    FROM (SELECT workflow_id, count(*) AS n,
                 count(*) FILTER (WHERE NOT sluice.job_status_is_done(status)) AS unfinished
            FROM old_rows GROUP BY workflow_id) c
   WHERE w.id = c.workflow_id;
  -- Jobs deleted with their workflow take their counts with them (the foreign key cascades).
  SELECT array_agg(workflow_id), array_agg(status), array_agg(-n) INTO v_wfs, v_statuses, v_counts
    FROM (SELECT o.workflow_id, o.status, count(*) AS n FROM old_rows o
           WHERE EXISTS (SELECT 1 FROM sluice.workflows w WHERE w.id = o.workflow_id)
           GROUP BY o.workflow_id, o.status) c;
  IF v_wfs IS NOT NULL THEN
    PERFORM sluice.workflow_job_counts_add(v_wfs, v_statuses, v_counts);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tg_jobs__10_count_deleted AFTER DELETE ON sluice.jobs
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__count_deleted();

-- jit off: the planner's estimates for transition tables and recursive cascades are far too
-- high, and compiling those plans costs more than running them.
CREATE FUNCTION sluice.tg_jobs__status_change() RETURNS trigger
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

CREATE TRIGGER tg_jobs__20_status_change AFTER UPDATE ON sluice.jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__status_change();

-- A job row deleted by hand (not with its workflow): its dependents stop waiting for it.
CREATE FUNCTION sluice.tg_jobs__release_dependents() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  v_gone bigint[];
  v_unfinished bigint[];
BEGIN
  -- Jobs deleted with their workflow need nothing: everything that counted them goes too.
  SELECT array_agg(o.id ORDER BY o.id),
         array_agg(o.id ORDER BY o.id) FILTER (WHERE NOT sluice.job_status_is_done(o.status))
    INTO v_gone, v_unfinished
    FROM old_rows o WHERE EXISTS (SELECT 1 FROM sluice.workflows w WHERE w.id = o.workflow_id);
  IF v_gone IS NULL THEN
    RETURN NULL;
  END IF;
  IF v_unfinished IS NOT NULL THEN
    PERFORM 1 FROM sluice.jobs j
     WHERE j.id IN (SELECT d.job_id FROM sluice.job_dependencies d WHERE d.depends_on_job_id = ANY (v_unfinished))
       AND j.status IN ('blocked', 'ready')
     ORDER BY j.id FOR NO KEY UPDATE;
    UPDATE sluice.jobs j
       SET unfinished_deps = j.unfinished_deps - c.n,
           status = CASE WHEN j.status = 'blocked' AND j.unfinished_deps - c.n = 0
                         THEN 'ready'::sluice.job_status ELSE j.status END
      FROM (SELECT d.job_id, count(*)::int AS n FROM sluice.job_dependencies d
             WHERE d.depends_on_job_id = ANY (v_unfinished) GROUP BY d.job_id) c
     WHERE j.id = c.job_id AND j.status IN ('blocked', 'ready');
  END IF;
  -- No foreign key holds these (see job_dependencies): the rows pointing at the deleted jobs go here.
  DELETE FROM sluice.job_dependencies WHERE depends_on_job_id = ANY (v_gone);
  RETURN NULL;
END $$;

CREATE TRIGGER tg_jobs__20_release_dependents AFTER DELETE ON sluice.jobs
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__release_dependents();

--------------------------------------------------------------------------------------------------
-- Workflow lifecycle. Each function takes the workflow row lock first (see the lock order above).
--------------------------------------------------------------------------------------------------

CREATE FUNCTION sluice.workflows_lock(p_workflow_id bigint) RETURNS sluice.workflows
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
-- work_mem: the dependency count of 100k jobs sorts in memory instead of spilling to disk.
CREATE FUNCTION sluice.workflows_start_run(p_workflow_id bigint, p_kind sluice.event_kind)
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

CREATE FUNCTION sluice.workflows_initialize(p_workflow_id bigint) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_wf sluice.workflows;
BEGIN
  v_wf := sluice.workflows_lock(p_workflow_id);
  IF v_wf.run_id > 0 THEN
    RAISE EXCEPTION 'workflow % is already initialized (run %); use reinitialize', p_workflow_id, v_wf.run_id
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'WORKFLOW_STATE';
  END IF;
  RETURN sluice.workflows_start_run(p_workflow_id, 'workflow_initialized');
END $$;

CREATE FUNCTION sluice.workflows_reinitialize(p_workflow_id bigint) RETURNS integer
  LANGUAGE sql AS $$
  SELECT sluice.workflows_start_run(p_workflow_id, 'workflow_reinitialized')
$$;

-- Initialize unless some run has started: two `sluice run ID` at once on a new workflow both
-- go on, one of them having initialized it. Returns the current run id.
CREATE FUNCTION sluice.workflows_ensure_initialized(p_workflow_id bigint) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_wf sluice.workflows;
BEGIN
  v_wf := sluice.workflows_lock(p_workflow_id);
  IF v_wf.run_id > 0 THEN
    RETURN v_wf.run_id;
  END IF;
  RETURN sluice.workflows_start_run(p_workflow_id, 'workflow_initialized');
END $$;

-- Lock, then check: a claim that commits while the reset waits for its rows is seen, and refused.
CREATE FUNCTION sluice.workflows_reset_status(p_workflow_id bigint, p_failed_only boolean)
  RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_busy integer;
  v_reset integer;
BEGIN
  PERFORM sluice.workflows_lock(p_workflow_id);

  IF p_failed_only THEN
    WITH RECURSIVE affected (id) AS (
      SELECT id FROM sluice.jobs
       WHERE workflow_id = p_workflow_id AND sluice.job_status_is_unsuccessful(status)
      UNION
      SELECT d.job_id FROM affected a JOIN sluice.job_dependencies d ON d.depends_on_job_id = a.id
    )
    SELECT array_agg(id ORDER BY id) INTO v_ids FROM (SELECT DISTINCT id FROM affected) s;
  ELSE
    SELECT array_agg(id ORDER BY id) INTO v_ids FROM sluice.jobs WHERE workflow_id = p_workflow_id;
  END IF;
  v_ids := coalesce(v_ids, '{}');

  PERFORM 1 FROM sluice.jobs WHERE id = ANY (v_ids) ORDER BY id FOR NO KEY UPDATE;
  SELECT count(*) INTO v_busy FROM sluice.jobs
   WHERE id = ANY (v_ids) AND sluice.job_status_is_active(status);
  IF v_busy > 0 THEN
    RAISE EXCEPTION 'workflow % has % running jobs to reset; cancel it or wait', p_workflow_id, v_busy
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'WORKFLOW_STATE';
  END IF;

  UPDATE sluice.jobs
     SET status = 'uninitialized', claimed_at = NULL, started_at = NULL, attempt_id = 1,
         pending_recovery = NULL, retry_return_code = NULL
   WHERE id = ANY (v_ids) AND status <> 'uninitialized';
  GET DIAGNOSTICS v_reset = ROW_COUNT;

  UPDATE sluice.workflows SET canceled_at = NULL WHERE id = p_workflow_id;
  INSERT INTO sluice.events (workflow_id, kind, data)
  VALUES (p_workflow_id, 'workflow_reset',
          jsonb_build_object('failed_only', p_failed_only, 'jobs', v_reset));
  PERFORM pg_notify('sluice_workflow_state', p_workflow_id::text);
  RETURN v_reset;
END $$;

CREATE FUNCTION sluice.workflows_cancel(p_workflow_id bigint) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_canceled integer;
BEGIN
  PERFORM sluice.workflows_lock(p_workflow_id);
  UPDATE sluice.workflows SET canceled_at = coalesce(canceled_at, now()) WHERE id = p_workflow_id;
  PERFORM 1 FROM sluice.jobs
   WHERE workflow_id = p_workflow_id AND NOT sluice.job_status_is_done(status)
   ORDER BY id FOR NO KEY UPDATE;
  UPDATE sluice.jobs SET status = 'canceled'
   WHERE workflow_id = p_workflow_id AND NOT sluice.job_status_is_done(status);
  GET DIAGNOSTICS v_canceled = ROW_COUNT;
  INSERT INTO sluice.events (workflow_id, kind, data)
  VALUES (p_workflow_id, 'workflow_canceled', jsonb_build_object('jobs', v_canceled));
  PERFORM pg_notify('sluice_workflow_state', p_workflow_id::text);
  RETURN v_canceled;
END $$;

--------------------------------------------------------------------------------------------------
-- Workers, and the completion of the jobs they claimed (claims, which start jobs: 0004_job-claims).
--------------------------------------------------------------------------------------------------

CREATE FUNCTION sluice.workers_register(
  p_workflow_id bigint, p_hostname text, p_pid integer, p_os_user text,
  p_num_cpus integer, p_memory_bytes bigint, p_num_gpus integer, p_num_nodes integer,
  p_max_parallel_jobs integer, p_ends_at timestamptz, p_heartbeat_timeout interval)
  RETURNS sluice.workers
  LANGUAGE plpgsql AS $$
DECLARE
  v_wf sluice.workflows;
  v_worker sluice.workers;
BEGIN
  SELECT * INTO v_wf FROM sluice.workflows WHERE id = p_workflow_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'workflow % does not exist', p_workflow_id
      USING ERRCODE = 'no_data_found', HINT = 'WORKFLOW_NOT_FOUND';
  END IF;
  INSERT INTO sluice.workers (workflow_id, run_id, hostname, pid, os_user, num_cpus, memory_bytes,
                              num_gpus, num_nodes, max_parallel_jobs, ends_at, heartbeat_timeout)
  VALUES (p_workflow_id, v_wf.run_id, p_hostname, p_pid, p_os_user, p_num_cpus, p_memory_bytes,
          p_num_gpus, p_num_nodes, p_max_parallel_jobs, p_ends_at, p_heartbeat_timeout)
  RETURNING * INTO v_worker;
  INSERT INTO sluice.events (workflow_id, kind, worker_id, data)
  VALUES (p_workflow_id, 'worker_started', v_worker.id,
          jsonb_build_object('hostname', p_hostname, 'pid', p_pid));
  RETURN v_worker;
END $$;

-- Returns the worker's status after the beat: 'lost' tells a worker that was declared dead
-- (it went silent too long) to stop its jobs and leave.
CREATE FUNCTION sluice.workers_heartbeat(p_worker_id bigint) RETURNS sluice.worker_status
  LANGUAGE sql AS $$
  UPDATE sluice.workers SET heartbeat_at = now()
   WHERE id = p_worker_id AND status = 'running'
  RETURNING status;
$$;

-- Ends every execution the given workers still hold: terminated, with a result and an event.
-- The caller holds the lock of the workflow these workers belong to.
CREATE FUNCTION sluice.workers_release_jobs(p_worker_ids bigint[], p_message text) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_n integer;
BEGIN
  PERFORM 1 FROM sluice.jobs
   WHERE worker_id = ANY (p_worker_ids) AND sluice.job_status_is_active(status) ORDER BY id FOR NO KEY UPDATE;
  WITH terminated AS (
    UPDATE sluice.jobs SET status = 'terminated'
     WHERE worker_id = ANY (p_worker_ids) AND sluice.job_status_is_active(status)
    RETURNING *
  ), recorded AS (
    INSERT INTO sluice.results (workflow_id, job_id, worker_id, run_id, attempt, attempt_id, status, started_at, message)
    SELECT t.workflow_id, t.id, t.worker_id, w.run_id, t.attempt, t.attempt_id, 'terminated', t.started_at,
           replace(p_message, '%w', t.worker_id::text)
      FROM terminated t JOIN sluice.workflows w ON w.id = t.workflow_id
    ON CONFLICT ON CONSTRAINT results_job_attempt_key DO NOTHING
    RETURNING workflow_id, job_id, worker_id, attempt
  )
  INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
  SELECT workflow_id, 'job_finished', job_id, worker_id,
         jsonb_build_object('status', 'terminated', 'attempt', attempt)
    FROM recorded;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n;
END $$;

CREATE FUNCTION sluice.workers_stop(p_worker_id bigint) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  v_workflow_id bigint;
BEGIN
  SELECT workflow_id INTO v_workflow_id FROM sluice.workers WHERE id = p_worker_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM sluice.workflows_lock(v_workflow_id);
  UPDATE sluice.workers SET status = 'stopped', stopped_at = now()
   WHERE id = p_worker_id AND status = 'running';
  IF FOUND THEN
    PERFORM sluice.workers_release_jobs(ARRAY[p_worker_id], 'worker %w stopped while the job ran');
    INSERT INTO sluice.events (workflow_id, kind, worker_id) VALUES (v_workflow_id, 'worker_stopped', p_worker_id);
  END IF;
END $$;

-- Declares workers of a workflow that stayed silent past their own timeout lost and ends what
-- they held; also ends executions still held by any worker that is no longer running.
CREATE FUNCTION sluice.workers_reap(p_workflow_id bigint) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  v_lost bigint[];
  v_holders bigint[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM sluice.workers
                  WHERE workflow_id = p_workflow_id AND status = 'running'
                    AND heartbeat_at < now() - heartbeat_timeout)
     AND NOT EXISTS (SELECT 1 FROM sluice.jobs j JOIN sluice.workers k ON k.id = j.worker_id
                      WHERE j.workflow_id = p_workflow_id AND sluice.job_status_is_active(j.status)
                        AND k.status <> 'running') THEN
    RETURN 0;
  END IF;
  PERFORM sluice.workflows_lock(p_workflow_id);

  WITH lost AS (
    UPDATE sluice.workers SET status = 'lost', stopped_at = now()
     WHERE workflow_id = p_workflow_id AND status = 'running'
       AND heartbeat_at < now() - heartbeat_timeout
    RETURNING id
  )
  SELECT array_agg(id ORDER BY id) INTO v_lost FROM lost;

  SELECT array_agg(DISTINCT j.worker_id) INTO v_holders
    FROM sluice.jobs j JOIN sluice.workers k ON k.id = j.worker_id
   WHERE j.workflow_id = p_workflow_id AND sluice.job_status_is_active(j.status) AND k.status <> 'running';
  IF v_holders IS NOT NULL THEN
    PERFORM sluice.workers_release_jobs(v_holders, 'worker %w was lost (no heartbeat)');
  END IF;

  IF v_lost IS NULL THEN
    RETURN 0;
  END IF;
  INSERT INTO sluice.events (workflow_id, kind, worker_id)
  SELECT p_workflow_id, 'worker_lost', unnest(v_lost);
  RETURN cardinality(v_lost);
END $$;

-- Records finished executions in one transaction. An execution is (job, attempt): its result is
-- written once, by whoever gets there first (this worker, or a reap or stop that ended it), so
-- a completion retried after a lost reply adds nothing. The job takes the execution's status when
-- it is still this worker's running execution (a job canceled meanwhile keeps its status; its
-- result says how the process ended).
-- Retries (torc's failure handlers) are decided here, in the transaction that records the
-- failure, so that a worker dying after it cannot lose or double one: a failed, retryable
-- execution whose exit code a rule of the job's handler covers (a rule naming the code wins over
-- one matching all codes, then the first written), while the job's attempt_id is below the
-- rule's max_retries, puts the job back to ready with attempt_id + 1 and the rule's recovery
-- script pending, to run before the next attempt. Its dependents are untouched, and actions
-- count only the final outcome. p_retryable is false for an execution that may not be retried
-- (its recovery script failed, or the worker stopped it).
-- Samples (resource monitoring, time_series) come with their executions.
-- Returns the ids whose execution now has a result.
CREATE FUNCTION sluice.jobs_complete(
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

-- Gives back executions the database says this worker holds but the worker is not running (a
-- claim whose reply was lost): they go back to ready, untouched otherwise.
CREATE FUNCTION sluice.jobs_requeue(p_worker_id bigint, p_job_ids bigint[], p_attempts integer[])
  RETURNS SETOF bigint
  LANGUAGE plpgsql AS $$
DECLARE
  v_workflow_id bigint;
BEGIN
  SELECT workflow_id INTO v_workflow_id FROM sluice.workers WHERE id = p_worker_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM sluice.workflows_lock(v_workflow_id);
  PERFORM 1 FROM sluice.jobs WHERE id = ANY (p_job_ids) ORDER BY id FOR NO KEY UPDATE;
  RETURN QUERY
  WITH requeued AS (
    UPDATE sluice.jobs j SET status = 'ready', worker_id = NULL, claimed_at = NULL, started_at = NULL
      FROM unnest(p_job_ids, p_attempts) AS i(job_id, attempt)
     WHERE j.id = i.job_id AND j.attempt = i.attempt AND j.worker_id = p_worker_id
       AND sluice.job_status_is_active(j.status)
    RETURNING j.id, j.workflow_id, j.attempt
  ), logged AS (
    INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
    SELECT workflow_id, 'job_requeued', id, p_worker_id, jsonb_build_object('attempt', attempt)
      FROM requeued
  )
  SELECT id FROM requeued;
END $$;

-- For admins: sets jobs' status by hand, locking in the lifecycle functions' order (workflows,
-- then jobs, each in id order) so that it never deadlocks with workers. Jobs are claimed by
-- workers only: a running status cannot be set here. A running job set to anything else is
-- stopped by its worker. Returns how many jobs changed.
CREATE FUNCTION sluice.jobs_set_status(p_job_ids bigint[], p_status sluice.job_status) RETURNS integer
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

--------------------------------------------------------------------------------------------------
-- Public SQL interface for admins.
--------------------------------------------------------------------------------------------------

CREATE VIEW sluice.workflow_summary AS
SELECT w.id, w.name, w.owner_role, w.spec_user AS "user", w.project, w.run_id,
       w.num_jobs, w.unfinished_jobs,
       (w.run_id > 0 AND w.unfinished_jobs = 0 AND w.canceled_at IS NULL) AS is_complete,
       (w.canceled_at IS NOT NULL) AS is_canceled,
       coalesce(c.uninitialized, 0) AS uninitialized, coalesce(c.blocked, 0) AS blocked,
       coalesce(c.ready, 0) AS ready, coalesce(c.pending, 0) AS pending,
       coalesce(c.running, 0) AS running, coalesce(c.completed, 0) AS completed,
       coalesce(c.failed, 0) AS failed, coalesce(c.canceled, 0) AS canceled,
       coalesce(c.terminated, 0) AS terminated, coalesce(c.disabled, 0) AS disabled,
       (SELECT count(*) FROM sluice.workers k WHERE k.workflow_id = w.id AND k.status = 'running') AS live_workers,
       w.created_at, w.initialized_at, w.completed_at, w.canceled_at
  FROM sluice.workflows w
  LEFT JOIN LATERAL (
    SELECT sum(jobs) FILTER (WHERE status = 'uninitialized')::int AS uninitialized,
           sum(jobs) FILTER (WHERE status = 'blocked')::int AS blocked,
           sum(jobs) FILTER (WHERE status = 'ready')::int AS ready,
           sum(jobs) FILTER (WHERE status = 'pending')::int AS pending,
           sum(jobs) FILTER (WHERE status = 'running')::int AS running,
           sum(jobs) FILTER (WHERE status = 'completed')::int AS completed,
           sum(jobs) FILTER (WHERE status = 'failed')::int AS failed,
           sum(jobs) FILTER (WHERE status = 'canceled')::int AS canceled,
           sum(jobs) FILTER (WHERE status = 'terminated')::int AS terminated,
           sum(jobs) FILTER (WHERE status = 'disabled')::int AS disabled
      FROM sluice.workflow_job_counts n WHERE n.workflow_id = w.id
  ) c ON true;

COMMENT ON VIEW sluice.workflow_summary IS
  'One row per workflow: job counts by status, completion, cancellation and live workers.';

CREATE VIEW sluice.live_workers AS
SELECT k.id, k.workflow_id, k.hostname, k.pid, k.os_user, k.num_cpus, k.memory_bytes, k.num_gpus,
       k.num_nodes, k.started_at, k.heartbeat_at, now() - k.heartbeat_at AS silent_for,
       (now() - k.heartbeat_at > k.heartbeat_timeout) AS overdue,
       (SELECT count(*) FROM sluice.jobs j WHERE j.worker_id = k.id AND sluice.job_status_is_active(j.status)) AS active_jobs
  FROM sluice.workers k
 WHERE k.status = 'running';

COMMENT ON VIEW sluice.live_workers IS
  'Workers not yet stopped or declared lost, with how long each has been silent.';

-- Down Migration
-- The schema stays: node-pg-migrate keeps its own table (sluice.migrations) in it.
DROP VIEW sluice.live_workers;
DROP VIEW sluice.workflow_summary;
DROP FUNCTION sluice.jobs_complete(bigint, bigint[], integer[], sluice.job_status[], integer[],
  timestamptz[], timestamptz[], text[], text[], text[], boolean[], bigint[], bigint[], double precision[],
  double precision[], bigint[], integer[], timestamptz[], bigint[], double precision[], integer[]);
DROP FUNCTION sluice.jobs_set_status(bigint[], sluice.job_status);
DROP FUNCTION sluice.jobs_requeue(bigint, bigint[], integer[]);
DROP FUNCTION sluice.workers_reap(bigint);
DROP FUNCTION sluice.workers_stop(bigint);
DROP FUNCTION sluice.workers_release_jobs(bigint[], text);
DROP FUNCTION sluice.workers_heartbeat(bigint);
DROP FUNCTION sluice.workers_register(bigint, text, integer, text, integer, bigint, integer, integer,
  integer, timestamptz, interval);
DROP FUNCTION sluice.workflows_cancel(bigint);
DROP FUNCTION sluice.workflows_reset_status(bigint, boolean);
DROP FUNCTION sluice.workflows_ensure_initialized(bigint);
DROP FUNCTION sluice.workflows_reinitialize(bigint);
DROP FUNCTION sluice.workflows_initialize(bigint);
DROP FUNCTION sluice.workflows_start_run(bigint, sluice.event_kind);
DROP FUNCTION sluice.workflows_lock(bigint);
DROP TABLE sluice.workflow_job_counts, sluice.events, sluice.job_samples, sluice.results, sluice.job_output_user_data, sluice.job_input_user_data,
  sluice.user_data, sluice.job_output_files, sluice.job_input_files, sluice.files,
  sluice.job_dependencies, sluice.jobs, sluice.workers, sluice.failure_handler_rules, sluice.failure_handlers,
  sluice.resource_requirements, sluice.workflows;
DROP FUNCTION sluice.tg_jobs__release_dependents();
DROP FUNCTION sluice.tg_jobs__status_change();
DROP FUNCTION sluice.tg_jobs__count_deleted();
DROP FUNCTION sluice.tg_jobs__count_inserted();
DROP FUNCTION sluice.workflow_job_counts_add(bigint[], sluice.job_status[], bigint[]);
DROP FUNCTION sluice.job_status_is_unsuccessful(sluice.job_status);
DROP FUNCTION sluice.job_status_is_done(sluice.job_status);
DROP FUNCTION sluice.job_status_is_terminal(sluice.job_status);
DROP FUNCTION sluice.job_status_is_active(sluice.job_status);
DROP TYPE sluice.event_kind;
DROP TYPE sluice.worker_status;
DROP TYPE sluice.job_status;
