--
-- PostgreSQL database dump
--

--
-- Name: sluice; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA sluice;

--
-- Name: action_run_status; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.action_run_status AS ENUM (
    'running',
    'succeeded',
    'failed',
    'abandoned'
);

--
-- Name: action_type; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.action_type AS ENUM (
    'run_commands',
    'schedule_nodes'
);

--
-- Name: allocation_status; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.allocation_status AS ENUM (
    'pending',
    'active',
    'complete',
    'failed',
    'canceled',
    'unknown'
);

--
-- Name: event_kind; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.event_kind AS ENUM (
    'workflow_created',
    'workflow_initialized',
    'workflow_reinitialized',
    'workflow_reset',
    'workflow_canceled',
    'workflow_completed',
    'job_started',
    'job_finished',
    'job_requeued',
    'job_retried',
    'worker_started',
    'worker_stopped',
    'worker_lost',
    'action_pending',
    'action_started',
    'action_finished'
);

--
-- Name: job_status; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.job_status AS ENUM (
    'uninitialized',
    'blocked',
    'ready',
    'pending',
    'running',
    'completed',
    'failed',
    'canceled',
    'terminated',
    'disabled'
);

--
-- Name: trigger_type; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.trigger_type AS ENUM (
    'on_workflow_start',
    'on_workflow_complete',
    'on_jobs_ready',
    'on_jobs_complete',
    'on_worker_start',
    'on_worker_complete'
);

--
-- Name: worker_status; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.worker_status AS ENUM (
    'running',
    'stopped',
    'lost'
);

--
-- Name: workflow_action_status; Type: TYPE; Schema: sluice; Owner: -
--

CREATE TYPE sluice.workflow_action_status AS ENUM (
    'waiting',
    'pending',
    'running',
    'succeeded',
    'failed'
);

--
-- Name: action_runs_finish(bigint, boolean, integer, text, text, text, text); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.action_runs_finish(p_action_run_id bigint, p_succeeded boolean, p_exit_code integer, p_failed_command text, p_message text, p_stdout_path text, p_stderr_path text) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_run sluice.action_runs;
BEGIN
  UPDATE sluice.action_runs
     SET status = CASE WHEN p_succeeded THEN 'succeeded'::sluice.action_run_status
                       ELSE 'failed'::sluice.action_run_status END,
         finished_at = now(), exit_code = p_exit_code, failed_command = p_failed_command,
         message = p_message, stdout_path = p_stdout_path, stderr_path = p_stderr_path
   WHERE id = p_action_run_id AND status = 'running'
  RETURNING * INTO v_run;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  UPDATE sluice.workflow_actions
     SET status = CASE WHEN p_succeeded THEN 'succeeded'::sluice.workflow_action_status
                       ELSE 'failed'::sluice.workflow_action_status END
   WHERE id = v_run.action_id AND NOT persistent AND status = 'running' AND claimed_run_id = v_run.id;
  INSERT INTO sluice.events (workflow_id, kind, action_id, worker_id, data)
  VALUES (v_run.workflow_id, 'action_finished', v_run.action_id, v_run.worker_id,
          jsonb_build_object('action_run_id', v_run.id, 'status', v_run.status, 'exit_code', p_exit_code));
  -- Jobs may have been held back by this run (on_workflow_start): wake the workers.
  PERFORM pg_notify('sluice_jobs_ready', v_run.workflow_id::text);
  RETURN true;
END $$;

--
-- Name: action_runs_release(bigint, bigint[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.action_runs_release(p_worker_id bigint, p_action_run_ids bigint[]) RETURNS SETOF bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_actions bigint[];
  v_released bigint[];
  v_workflow_id bigint;
BEGIN
  SELECT array_agg(DISTINCT action_id), min(workflow_id) INTO v_actions, v_workflow_id FROM sluice.action_runs
   WHERE id = ANY (p_action_run_ids) AND worker_id = p_worker_id AND status = 'running';
  IF v_actions IS NULL THEN
    RETURN;
  END IF;
  PERFORM 1 FROM sluice.workflow_actions WHERE id = ANY (v_actions) ORDER BY id FOR NO KEY UPDATE;
  WITH released AS (
    DELETE FROM sluice.action_runs
     WHERE id = ANY (p_action_run_ids) AND worker_id = p_worker_id AND status = 'running'
    RETURNING id, action_id, workflow_id, worker_id
  ), requeued AS (
    UPDATE sluice.workflow_actions a SET status = 'pending', claimed_run_id = NULL
      FROM released x WHERE a.id = x.action_id AND NOT a.persistent AND a.status = 'running'
       AND a.claimed_run_id = x.id
    RETURNING a.id
  ), logged AS (
    INSERT INTO sluice.events (workflow_id, kind, action_id, worker_id, data)
    SELECT workflow_id, 'action_finished', action_id, worker_id,
           jsonb_build_object('action_run_id', id, 'status', 'released',
                              'message', 'the claim never reached worker ' || worker_id)
      FROM released
  )
  SELECT array_agg(id) INTO v_released FROM released;
  PERFORM pg_notify('sluice_actions_pending', v_workflow_id::text);
  RETURN QUERY SELECT unnest(v_released);
END $$;

--
-- Name: actions_arm_workflow_complete(bigint, boolean); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.actions_arm_workflow_complete(p_workflow_id bigint, p_complete boolean) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_ids bigint[];
BEGIN
  SELECT array_agg(id ORDER BY id) INTO v_ids FROM sluice.workflow_actions
   WHERE workflow_id = p_workflow_id AND trigger_type = 'on_workflow_complete';
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  PERFORM 1 FROM sluice.workflow_actions WHERE id = ANY (v_ids) ORDER BY id FOR NO KEY UPDATE;
  UPDATE sluice.workflow_actions SET trigger_count = CASE WHEN p_complete THEN 1 ELSE 0 END
   WHERE id = ANY (v_ids) AND status IN ('waiting', 'pending');
  PERFORM sluice.actions_settle(v_ids);
END $$;

--
-- Name: actions_claim(bigint, sluice.trigger_type[], sluice.action_type[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.actions_claim(p_worker_id bigint, p_trigger_types sluice.trigger_type[], p_action_types sluice.action_type[] DEFAULT NULL::sluice.action_type[]) RETURNS TABLE(run_id bigint, action_id bigint, trigger_type sluice.trigger_type, action_type sluice.action_type, persistent boolean, commands text[], scheduler_id bigint, num_allocations integer, start_one_worker_per_node boolean, max_parallel_jobs integer)
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_worker sluice.workers;
  v_wf sluice.workflows;
  v_action sluice.workflow_actions;
  v_run_id bigint;
BEGIN
  SELECT * INTO v_worker FROM sluice.workers WHERE id = p_worker_id AND status = 'running' FOR SHARE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT * INTO v_wf FROM sluice.workflows WHERE id = v_worker.workflow_id;

  WITH picked AS MATERIALIZED (
    SELECT a.id FROM sluice.workflow_actions a
     WHERE a.workflow_id = v_wf.id AND a.status = 'pending' AND NOT a.persistent
       AND a.trigger_type = ANY (p_trigger_types)
       AND (p_action_types IS NULL OR a.action_type = ANY (p_action_types))
     ORDER BY a.id
     LIMIT 1
     FOR UPDATE SKIP LOCKED
  )
  UPDATE sluice.workflow_actions a SET status = 'running'
    FROM picked WHERE a.id = picked.id
  RETURNING a.* INTO v_action;

  IF v_action.id IS NOT NULL THEN
    INSERT INTO sluice.action_runs (action_id, workflow_id, worker_id, run_id)
    VALUES (v_action.id, v_wf.id, p_worker_id, v_wf.run_id)
    RETURNING id INTO v_run_id;
    UPDATE sluice.workflow_actions SET claimed_run_id = v_run_id WHERE id = v_action.id;
  ELSE
    FOR v_action IN
      SELECT a.* FROM sluice.workflow_actions a
       WHERE a.workflow_id = v_wf.id AND a.status = 'pending' AND a.persistent
         AND a.trigger_type = ANY (p_trigger_types)
         AND (p_action_types IS NULL OR a.action_type = ANY (p_action_types))
         AND NOT EXISTS (SELECT 1 FROM sluice.action_runs r
                          WHERE r.action_id = a.id AND r.worker_id = p_worker_id AND r.run_id = v_wf.run_id)
       ORDER BY a.id
    LOOP
      INSERT INTO sluice.action_runs (action_id, workflow_id, worker_id, run_id)
      VALUES (v_action.id, v_wf.id, p_worker_id, v_wf.run_id)
      ON CONFLICT ON CONSTRAINT action_runs_action_worker_run_key DO NOTHING
      RETURNING id INTO v_run_id;
      EXIT WHEN v_run_id IS NOT NULL;
    END LOOP;
  END IF;
  IF v_run_id IS NULL THEN
    RETURN;
  END IF;

  INSERT INTO sluice.events (workflow_id, kind, action_id, worker_id, data)
  VALUES (v_wf.id, 'action_started', v_action.id, p_worker_id, jsonb_build_object('action_run_id', v_run_id));
  RETURN QUERY SELECT v_run_id, v_action.id, v_action.trigger_type, v_action.action_type, v_action.persistent,
                      v_action.commands, v_action.scheduler_id, v_action.num_allocations,
                      v_action.start_one_worker_per_node, v_action.max_parallel_jobs;
END $$;

--
-- Name: actions_claimable(bigint, sluice.trigger_type[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.actions_claimable(p_worker_id bigint, p_trigger_types sluice.trigger_type[]) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
  SELECT EXISTS (
    SELECT 1 FROM sluice.workers k
      JOIN sluice.workflows w ON w.id = k.workflow_id
      JOIN sluice.workflow_actions a ON a.workflow_id = w.id
     WHERE k.id = p_worker_id AND a.status = 'pending' AND a.trigger_type = ANY (p_trigger_types)
       AND (NOT a.persistent OR NOT EXISTS (
             SELECT 1 FROM sluice.action_runs r
              WHERE r.action_id = a.id AND r.worker_id = p_worker_id AND r.run_id = w.run_id)))
$$;

--
-- Name: actions_settle(bigint[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.actions_settle(p_ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_workflows bigint[];
  v_wf bigint;
BEGIN
  WITH changed AS (
    UPDATE sluice.workflow_actions a
       SET status = CASE WHEN a.status = 'waiting' THEN 'pending'::sluice.workflow_action_status
                         ELSE 'waiting'::sluice.workflow_action_status END
     WHERE a.id = ANY (p_ids)
       AND ((a.status = 'waiting' AND a.trigger_count >= a.required_triggers)
         OR (a.status = 'pending' AND a.trigger_count < a.required_triggers))
    RETURNING a.id, a.workflow_id, a.status
  ), logged AS (
    INSERT INTO sluice.events (workflow_id, kind, action_id)
    SELECT workflow_id, 'action_pending', id FROM changed WHERE status = 'pending'
    RETURNING workflow_id
  )
  SELECT array_agg(DISTINCT workflow_id) INTO v_workflows FROM logged;
  IF v_workflows IS NOT NULL THEN
    FOREACH v_wf IN ARRAY v_workflows LOOP
      PERFORM pg_notify('sluice_actions_pending', v_wf::text);
    END LOOP;
  END IF;
END $$;

--
-- Name: actions_start_run(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.actions_start_run(p_workflow_id bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_ids bigint[];
BEGIN
  SELECT array_agg(id ORDER BY id) INTO v_ids FROM sluice.workflow_actions WHERE workflow_id = p_workflow_id;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  PERFORM 1 FROM sluice.workflow_actions WHERE id = ANY (v_ids) ORDER BY id FOR NO KEY UPDATE;

  UPDATE sluice.workflow_actions a
     SET required_triggers = c.total,
         trigger_count = c.n,
         status = CASE
           WHEN c.n = c.total AND a.status IN ('running', 'succeeded', 'failed', 'pending') THEN a.status
           ELSE 'waiting'::sluice.workflow_action_status END,
         claimed_run_id = CASE WHEN c.n = c.total THEN a.claimed_run_id END
    FROM (SELECT m.action_id, count(*)::int AS total,
                 count(*) FILTER (WHERE CASE WHEN a2.trigger_type = 'on_jobs_complete'
                                             THEN sluice.job_status_is_terminal(j.status)
                                             ELSE j.became_ready END)::int AS n
            FROM sluice.workflow_actions a2
            JOIN sluice.workflow_action_jobs m ON m.action_id = a2.id
            JOIN sluice.jobs j ON j.id = m.job_id
           WHERE a2.workflow_id = p_workflow_id AND a2.trigger_type IN ('on_jobs_ready', 'on_jobs_complete')
           GROUP BY m.action_id) c
   WHERE a.id = c.action_id;

  UPDATE sluice.workflow_actions
     SET trigger_count = 1, status = 'waiting', claimed_run_id = NULL
   WHERE workflow_id = p_workflow_id
     AND trigger_type IN ('on_workflow_start', 'on_worker_start', 'on_worker_complete');
  UPDATE sluice.workflow_actions
     SET trigger_count = 0, status = 'waiting', claimed_run_id = NULL
   WHERE workflow_id = p_workflow_id AND trigger_type = 'on_workflow_complete';
  PERFORM sluice.actions_settle(v_ids);
END $$;

--
-- Name: api_tokens_authenticate(bytea); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.api_tokens_authenticate(p_token_hash bytea) RETURNS name
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  WITH valid AS (
    SELECT id, owner_role, last_used_at FROM sluice.api_tokens
     WHERE token_hash = p_token_hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  ), stamped AS (
    UPDATE sluice.api_tokens t SET last_used_at = now()
      FROM valid v
     WHERE t.id = v.id AND (v.last_used_at IS NULL OR v.last_used_at < now() - interval '1 minute')
  )
  SELECT owner_role FROM valid
$$;

--
-- Name: is_admin(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.is_admin() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT pg_has_role(current_user, 'sluice_admin', 'USAGE') $$;

--
-- Name: job_status_is_active(sluice.job_status); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.job_status_is_active(s sluice.job_status) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT s IN ('pending', 'running') $$;

--
-- Name: job_status_is_done(sluice.job_status); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.job_status_is_done(s sluice.job_status) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT s IN ('completed', 'failed', 'canceled', 'terminated', 'disabled') $$;

--
-- Name: job_status_is_terminal(sluice.job_status); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.job_status_is_terminal(s sluice.job_status) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT s IN ('completed', 'failed', 'canceled', 'terminated') $$;

--
-- Name: job_status_is_unsuccessful(sluice.job_status); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.job_status_is_unsuccessful(s sluice.job_status) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT s IN ('failed', 'canceled', 'terminated') $$;

--
-- Name: jobs_any_runnable(bigint, boolean, integer, bigint, integer, integer, bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_any_runnable(p_worker_id bigint, p_use_resources boolean, p_cpus integer, p_memory_bytes bigint, p_gpus integer, p_nodes integer, p_max_runtime_seconds bigint) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
  SELECT EXISTS (
    SELECT 1 FROM sluice.workers k
      JOIN sluice.jobs j ON j.workflow_id = k.workflow_id
     WHERE k.id = p_worker_id
       AND j.status IN ('uninitialized', 'blocked', 'ready')
       AND sluice.jobs_fit(j, k.scheduler_id, p_max_runtime_seconds, p_use_resources,
                           p_cpus, p_memory_bytes, p_gpus, p_nodes))
$$;

--
-- Name: jobs; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.jobs (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    name text NOT NULL,
    command text NOT NULL,
    invocation_script text,
    status sluice.job_status DEFAULT 'uninitialized'::sluice.job_status NOT NULL,
    resource_requirements_id bigint NOT NULL,
    num_cpus integer NOT NULL,
    num_gpus integer NOT NULL,
    num_nodes integer NOT NULL,
    memory_bytes bigint NOT NULL,
    runtime_seconds bigint NOT NULL,
    cancel_on_blocking_job_failure boolean DEFAULT true NOT NULL,
    supports_termination boolean DEFAULT false NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    failure_handler_id bigint,
    attempt_id integer DEFAULT 1 NOT NULL,
    pending_recovery text,
    retry_return_code integer,
    unfinished_deps integer DEFAULT 0 NOT NULL,
    worker_id bigint,
    attempt integer DEFAULT 0 NOT NULL,
    run_id integer,
    claimed_at timestamp with time zone,
    started_at timestamp with time zone,
    scheduler_id bigint,
    became_ready boolean DEFAULT false NOT NULL,
    CONSTRAINT jobs_attempt_id_positive CHECK ((attempt_id >= 1)),
    CONSTRAINT jobs_claimed_has_worker CHECK (((NOT sluice.job_status_is_active(status)) OR (worker_id IS NOT NULL))),
    CONSTRAINT jobs_unfinished_deps_nonnegative CHECK ((unfinished_deps >= 0))
);

--
-- Name: jobs_claim(bigint, integer, boolean, integer, bigint, integer, integer, bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_claim(p_worker_id bigint, p_limit integer, p_use_resources boolean, p_free_cpus integer, p_free_memory_bytes bigint, p_free_gpus integer, p_free_nodes integer, p_max_runtime_seconds bigint) RETURNS SETOF sluice.jobs
    LANGUAGE plpgsql
    SET enable_sort TO 'off'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
  v_workflow_id bigint;
  v_scheduler_id bigint;
  v_run_id integer;
  v_ids bigint[] := '{}';
  v_cand record;
  v_cpus integer := p_free_cpus;
  v_mem bigint := p_free_memory_bytes;
  v_gpus integer := p_free_gpus;
  v_nodes integer := p_free_nodes;
  v_packing boolean := false;  -- one node already holds this worker's one-node jobs
BEGIN
  IF p_limit <= 0 THEN
    RETURN;
  END IF;
  SELECT w.workflow_id, w.scheduler_id INTO v_workflow_id, v_scheduler_id
    FROM sluice.workers w WHERE w.id = p_worker_id AND w.status = 'running' FOR SHARE;
  SELECT f.run_id INTO v_run_id FROM sluice.workflows f WHERE f.id = v_workflow_id AND f.canceled_at IS NULL;
  IF v_run_id IS NULL OR NOT sluice.jobs_claim_gate_open(p_worker_id) THEN
    RETURN;
  END IF;

  IF NOT p_use_resources THEN
    WITH picked AS MATERIALIZED (
      SELECT j.id FROM sluice.jobs j
       WHERE j.workflow_id = v_workflow_id AND j.status = 'ready'
         AND sluice.jobs_fit(j, v_scheduler_id, p_max_runtime_seconds, false, 0, 0, 0, 0)
       ORDER BY j.priority DESC, j.num_gpus DESC, j.runtime_seconds DESC, j.memory_bytes DESC, j.num_cpus DESC, j.id
       LIMIT p_limit
       FOR UPDATE SKIP LOCKED
    )
    SELECT coalesce(array_agg(id), '{}') INTO v_ids FROM picked;
  ELSE
    -- p_free_nodes is what the worker's multi-node jobs leave; its one-node jobs share one node.
    v_packing := EXISTS (SELECT 1 FROM sluice.jobs r
                          WHERE r.worker_id = p_worker_id AND sluice.job_status_is_active(r.status)
                            AND r.num_nodes = 1);
    IF v_packing THEN
      v_nodes := v_nodes - 1;
    END IF;
    FOR v_cand IN
      SELECT j.id, j.num_cpus, j.memory_bytes, j.num_gpus, j.num_nodes FROM sluice.jobs j
       WHERE j.workflow_id = v_workflow_id AND j.status = 'ready'
         AND sluice.jobs_fit(j, v_scheduler_id, p_max_runtime_seconds, true, v_cpus, v_mem, v_gpus, p_free_nodes)
       ORDER BY j.priority DESC, j.num_gpus DESC, j.runtime_seconds DESC, j.memory_bytes DESC, j.num_cpus DESC, j.id
       LIMIT 1000
    LOOP
      CONTINUE WHEN v_cand.num_cpus > v_cpus OR v_cand.memory_bytes > v_mem OR v_cand.num_gpus > v_gpus
                 OR CASE WHEN v_cand.num_nodes > 1 THEN v_cand.num_nodes > v_nodes ELSE NOT v_packing AND v_nodes < 1 END;
      PERFORM 1 FROM sluice.jobs WHERE id = v_cand.id AND status = 'ready' FOR UPDATE SKIP LOCKED;
      CONTINUE WHEN NOT FOUND;
      v_ids := v_ids || v_cand.id;
      v_cpus := v_cpus - v_cand.num_cpus;
      v_mem := v_mem - v_cand.memory_bytes;
      v_gpus := v_gpus - v_cand.num_gpus;
      IF v_cand.num_nodes > 1 THEN
        v_nodes := v_nodes - v_cand.num_nodes;
      ELSIF NOT v_packing THEN
        v_nodes := v_nodes - 1;
        v_packing := true;
      END IF;
      EXIT WHEN cardinality(v_ids) >= p_limit;
    END LOOP;
  END IF;

  IF cardinality(v_ids) = 0 THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH claimed AS (
    UPDATE sluice.jobs j
       SET status = 'running', worker_id = p_worker_id, attempt = j.attempt + 1, run_id = v_run_id,
           claimed_at = now(), started_at = now()
     WHERE j.id = ANY (v_ids)
    RETURNING j.*
  ), logged AS (
    INSERT INTO sluice.events (workflow_id, kind, job_id, worker_id, data)
    SELECT workflow_id, 'job_started', id, p_worker_id, jsonb_build_object('attempt', attempt)
      FROM claimed
  )
  SELECT * FROM claimed;
END $$;

--
-- Name: jobs_claim_gate_open(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_claim_gate_open(p_worker_id bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$
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

--
-- Name: jobs_complete(bigint, bigint[], integer[], sluice.job_status[], integer[], timestamp with time zone[], timestamp with time zone[], text[], text[], text[], boolean[], bigint[], bigint[], double precision[], double precision[], bigint[], integer[], timestamp with time zone[], bigint[], double precision[], integer[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_complete(p_worker_id bigint, p_job_ids bigint[], p_attempts integer[], p_statuses sluice.job_status[], p_return_codes integer[], p_started_at timestamp with time zone[], p_completed_at timestamp with time zone[], p_messages text[], p_stdout_paths text[], p_stderr_paths text[], p_retryable boolean[] DEFAULT '{}'::boolean[], p_peak_memory bigint[] DEFAULT '{}'::bigint[], p_avg_memory bigint[] DEFAULT '{}'::bigint[], p_peak_cpu double precision[] DEFAULT '{}'::double precision[], p_avg_cpu double precision[] DEFAULT '{}'::double precision[], p_sample_job_ids bigint[] DEFAULT '{}'::bigint[], p_sample_attempts integer[] DEFAULT '{}'::integer[], p_sampled_at timestamp with time zone[] DEFAULT '{}'::timestamp with time zone[], p_sample_memory bigint[] DEFAULT '{}'::bigint[], p_sample_cpu double precision[] DEFAULT '{}'::double precision[], p_sample_processes integer[] DEFAULT '{}'::integer[]) RETURNS SETOF bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: jobs_fit(sluice.jobs, bigint, bigint, boolean, integer, bigint, integer, integer); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_fit(j sluice.jobs, p_scheduler_id bigint, p_max_runtime_seconds bigint, p_use_resources boolean, p_cpus integer, p_memory_bytes bigint, p_gpus integer, p_nodes integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT (j.scheduler_id IS NULL OR j.scheduler_id = p_scheduler_id)
     AND (p_max_runtime_seconds IS NULL OR j.runtime_seconds <= p_max_runtime_seconds)
     AND (NOT p_use_resources OR (j.num_cpus <= p_cpus AND j.memory_bytes <= p_memory_bytes
                                  AND j.num_gpus <= p_gpus AND j.num_nodes <= p_nodes))
$$;

--
-- Name: jobs_referenced_missing(bigint[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_referenced_missing(p_ids bigint[]) RETURNS bigint
    LANGUAGE plpgsql
    SET jit TO 'off'
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

--
-- Name: jobs_requeue(bigint, bigint[], integer[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_requeue(p_worker_id bigint, p_job_ids bigint[], p_attempts integer[]) RETURNS SETOF bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: jobs_set_status(bigint[], sluice.job_status); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.jobs_set_status(p_job_ids bigint[], p_status sluice.job_status) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: tables_analyze(text[], bigint[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tables_analyze(p_tables text[], p_rows bigint[]) RETURNS text[]
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

--
-- Name: tg_events__rearm_allocations(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_events__rearm_allocations() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_actions bigint[];
BEGIN
  SELECT array_agg(a.id ORDER BY a.id) INTO v_actions
    FROM sluice.jobs j
    JOIN sluice.workflow_actions a ON a.workflow_id = j.workflow_id AND a.scheduler_id = j.scheduler_id
   WHERE j.id = NEW.job_id AND a.action_type = 'schedule_nodes' AND NOT a.persistent
     AND a.status IN ('succeeded', 'failed')
     AND NOT EXISTS (SELECT 1 FROM sluice.scheduled_compute_nodes c
                      WHERE c.workflow_id = a.workflow_id AND c.scheduler_id = a.scheduler_id
                        AND c.status IN ('pending', 'active'));
  IF v_actions IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM sluice.workflow_actions WHERE id = ANY (v_actions) ORDER BY id FOR NO KEY UPDATE;
  UPDATE sluice.workflow_actions SET status = 'waiting', claimed_run_id = NULL
   WHERE id = ANY (v_actions) AND status IN ('succeeded', 'failed');
  -- Waiting with its count met: settling makes it pending, logs and notifies as for any action.
  PERFORM sluice.actions_settle(v_actions);
  RETURN NULL;
END $$;

--
-- Name: tg_job_dependencies__check_jobs(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_job_dependencies__check_jobs() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
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

--
-- Name: tg_jobs__count_actions(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__count_actions() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $$
DECLARE
  v_ids bigint[];
  v_new_terminal boolean[];
  v_new_ready boolean[];
  v_old_terminal boolean[];
  v_old_ready boolean[];
  v_actions bigint[];
  v_deltas integer[];
BEGIN
  -- Most statements touch workflows without job-triggered actions: skip the work for them.
  IF NOT EXISTS (SELECT 1 FROM sluice.workflow_actions a
                  WHERE a.workflow_id IN (SELECT DISTINCT workflow_id FROM new_rows)
                    AND a.trigger_type IN ('on_jobs_ready', 'on_jobs_complete')) THEN
    RETURN NULL;
  END IF;
  -- Old and new rows paired by sorting, as in tg_jobs__status_change (not by a join: see there).
  SELECT array_agg(id ORDER BY id), array_agg(sluice.job_status_is_terminal(status) ORDER BY id),
         array_agg(became_ready ORDER BY id)
    INTO v_ids, v_new_terminal, v_new_ready FROM new_rows;
  SELECT array_agg(sluice.job_status_is_terminal(status) ORDER BY id), array_agg(became_ready ORDER BY id)
    INTO v_old_terminal, v_old_ready FROM old_rows;

  SELECT array_agg(action_id ORDER BY action_id), array_agg(delta ORDER BY action_id)
    INTO v_actions, v_deltas
    FROM (SELECT m.action_id,
                 sum(CASE WHEN a.trigger_type = 'on_jobs_complete' THEN c.nt::int - c.ot::int
                          ELSE c.nr::int - c.orr::int END)::int AS delta
            FROM unnest(v_ids, v_new_terminal, v_old_terminal, v_new_ready, v_old_ready) AS c(id, nt, ot, nr, orr)
            JOIN sluice.workflow_action_jobs m ON m.job_id = c.id
            JOIN sluice.workflow_actions a ON a.id = m.action_id
           WHERE (c.nt <> c.ot OR c.nr <> c.orr)
             AND a.trigger_type IN ('on_jobs_ready', 'on_jobs_complete')
           GROUP BY m.action_id) d
   WHERE delta <> 0;
  IF v_actions IS NULL THEN
    RETURN NULL;
  END IF;

  -- One action can watch jobs completed by many concurrent transactions: lock in id order.
  PERFORM 1 FROM sluice.workflow_actions WHERE id = ANY (v_actions) ORDER BY id FOR NO KEY UPDATE;
  UPDATE sluice.workflow_actions a SET trigger_count = a.trigger_count + x.delta
    FROM unnest(v_actions, v_deltas) AS x(id, delta)
   WHERE a.id = x.id;
  PERFORM sluice.actions_settle(v_actions);
  RETURN NULL;
END $$;

--
-- Name: tg_jobs__count_deleted(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__count_deleted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: tg_jobs__count_inserted(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__count_inserted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: tg_jobs__delete_links(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__delete_links() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  DELETE FROM sluice.job_dependencies d WHERE d.job_id IN (SELECT o.id FROM old_rows o);
  DELETE FROM sluice.workflow_action_jobs m WHERE m.job_id IN (SELECT o.id FROM old_rows o);
  RETURN NULL;
END $$;

--
-- Name: tg_jobs__recount_actions(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__recount_actions() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_actions bigint[];
BEGIN
  -- Jobs deleted with their workflow need nothing: its actions go too.
  SELECT array_agg(a.id ORDER BY a.id) INTO v_actions FROM sluice.workflow_actions a
   WHERE a.workflow_id IN (SELECT DISTINCT o.workflow_id FROM old_rows o
                            WHERE EXISTS (SELECT 1 FROM sluice.workflows w WHERE w.id = o.workflow_id))
     AND a.trigger_type IN ('on_jobs_ready', 'on_jobs_complete');
  IF v_actions IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM sluice.workflow_actions WHERE id = ANY (v_actions) ORDER BY id FOR NO KEY UPDATE;
  UPDATE sluice.workflow_actions a
     SET required_triggers = c.n, trigger_count = c.satisfied
    FROM (SELECT a2.id, count(j.id)::int AS n,
                 count(j.id) FILTER (WHERE CASE WHEN a2.trigger_type = 'on_jobs_complete'
                                                THEN sluice.job_status_is_terminal(j.status)
                                                ELSE j.became_ready END)::int AS satisfied
            FROM sluice.workflow_actions a2
            LEFT JOIN sluice.workflow_action_jobs m ON m.action_id = a2.id
            LEFT JOIN sluice.jobs j ON j.id = m.job_id
           WHERE a2.id = ANY (v_actions)
           GROUP BY a2.id) c
   WHERE a.id = c.id AND (a.required_triggers, a.trigger_count) IS DISTINCT FROM (c.n, c.satisfied);
  PERFORM sluice.actions_settle(v_actions);
  RETURN NULL;
END $$;

--
-- Name: tg_jobs__release_dependents(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__release_dependents() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: tg_jobs__status_change(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__status_change() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    SET work_mem TO '64MB'
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

--
-- Name: tg_jobs__track_ready(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_jobs__track_ready() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NEW.became_ready := NEW.status = 'ready';
  RETURN NEW;
END $$;

--
-- Name: tg_keys_fixed(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_keys_fixed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  RAISE EXCEPTION 'the key columns of %.% never change: delete the row and insert another', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END $$;

--
-- Name: tg_workers__abandon_action_runs(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workers__abandon_action_runs() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  WITH abandoned AS (
    UPDATE sluice.action_runs
       SET status = 'abandoned', finished_at = now(),
           message = CASE WHEN NEW.status = 'lost' THEN 'worker ' || worker_id || ' was lost (no heartbeat)'
                          ELSE 'worker ' || worker_id || ' stopped while the action ran' END
     WHERE worker_id = NEW.id AND status = 'running'
    RETURNING id, action_id, workflow_id, worker_id
  ), failed AS (
    UPDATE sluice.workflow_actions a SET status = 'failed'
      FROM abandoned x WHERE a.id = x.action_id AND NOT a.persistent AND a.status = 'running'
       AND a.claimed_run_id = x.id
    RETURNING a.id
  )
  INSERT INTO sluice.events (workflow_id, kind, action_id, worker_id, data)
  SELECT workflow_id, 'action_finished', action_id, worker_id,
         jsonb_build_object('action_run_id', id, 'status', 'abandoned')
    FROM abandoned;
  IF FOUND THEN
    PERFORM pg_notify('sluice_jobs_ready', NEW.workflow_id::text);
  END IF;
  RETURN NULL;
END $$;

--
-- Name: tg_workers__complete_allocation(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workers__complete_allocation() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  UPDATE sluice.scheduled_compute_nodes n
     SET status = 'complete', finished_at = now()
   WHERE n.id = NEW.scheduled_node_id AND n.status = 'active'
     AND NOT EXISTS (SELECT 1 FROM sluice.workers k
                      WHERE k.scheduled_node_id = n.id AND k.status = 'running');
  RETURN NULL;
END $$;

--
-- Name: tg_workers__release_references(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workers__release_references() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: tg_workflow_action_jobs__check_refs(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workflow_action_jobs__check_refs() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
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

--
-- Name: tg_workflow_actions__delete_members(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workflow_actions__delete_members() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  DELETE FROM sluice.workflow_action_jobs m WHERE m.action_id IN (SELECT o.id FROM old_rows o);
  RETURN NULL;
END $$;

--
-- Name: tg_workflows__arm_complete_actions(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workflows__arm_complete_actions() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM sluice.actions_arm_workflow_complete(NEW.id, NEW.unfinished_jobs = 0);
  RETURN NULL;
END $$;

--
-- Name: tg_workflows__cancel_allocations(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workflows__cancel_allocations() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  UPDATE sluice.scheduled_compute_nodes SET status = 'canceled', finished_at = now()
   WHERE workflow_id = NEW.id AND status IN ('pending', 'active');
  RETURN NULL;
END $$;

--
-- Name: tg_workflows__delete_jobs(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workflows__delete_jobs() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  DELETE FROM sluice.jobs j WHERE j.workflow_id IN (SELECT o.id FROM old_rows o);
  RETURN NULL;
END $$;

--
-- Name: tg_workflows__start_run_actions(); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.tg_workflows__start_run_actions() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM sluice.actions_start_run(NEW.id);
  IF NEW.unfinished_jobs = 0 THEN
    PERFORM sluice.actions_arm_workflow_complete(NEW.id, true);
  END IF;
  RETURN NULL;
END $$;

--
-- Name: workers_attach_allocation(bigint, bigint, text); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workers_attach_allocation(p_worker_id bigint, p_scheduled_node_id bigint, p_slurm_job_id text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_node sluice.scheduled_compute_nodes;
BEGIN
  SELECT * INTO v_node FROM sluice.scheduled_compute_nodes WHERE id = p_scheduled_node_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'allocation (scheduled node) % does not exist', p_scheduled_node_id
      USING ERRCODE = 'no_data_found', HINT = 'ALLOCATION_NOT_FOUND';
  END IF;
  UPDATE sluice.workers SET scheduled_node_id = p_scheduled_node_id, scheduler_id = v_node.scheduler_id
   WHERE id = p_worker_id;
  UPDATE sluice.scheduled_compute_nodes
     SET status = 'active', started_at = coalesce(started_at, now()),
         slurm_job_id = coalesce(slurm_job_id, p_slurm_job_id)
   WHERE id = p_scheduled_node_id AND status IN ('pending', 'active', 'unknown')
     AND (status <> 'unknown' OR coalesce(slurm_job_id, p_slurm_job_id) IS NOT NULL);
END $$;

--
-- Name: workers_heartbeat(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workers_heartbeat(p_worker_id bigint) RETURNS sluice.worker_status
    LANGUAGE sql
    AS $$
  UPDATE sluice.workers SET heartbeat_at = now()
   WHERE id = p_worker_id AND status = 'running'
  RETURNING status;
$$;

--
-- Name: workers_reap(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workers_reap(p_workflow_id bigint) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workers; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.workers (
    id bigint NOT NULL,
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
    ends_at timestamp with time zone,
    status sluice.worker_status DEFAULT 'running'::sluice.worker_status NOT NULL,
    heartbeat_timeout interval NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    heartbeat_at timestamp with time zone DEFAULT now() NOT NULL,
    stopped_at timestamp with time zone,
    scheduler_id bigint,
    scheduled_node_id bigint,
    CONSTRAINT workers_max_parallel_jobs_positive CHECK (((max_parallel_jobs IS NULL) OR (max_parallel_jobs >= 1))),
    CONSTRAINT workers_stopped_at_matches_status CHECK (((status = 'running'::sluice.worker_status) = (stopped_at IS NULL)))
);

--
-- Name: workers_register(bigint, text, integer, text, integer, bigint, integer, integer, integer, timestamp with time zone, interval); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workers_register(p_workflow_id bigint, p_hostname text, p_pid integer, p_os_user text, p_num_cpus integer, p_memory_bytes bigint, p_num_gpus integer, p_num_nodes integer, p_max_parallel_jobs integer, p_ends_at timestamp with time zone, p_heartbeat_timeout interval) RETURNS sluice.workers
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workers_release_jobs(bigint[], text); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workers_release_jobs(p_worker_ids bigint[], p_message text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workers_stop(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workers_stop(p_worker_id bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workflow_job_counts_add(bigint[], sluice.job_status[], bigint[]); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflow_job_counts_add(p_workflow_ids bigint[], p_statuses sluice.job_status[], p_deltas bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
  INSERT INTO sluice.workflow_job_counts (workflow_id, shard, status, jobs)
  SELECT d.workflow_id, (pg_backend_pid() % 32768)::smallint, d.status, d.delta
    FROM unnest(p_workflow_ids, p_statuses, p_deltas) AS d(workflow_id, status, delta)
   WHERE d.delta <> 0
   ORDER BY d.workflow_id, d.status
  ON CONFLICT ON CONSTRAINT workflow_job_counts_pkey DO UPDATE SET jobs = workflow_job_counts.jobs + EXCLUDED.jobs;
END $$;

--
-- Name: workflows_cancel(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_cancel(p_workflow_id bigint) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workflows_ensure_initialized(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_ensure_initialized(p_workflow_id bigint) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_wf sluice.workflows;
BEGIN
  v_wf := sluice.workflows_lock(p_workflow_id);
  IF v_wf.run_id > 0 THEN
    RETURN v_wf.run_id;
  END IF;
  RETURN sluice.workflows_start_run(p_workflow_id, 'workflow_initialized');
END $$;

--
-- Name: workflows_initialize(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_initialize(p_workflow_id bigint) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workflows; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.workflows (
    id bigint NOT NULL,
    name text NOT NULL,
    description text,
    spec_user text,
    owner_role name DEFAULT CURRENT_USER NOT NULL,
    project text,
    metadata jsonb,
    slurm_defaults jsonb DEFAULT '{}'::jsonb NOT NULL,
    resource_monitor jsonb DEFAULT '{"enabled": false}'::jsonb NOT NULL,
    run_id integer DEFAULT 0 NOT NULL,
    num_jobs integer DEFAULT 0 NOT NULL,
    unfinished_jobs integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    initialized_at timestamp with time zone,
    completed_at timestamp with time zone,
    canceled_at timestamp with time zone,
    CONSTRAINT workflows_job_counts_valid CHECK (((unfinished_jobs >= 0) AND (unfinished_jobs <= num_jobs))),
    CONSTRAINT workflows_name_not_empty CHECK ((name <> ''::text)),
    CONSTRAINT workflows_run_id_nonnegative CHECK ((run_id >= 0))
);

--
-- Name: workflows_lock(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_lock(p_workflow_id bigint) RETURNS sluice.workflows
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workflows_lock_shared(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_lock_shared(p_workflow_id bigint) RETURNS sluice.workflows
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workflows_reinitialize(bigint); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_reinitialize(p_workflow_id bigint) RETURNS integer
    LANGUAGE sql
    AS $$
  SELECT sluice.workflows_start_run(p_workflow_id, 'workflow_reinitialized')
$$;

--
-- Name: workflows_reset_status(bigint, boolean); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_reset_status(p_workflow_id bigint, p_failed_only boolean) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: workflows_start_run(bigint, sluice.event_kind); Type: FUNCTION; Schema: sluice; Owner: -
--

CREATE FUNCTION sluice.workflows_start_run(p_workflow_id bigint, p_kind sluice.event_kind) RETURNS integer
    LANGUAGE plpgsql
    SET work_mem TO '64MB'
    SET jit TO 'off'
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

--
-- Name: action_runs; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.action_runs (
    id bigint NOT NULL,
    action_id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    worker_id bigint NOT NULL,
    run_id integer NOT NULL,
    status sluice.action_run_status DEFAULT 'running'::sluice.action_run_status NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    exit_code integer,
    failed_command text,
    message text,
    stdout_path text,
    stderr_path text,
    CONSTRAINT action_runs_finished_matches_status CHECK (((status = 'running'::sluice.action_run_status) = (finished_at IS NULL)))
);

--
-- Name: workflow_action_jobs; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.workflow_action_jobs (
    action_id bigint NOT NULL,
    job_id bigint NOT NULL
);

--
-- Name: workflow_actions; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.workflow_actions (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    "position" integer NOT NULL,
    trigger_type sluice.trigger_type NOT NULL,
    action_type sluice.action_type NOT NULL,
    persistent boolean NOT NULL,
    commands text[],
    scheduler_id bigint,
    num_allocations integer,
    start_one_worker_per_node boolean DEFAULT false NOT NULL,
    max_parallel_jobs integer,
    required_triggers integer NOT NULL,
    trigger_count integer DEFAULT 0 NOT NULL,
    status sluice.workflow_action_status DEFAULT 'waiting'::sluice.workflow_action_status NOT NULL,
    claimed_run_id bigint,
    CONSTRAINT workflow_actions_config_matches_type CHECK ((((action_type = 'run_commands'::sluice.action_type) AND (cardinality(commands) >= 1) AND (scheduler_id IS NULL)) OR ((action_type = 'schedule_nodes'::sluice.action_type) AND (commands IS NULL) AND (scheduler_id IS NOT NULL) AND (num_allocations >= 1)))),
    CONSTRAINT workflow_actions_max_parallel_jobs_positive CHECK (((max_parallel_jobs IS NULL) OR (max_parallel_jobs >= 1))),
    CONSTRAINT workflow_actions_persistent_not_claimed CHECK (((NOT persistent) OR (status = ANY (ARRAY['waiting'::sluice.workflow_action_status, 'pending'::sluice.workflow_action_status])))),
    CONSTRAINT workflow_actions_trigger_count_valid CHECK (((required_triggers >= 0) AND (trigger_count >= 0) AND (trigger_count <= required_triggers)))
);

--
-- Name: action_status; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.action_status WITH (security_invoker='true') AS
 SELECT a.id,
    a.workflow_id,
    a."position",
    a.trigger_type,
    a.action_type,
    a.persistent,
    a.trigger_count,
    a.required_triggers,
        CASE
            WHEN a.persistent THEN (EXISTS ( SELECT 1
               FROM sluice.action_runs r
              WHERE ((r.action_id = a.id) AND (r.run_id = w.run_id))))
            ELSE (a.status = ANY (ARRAY['running'::sluice.workflow_action_status, 'succeeded'::sluice.workflow_action_status, 'failed'::sluice.workflow_action_status]))
        END AS executed,
    a.status,
    ARRAY( SELECT j.name
           FROM (sluice.workflow_action_jobs m
             JOIN sluice.jobs j ON ((j.id = m.job_id)))
          WHERE (m.action_id = a.id)
          ORDER BY j.id) AS job_names,
    ARRAY( SELECT j.name
           FROM (sluice.workflow_action_jobs m
             JOIN sluice.jobs j ON ((j.id = m.job_id)))
          WHERE ((m.action_id = a.id) AND (NOT
                CASE
                    WHEN (a.trigger_type = 'on_jobs_complete'::sluice.trigger_type) THEN sluice.job_status_is_terminal(j.status)
                    ELSE j.became_ready
                END))
          ORDER BY j.id) AS waiting_on
   FROM (sluice.workflow_actions a
     JOIN sluice.workflows w ON ((w.id = a.workflow_id)));

--
-- Name: VIEW action_status; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.action_status IS 'One row per workflow action: progress (trigger_count of required_triggers), status, executed, the selected jobs and those it still waits on.';

--
-- Name: action_overview; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.action_overview WITH (security_invoker='true') AS
 SELECT a.id,
    a.workflow_id,
    w.name AS workflow_name,
    w.owner_role,
    a."position",
    a.trigger_type,
    a.action_type,
    a.persistent,
    a.status,
    a.executed,
    a.trigger_count,
    a.required_triggers,
    a.job_names,
    a.waiting_on,
    cardinality(a.waiting_on) AS waiting_count,
    r.status AS last_run_status,
    r.node AS last_run_node,
    r.started_at AS last_run_started_at,
    r.finished_at AS last_run_finished_at,
    r.exit_code AS last_run_exit_code,
    r.message AS last_run_message,
    r.stdout_path AS last_run_stdout_path,
    r.stderr_path AS last_run_stderr_path
   FROM ((sluice.action_status a
     JOIN sluice.workflows w ON ((w.id = a.workflow_id)))
     LEFT JOIN LATERAL ( SELECT ar.status,
            k.hostname AS node,
            ar.started_at,
            ar.finished_at,
            ar.exit_code,
            ar.message,
            ar.stdout_path,
            ar.stderr_path
           FROM (sluice.action_runs ar
             LEFT JOIN sluice.workers k ON ((k.id = ar.worker_id)))
          WHERE (ar.action_id = a.id)
          ORDER BY ar.id DESC
         LIMIT 1) r ON (true));

--
-- Name: VIEW action_overview; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.action_overview IS 'One row per workflow action: owner, status, progress, the jobs it still waits on, and its last run (status, node, exit code, message, log paths).';

--
-- Name: action_runs_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.action_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.action_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: scheduled_compute_nodes; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.scheduled_compute_nodes (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    scheduler_id bigint NOT NULL,
    action_id bigint,
    action_run_id bigint,
    slurm_job_id text,
    status sluice.allocation_status DEFAULT 'pending'::sluice.allocation_status NOT NULL,
    num_nodes integer DEFAULT 1 NOT NULL,
    start_one_worker_per_node boolean DEFAULT false NOT NULL,
    max_parallel_jobs integer,
    script_path text,
    message text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    submitted_at timestamp with time zone,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    CONSTRAINT scheduled_compute_nodes_submitted_has_job_id CHECK (((status = ANY (ARRAY['pending'::sluice.allocation_status, 'failed'::sluice.allocation_status, 'unknown'::sluice.allocation_status])) OR (slurm_job_id IS NOT NULL)))
);

--
-- Name: slurm_schedulers; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.slurm_schedulers (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    name text NOT NULL,
    account text,
    partition text,
    walltime text,
    nodes integer,
    mem text,
    gres text,
    qos text,
    ntasks_per_node integer,
    tmp text,
    extra text
);

--
-- Name: allocations; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.allocations WITH (security_invoker='true') AS
 SELECT n.id,
    n.workflow_id,
    s.name AS scheduler,
    n.action_id,
    n.slurm_job_id,
    n.status,
    n.num_nodes,
    n.start_one_worker_per_node,
    n.max_parallel_jobs,
    ( SELECT count(*) AS count
           FROM sluice.workers k
          WHERE ((k.scheduled_node_id = n.id) AND (k.status = 'running'::sluice.worker_status))) AS live_workers,
    n.message,
    n.script_path,
    n.created_at,
    n.submitted_at,
    n.started_at,
    n.finished_at
   FROM (sluice.scheduled_compute_nodes n
     JOIN sluice.slurm_schedulers s ON ((s.id = n.scheduler_id)));

--
-- Name: VIEW allocations; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.allocations IS 'Slurm allocations requested for workflows: scheduler, Slurm job id, status and live workers.';

--
-- Name: allocations_by_owner; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.allocations_by_owner WITH (security_invoker='true') AS
 SELECT w.owner_role,
    count(DISTINCT n.workflow_id) AS workflows,
    count(*) FILTER (WHERE (n.status = 'pending'::sluice.allocation_status)) AS pending,
    count(*) FILTER (WHERE (n.status = 'active'::sluice.allocation_status)) AS active,
    count(*) FILTER (WHERE (n.status = 'unknown'::sluice.allocation_status)) AS unknown,
    count(*) FILTER (WHERE (n.status = 'complete'::sluice.allocation_status)) AS complete,
    count(*) FILTER (WHERE (n.status = 'failed'::sluice.allocation_status)) AS failed,
    count(*) FILTER (WHERE (n.status = 'canceled'::sluice.allocation_status)) AS canceled,
    COALESCE(sum(n.num_nodes) FILTER (WHERE (n.status = 'pending'::sluice.allocation_status)), (0)::bigint) AS pending_nodes,
    COALESCE(sum(n.num_nodes) FILTER (WHERE (n.status = 'active'::sluice.allocation_status)), (0)::bigint) AS active_nodes,
    (COALESCE(sum(lw.n), (0)::numeric))::bigint AS live_workers,
    max(n.submitted_at) AS last_submitted_at
   FROM ((sluice.scheduled_compute_nodes n
     JOIN sluice.workflows w ON ((w.id = n.workflow_id)))
     LEFT JOIN LATERAL ( SELECT count(*) AS n
           FROM sluice.workers k
          WHERE ((k.scheduled_node_id = n.id) AND (k.status = 'running'::sluice.worker_status))) lw ON (true))
  GROUP BY w.owner_role;

--
-- Name: VIEW allocations_by_owner; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.allocations_by_owner IS 'Slurm allocations per owner role: counts by status (unknown: sbatch''s outcome was lost), pending and active nodes, live workers in them, last submission.';

--
-- Name: api_tokens; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.api_tokens (
    id bigint NOT NULL,
    owner_role name DEFAULT CURRENT_USER NOT NULL,
    name text,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    last_used_at timestamp with time zone,
    CONSTRAINT api_tokens_hash_is_sha256 CHECK ((length(token_hash) = 32))
);

--
-- Name: api_tokens_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.api_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.api_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: events; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.events (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    kind sluice.event_kind NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    job_id bigint,
    worker_id bigint,
    action_id bigint,
    data jsonb
);

--
-- Name: events_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: failure_handler_rules; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.failure_handler_rules (
    handler_id bigint NOT NULL,
    "position" integer NOT NULL,
    exit_codes integer[],
    recovery_script text,
    max_retries integer NOT NULL,
    CONSTRAINT failure_handler_rules_max_retries_positive CHECK ((max_retries >= 1))
);

--
-- Name: failure_handlers; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.failure_handlers (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    name text NOT NULL
);

--
-- Name: failure_handlers_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.failure_handlers ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.failure_handlers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: files; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.files (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    name text NOT NULL,
    path text NOT NULL
);

--
-- Name: files_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.files ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.files_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: job_dependencies; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.job_dependencies (
    job_id bigint NOT NULL,
    depends_on_job_id bigint NOT NULL,
    CONSTRAINT job_dependencies_not_self CHECK ((job_id <> depends_on_job_id))
);

--
-- Name: job_input_files; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.job_input_files (
    job_id bigint NOT NULL,
    file_id bigint NOT NULL
);

--
-- Name: job_input_user_data; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.job_input_user_data (
    job_id bigint NOT NULL,
    user_data_id bigint NOT NULL
);

--
-- Name: job_output_files; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.job_output_files (
    job_id bigint NOT NULL,
    file_id bigint NOT NULL
);

--
-- Name: job_output_user_data; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.job_output_user_data (
    job_id bigint NOT NULL,
    user_data_id bigint NOT NULL
);

--
-- Name: job_samples; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.job_samples (
    workflow_id bigint NOT NULL,
    job_id bigint NOT NULL,
    attempt integer NOT NULL,
    sampled_at timestamp with time zone NOT NULL,
    memory_bytes bigint NOT NULL,
    cpu_percent double precision NOT NULL,
    processes integer NOT NULL
);

--
-- Name: jobs_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.jobs ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME sluice.jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: live_workers; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.live_workers WITH (security_invoker='true') AS
 SELECT k.id,
    k.workflow_id,
    k.hostname,
    k.pid,
    k.os_user,
    k.num_cpus,
    k.memory_bytes,
    k.num_gpus,
    k.num_nodes,
    k.started_at,
    k.heartbeat_at,
    (now() - k.heartbeat_at) AS silent_for,
    ((now() - k.heartbeat_at) > k.heartbeat_timeout) AS overdue,
    ( SELECT count(*) AS count
           FROM sluice.jobs j
          WHERE ((j.worker_id = k.id) AND sluice.job_status_is_active(j.status))) AS active_jobs
   FROM sluice.workers k
  WHERE (k.status = 'running'::sluice.worker_status);

--
-- Name: VIEW live_workers; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.live_workers IS 'Workers not yet stopped or declared lost, with how long each has been silent.';

--
-- Name: migrations; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.migrations (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    run_on timestamp without time zone NOT NULL
);

--
-- Name: migrations_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

CREATE SEQUENCE sluice.migrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: migrations_id_seq; Type: SEQUENCE OWNED BY; Schema: sluice; Owner: -
--

ALTER SEQUENCE sluice.migrations_id_seq OWNED BY sluice.migrations.id;

--
-- Name: results; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.results (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    job_id bigint NOT NULL,
    worker_id bigint,
    run_id integer NOT NULL,
    attempt integer NOT NULL,
    attempt_id integer NOT NULL,
    status sluice.job_status NOT NULL,
    return_code integer,
    started_at timestamp with time zone,
    completed_at timestamp with time zone DEFAULT now() NOT NULL,
    exec_time_s double precision GENERATED ALWAYS AS (EXTRACT(epoch FROM (completed_at - started_at))) STORED,
    message text,
    stdout_path text,
    stderr_path text,
    peak_memory_bytes bigint,
    avg_memory_bytes bigint,
    peak_cpu_percent double precision,
    avg_cpu_percent double precision,
    CONSTRAINT results_status_terminal CHECK (sluice.job_status_is_terminal(status))
);

--
-- Name: recent_failures; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.recent_failures WITH (security_invoker='true') AS
 SELECT r.id AS result_id,
    r.workflow_id,
    w.name AS workflow_name,
    w.owner_role,
    r.job_id,
    j.name AS job_name,
    r.run_id,
    r.attempt,
    r.attempt_id,
    r.status,
    r.return_code,
    r.message,
    r.stdout_path,
    r.stderr_path,
    k.hostname AS node,
    r.worker_id,
    r.started_at,
    r.completed_at,
    r.exec_time_s,
    r.peak_memory_bytes
   FROM (((sluice.results r
     JOIN sluice.workflows w ON ((w.id = r.workflow_id)))
     JOIN sluice.jobs j ON ((j.id = r.job_id)))
     LEFT JOIN sluice.workers k ON ((k.id = r.worker_id)))
  WHERE ((r.status = ANY (ARRAY['failed'::sluice.job_status, 'terminated'::sluice.job_status])) AND (r.completed_at > (now() - '7 days'::interval)));

--
-- Name: VIEW recent_failures; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.recent_failures IS 'Job executions that ended failed or terminated in the last 7 days: owner, job, node, return code, message, stdout and stderr paths.';

--
-- Name: resource_requirements; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.resource_requirements (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    name text NOT NULL,
    num_cpus integer NOT NULL,
    num_gpus integer NOT NULL,
    num_nodes integer NOT NULL,
    memory text NOT NULL,
    memory_bytes bigint NOT NULL,
    runtime text NOT NULL,
    runtime_seconds bigint NOT NULL,
    CONSTRAINT resource_requirements_amounts_valid CHECK (((num_cpus >= 0) AND (num_gpus >= 0) AND (num_nodes >= 1) AND (memory_bytes >= 0) AND (runtime_seconds >= 0)))
);

--
-- Name: resource_requirements_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.resource_requirements ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.resource_requirements_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: results_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.results ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.results_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: scheduled_compute_nodes_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.scheduled_compute_nodes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.scheduled_compute_nodes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: slurm_schedulers_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.slurm_schedulers ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.slurm_schedulers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: user_data; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.user_data (
    id bigint NOT NULL,
    workflow_id bigint NOT NULL,
    name text NOT NULL,
    data jsonb,
    is_ephemeral boolean DEFAULT false NOT NULL
);

--
-- Name: user_data_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.user_data ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.user_data_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: worker_health; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.worker_health WITH (security_invoker='true') AS
 SELECT k.id,
    k.workflow_id,
    w.owner_role,
    k.hostname AS node,
    k.pid,
    k.os_user,
    k.status,
        CASE
            WHEN (k.status <> 'running'::sluice.worker_status) THEN (k.status)::text
            WHEN ((now() - k.heartbeat_at) > k.heartbeat_timeout) THEN 'silent'::text
            ELSE 'ok'::text
        END AS health,
        CASE
            WHEN (k.status = 'running'::sluice.worker_status) THEN (now() - k.heartbeat_at)
            ELSE NULL::interval
        END AS heartbeat_age,
    k.heartbeat_timeout,
    k.heartbeat_at,
    ( SELECT count(*) AS count
           FROM sluice.jobs j
          WHERE ((j.worker_id = k.id) AND sluice.job_status_is_active(j.status))) AS active_jobs,
    k.num_cpus,
    k.memory_bytes,
    k.num_gpus,
    k.num_nodes,
    s.name AS scheduler,
    k.scheduled_node_id AS allocation_id,
    n.slurm_job_id,
    k.ends_at,
    k.started_at,
    k.stopped_at
   FROM (((sluice.workers k
     JOIN sluice.workflows w ON ((w.id = k.workflow_id)))
     LEFT JOIN sluice.scheduled_compute_nodes n ON ((n.id = k.scheduled_node_id)))
     LEFT JOIN sluice.slurm_schedulers s ON ((s.id = k.scheduler_id)));

--
-- Name: VIEW worker_health; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.worker_health IS 'Every worker: node, pid, owner, health (ok, silent, stopped, lost), heartbeat age, active jobs, Slurm allocation.';

--
-- Name: COLUMN worker_health.health; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON COLUMN sluice.worker_health.health IS 'ok: heartbeat within its timeout; silent: running but past its heartbeat timeout (about to be declared lost); stopped or lost: gone.';

--
-- Name: workers_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workers ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.workers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: workflow_actions_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workflow_actions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.workflow_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: workflow_job_counts; Type: TABLE; Schema: sluice; Owner: -
--

CREATE TABLE sluice.workflow_job_counts (
    workflow_id bigint NOT NULL,
    shard smallint NOT NULL,
    status sluice.job_status NOT NULL,
    jobs bigint NOT NULL
);

--
-- Name: workflow_summary; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.workflow_summary WITH (security_invoker='true') AS
 SELECT w.id,
    w.name,
    w.owner_role,
    w.spec_user AS "user",
    w.project,
    w.run_id,
    w.num_jobs,
    w.unfinished_jobs,
    ((w.run_id > 0) AND (w.unfinished_jobs = 0) AND (w.canceled_at IS NULL)) AS is_complete,
    (w.canceled_at IS NOT NULL) AS is_canceled,
    COALESCE(c.uninitialized, 0) AS uninitialized,
    COALESCE(c.blocked, 0) AS blocked,
    COALESCE(c.ready, 0) AS ready,
    COALESCE(c.pending, 0) AS pending,
    COALESCE(c.running, 0) AS running,
    COALESCE(c.completed, 0) AS completed,
    COALESCE(c.failed, 0) AS failed,
    COALESCE(c.canceled, 0) AS canceled,
    COALESCE(c.terminated, 0) AS terminated,
    COALESCE(c.disabled, 0) AS disabled,
    ( SELECT count(*) AS count
           FROM sluice.workers k
          WHERE ((k.workflow_id = w.id) AND (k.status = 'running'::sluice.worker_status))) AS live_workers,
    w.created_at,
    w.initialized_at,
    w.completed_at,
    w.canceled_at
   FROM (sluice.workflows w
     LEFT JOIN LATERAL ( SELECT (sum(n.jobs) FILTER (WHERE (n.status = 'uninitialized'::sluice.job_status)))::integer AS uninitialized,
            (sum(n.jobs) FILTER (WHERE (n.status = 'blocked'::sluice.job_status)))::integer AS blocked,
            (sum(n.jobs) FILTER (WHERE (n.status = 'ready'::sluice.job_status)))::integer AS ready,
            (sum(n.jobs) FILTER (WHERE (n.status = 'pending'::sluice.job_status)))::integer AS pending,
            (sum(n.jobs) FILTER (WHERE (n.status = 'running'::sluice.job_status)))::integer AS running,
            (sum(n.jobs) FILTER (WHERE (n.status = 'completed'::sluice.job_status)))::integer AS completed,
            (sum(n.jobs) FILTER (WHERE (n.status = 'failed'::sluice.job_status)))::integer AS failed,
            (sum(n.jobs) FILTER (WHERE (n.status = 'canceled'::sluice.job_status)))::integer AS canceled,
            (sum(n.jobs) FILTER (WHERE (n.status = 'terminated'::sluice.job_status)))::integer AS terminated,
            (sum(n.jobs) FILTER (WHERE (n.status = 'disabled'::sluice.job_status)))::integer AS disabled
           FROM sluice.workflow_job_counts n
          WHERE (n.workflow_id = w.id)) c ON (true));

--
-- Name: VIEW workflow_summary; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.workflow_summary IS 'One row per workflow: job counts by status, completion, cancellation and live workers.';

--
-- Name: workflow_overview; Type: VIEW; Schema: sluice; Owner: -
--

CREATE VIEW sluice.workflow_overview WITH (security_invoker='true') AS
 SELECT s.id,
    s.name,
    s.owner_role,
    s."user",
    s.project,
    s.run_id,
        CASE
            WHEN s.is_canceled THEN 'canceled'::text
            WHEN (s.run_id = 0) THEN 'new'::text
            WHEN s.is_complete THEN 'complete'::text
            ELSE 'active'::text
        END AS state,
    s.num_jobs,
    (s.num_jobs - s.unfinished_jobs) AS done_jobs,
    s.unfinished_jobs,
    s.uninitialized,
    s.blocked,
    s.ready,
    s.pending,
    s.running,
    s.completed,
    s.failed,
    s.canceled,
    s.terminated,
    s.disabled,
    s.live_workers,
    COALESCE(k.silent, (0)::bigint) AS silent_workers,
    COALESCE(a.queued, (0)::bigint) AS queued_allocations,
    COALESCE(a.active, (0)::bigint) AS active_allocations,
    ((s.run_id > 0) AND (NOT s.is_complete) AND (NOT s.is_canceled) AND (s.ready > 0) AND (s.live_workers = 0) AND ((COALESCE(a.queued, (0)::bigint) + COALESCE(a.active, (0)::bigint)) = 0)) AS needs_worker,
    e.created_at AS last_event_at,
    s.created_at,
    s.initialized_at,
    s.completed_at,
    s.canceled_at
   FROM (((sluice.workflow_summary s
     LEFT JOIN LATERAL ( SELECT count(*) FILTER (WHERE (n.status = 'pending'::sluice.allocation_status)) AS queued,
            count(*) FILTER (WHERE (n.status = 'active'::sluice.allocation_status)) AS active
           FROM sluice.scheduled_compute_nodes n
          WHERE (n.workflow_id = s.id)) a ON (true))
     LEFT JOIN LATERAL ( SELECT count(*) AS silent
           FROM sluice.workers w
          WHERE ((w.workflow_id = s.id) AND (w.status = 'running'::sluice.worker_status) AND ((now() - w.heartbeat_at) > w.heartbeat_timeout))) k ON (true))
     LEFT JOIN LATERAL ( SELECT ev.created_at
           FROM sluice.events ev
          WHERE (ev.workflow_id = s.id)
          ORDER BY ev.id DESC
         LIMIT 1) e ON (true));

--
-- Name: VIEW workflow_overview; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON VIEW sluice.workflow_overview IS 'One row per workflow: owner, state (new, active, complete, canceled), job counts by status, live and silent workers, queued and active allocations, needs_worker, last event.';

--
-- Name: COLUMN workflow_overview.silent_workers; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON COLUMN sluice.workflow_overview.silent_workers IS 'Workers still registered as running but silent past their heartbeat timeout: the next sluice command on the workflow declares them lost.';

--
-- Name: COLUMN workflow_overview.needs_worker; Type: COMMENT; Schema: sluice; Owner: -
--

COMMENT ON COLUMN sluice.workflow_overview.needs_worker IS 'Active with ready jobs, and no live worker nor any queued or active allocation to run them.';

--
-- Name: workflows_id_seq; Type: SEQUENCE; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workflows ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME sluice.workflows_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: migrations id; Type: DEFAULT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.migrations ALTER COLUMN id SET DEFAULT nextval('sluice.migrations_id_seq'::regclass);

--
-- Name: action_runs action_runs_action_worker_run_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.action_runs
    ADD CONSTRAINT action_runs_action_worker_run_key UNIQUE (action_id, worker_id, run_id);

--
-- Name: action_runs action_runs_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.action_runs
    ADD CONSTRAINT action_runs_pkey PRIMARY KEY (id);

--
-- Name: api_tokens api_tokens_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

--
-- Name: api_tokens api_tokens_token_hash_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.api_tokens
    ADD CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash);

--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);

--
-- Name: failure_handler_rules failure_handler_rules_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.failure_handler_rules
    ADD CONSTRAINT failure_handler_rules_pkey PRIMARY KEY (handler_id, "position");

--
-- Name: failure_handlers failure_handlers_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.failure_handlers
    ADD CONSTRAINT failure_handlers_pkey PRIMARY KEY (id);

--
-- Name: failure_handlers failure_handlers_workflow_name_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.failure_handlers
    ADD CONSTRAINT failure_handlers_workflow_name_key UNIQUE (workflow_id, name);

--
-- Name: files files_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (id);

--
-- Name: files files_workflow_name_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.files
    ADD CONSTRAINT files_workflow_name_key UNIQUE (workflow_id, name);

--
-- Name: job_dependencies job_dependencies_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_dependencies
    ADD CONSTRAINT job_dependencies_pkey PRIMARY KEY (job_id, depends_on_job_id);

--
-- Name: job_input_files job_input_files_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_input_files
    ADD CONSTRAINT job_input_files_pkey PRIMARY KEY (job_id, file_id);

--
-- Name: job_input_user_data job_input_user_data_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_input_user_data
    ADD CONSTRAINT job_input_user_data_pkey PRIMARY KEY (job_id, user_data_id);

--
-- Name: job_output_files job_output_files_file_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_files
    ADD CONSTRAINT job_output_files_file_key UNIQUE (file_id);

--
-- Name: job_output_files job_output_files_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_files
    ADD CONSTRAINT job_output_files_pkey PRIMARY KEY (job_id, file_id);

--
-- Name: job_output_user_data job_output_user_data_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_user_data
    ADD CONSTRAINT job_output_user_data_pkey PRIMARY KEY (job_id, user_data_id);

--
-- Name: job_output_user_data job_output_user_data_user_data_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_user_data
    ADD CONSTRAINT job_output_user_data_user_data_key UNIQUE (user_data_id);

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

--
-- Name: jobs jobs_workflow_name_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.jobs
    ADD CONSTRAINT jobs_workflow_name_key UNIQUE (workflow_id, name);

--
-- Name: migrations migrations_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.migrations
    ADD CONSTRAINT migrations_pkey PRIMARY KEY (id);

--
-- Name: resource_requirements resource_requirements_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.resource_requirements
    ADD CONSTRAINT resource_requirements_pkey PRIMARY KEY (id);

--
-- Name: resource_requirements resource_requirements_workflow_name_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.resource_requirements
    ADD CONSTRAINT resource_requirements_workflow_name_key UNIQUE (workflow_id, name);

--
-- Name: results results_job_attempt_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.results
    ADD CONSTRAINT results_job_attempt_key UNIQUE (job_id, attempt);

--
-- Name: results results_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.results
    ADD CONSTRAINT results_pkey PRIMARY KEY (id);

--
-- Name: scheduled_compute_nodes scheduled_compute_nodes_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.scheduled_compute_nodes
    ADD CONSTRAINT scheduled_compute_nodes_pkey PRIMARY KEY (id);

--
-- Name: slurm_schedulers slurm_schedulers_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.slurm_schedulers
    ADD CONSTRAINT slurm_schedulers_pkey PRIMARY KEY (id);

--
-- Name: slurm_schedulers slurm_schedulers_workflow_name_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.slurm_schedulers
    ADD CONSTRAINT slurm_schedulers_workflow_name_key UNIQUE (workflow_id, name);

--
-- Name: user_data user_data_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.user_data
    ADD CONSTRAINT user_data_pkey PRIMARY KEY (id);

--
-- Name: user_data user_data_workflow_name_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.user_data
    ADD CONSTRAINT user_data_workflow_name_key UNIQUE (workflow_id, name);

--
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workers
    ADD CONSTRAINT workers_pkey PRIMARY KEY (id);

--
-- Name: workflow_action_jobs workflow_action_jobs_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflow_action_jobs
    ADD CONSTRAINT workflow_action_jobs_pkey PRIMARY KEY (action_id, job_id);

--
-- Name: workflow_actions workflow_actions_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflow_actions
    ADD CONSTRAINT workflow_actions_pkey PRIMARY KEY (id);

--
-- Name: workflow_actions workflow_actions_workflow_position_key; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflow_actions
    ADD CONSTRAINT workflow_actions_workflow_position_key UNIQUE (workflow_id, "position");

--
-- Name: workflow_job_counts workflow_job_counts_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflow_job_counts
    ADD CONSTRAINT workflow_job_counts_pkey PRIMARY KEY (workflow_id, shard, status);

--
-- Name: workflows workflows_pkey; Type: CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflows
    ADD CONSTRAINT workflows_pkey PRIMARY KEY (id);

--
-- Name: action_runs_worker_running_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX action_runs_worker_running_idx ON sluice.action_runs USING btree (worker_id) WHERE (status = 'running'::sluice.action_run_status);

--
-- Name: action_runs_workflow_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX action_runs_workflow_idx ON sluice.action_runs USING btree (workflow_id, id);

--
-- Name: events_workflow_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX events_workflow_idx ON sluice.events USING btree (workflow_id, id);

--
-- Name: job_dependencies_dependents_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX job_dependencies_dependents_idx ON sluice.job_dependencies USING btree (depends_on_job_id, job_id);

--
-- Name: job_input_files_file_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX job_input_files_file_idx ON sluice.job_input_files USING btree (file_id);

--
-- Name: job_input_user_data_user_data_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX job_input_user_data_user_data_idx ON sluice.job_input_user_data USING btree (user_data_id);

--
-- Name: job_samples_job_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX job_samples_job_idx ON sluice.job_samples USING btree (job_id, attempt, sampled_at);

--
-- Name: jobs_ready_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX jobs_ready_idx ON sluice.jobs USING btree (workflow_id, priority DESC, num_gpus DESC, runtime_seconds DESC, memory_bytes DESC, num_cpus DESC, id) WHERE (status = 'ready'::sluice.job_status);

--
-- Name: jobs_worker_active_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX jobs_worker_active_idx ON sluice.jobs USING btree (worker_id) WHERE sluice.job_status_is_active(status);

--
-- Name: jobs_workflow_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX jobs_workflow_idx ON sluice.jobs USING btree (workflow_id, id);

--
-- Name: results_workflow_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX results_workflow_idx ON sluice.results USING btree (workflow_id, id);

--
-- Name: scheduled_compute_nodes_workflow_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX scheduled_compute_nodes_workflow_idx ON sluice.scheduled_compute_nodes USING btree (workflow_id, id);

--
-- Name: workers_live_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX workers_live_idx ON sluice.workers USING btree (workflow_id) WHERE (status = 'running'::sluice.worker_status);

--
-- Name: workflow_action_jobs_job_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX workflow_action_jobs_job_idx ON sluice.workflow_action_jobs USING btree (job_id, action_id);

--
-- Name: workflow_actions_pending_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX workflow_actions_pending_idx ON sluice.workflow_actions USING btree (workflow_id, id) WHERE (status = 'pending'::sluice.workflow_action_status);

--
-- Name: workflows_owner_role_idx; Type: INDEX; Schema: sluice; Owner: -
--

CREATE INDEX workflows_owner_role_idx ON sluice.workflows USING btree (owner_role);

--
-- Name: events tg_events__10_rearm_allocations; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_events__10_rearm_allocations AFTER INSERT ON sluice.events FOR EACH ROW WHEN ((new.kind = 'job_retried'::sluice.event_kind)) EXECUTE FUNCTION sluice.tg_events__rearm_allocations();

--
-- Name: job_dependencies tg_job_dependencies__00_keys_fixed; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_job_dependencies__00_keys_fixed BEFORE UPDATE OF job_id ON sluice.job_dependencies FOR EACH ROW WHEN ((old.job_id <> new.job_id)) EXECUTE FUNCTION sluice.tg_keys_fixed();

--
-- Name: job_dependencies tg_job_dependencies__10_check_jobs; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_job_dependencies__10_check_jobs AFTER INSERT ON sluice.job_dependencies REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_job_dependencies__check_jobs();

--
-- Name: jobs tg_jobs__00_keys_fixed; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__00_keys_fixed BEFORE UPDATE OF id, workflow_id ON sluice.jobs FOR EACH ROW WHEN (((old.id <> new.id) OR (old.workflow_id <> new.workflow_id))) EXECUTE FUNCTION sluice.tg_keys_fixed();

--
-- Name: jobs tg_jobs__05_track_ready; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__05_track_ready BEFORE UPDATE OF status ON sluice.jobs FOR EACH ROW WHEN (((new.status IS DISTINCT FROM old.status) AND (new.status = ANY (ARRAY['ready'::sluice.job_status, 'uninitialized'::sluice.job_status])) AND (new.became_ready IS DISTINCT FROM (new.status = 'ready'::sluice.job_status)))) EXECUTE FUNCTION sluice.tg_jobs__track_ready();

--
-- Name: jobs tg_jobs__10_count_deleted; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__10_count_deleted AFTER DELETE ON sluice.jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__count_deleted();

--
-- Name: jobs tg_jobs__10_count_inserted; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__10_count_inserted AFTER INSERT ON sluice.jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__count_inserted();

--
-- Name: jobs tg_jobs__20_release_dependents; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__20_release_dependents AFTER DELETE ON sluice.jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__release_dependents();

--
-- Name: jobs tg_jobs__20_status_change; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__20_status_change AFTER UPDATE ON sluice.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__status_change();

--
-- Name: jobs tg_jobs__25_delete_links; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__25_delete_links AFTER DELETE ON sluice.jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__delete_links();

--
-- Name: jobs tg_jobs__30_count_actions; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__30_count_actions AFTER UPDATE ON sluice.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__count_actions();

--
-- Name: jobs tg_jobs__30_recount_actions; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_jobs__30_recount_actions AFTER DELETE ON sluice.jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__recount_actions();

--
-- Name: workers tg_workers__10_complete_allocation; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workers__10_complete_allocation AFTER UPDATE OF status ON sluice.workers FOR EACH ROW WHEN (((new.scheduled_node_id IS NOT NULL) AND (new.status <> 'running'::sluice.worker_status) AND (old.status = 'running'::sluice.worker_status))) EXECUTE FUNCTION sluice.tg_workers__complete_allocation();

--
-- Name: workers tg_workers__20_abandon_action_runs; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workers__20_abandon_action_runs AFTER UPDATE OF status ON sluice.workers FOR EACH ROW WHEN (((new.status <> 'running'::sluice.worker_status) AND (old.status = 'running'::sluice.worker_status))) EXECUTE FUNCTION sluice.tg_workers__abandon_action_runs();

--
-- Name: workers tg_workers__30_release_references; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workers__30_release_references AFTER DELETE ON sluice.workers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workers__release_references();

--
-- Name: workflow_action_jobs tg_workflow_action_jobs__00_keys_fixed; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflow_action_jobs__00_keys_fixed BEFORE UPDATE OF action_id, job_id ON sluice.workflow_action_jobs FOR EACH ROW WHEN (((old.action_id <> new.action_id) OR (old.job_id <> new.job_id))) EXECUTE FUNCTION sluice.tg_keys_fixed();

--
-- Name: workflow_action_jobs tg_workflow_action_jobs__10_check_refs; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflow_action_jobs__10_check_refs AFTER INSERT ON sluice.workflow_action_jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workflow_action_jobs__check_refs();

--
-- Name: workflow_actions tg_workflow_actions__00_keys_fixed; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflow_actions__00_keys_fixed BEFORE UPDATE OF id ON sluice.workflow_actions FOR EACH ROW WHEN ((old.id <> new.id)) EXECUTE FUNCTION sluice.tg_keys_fixed();

--
-- Name: workflow_actions tg_workflow_actions__40_delete_members; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflow_actions__40_delete_members AFTER DELETE ON sluice.workflow_actions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workflow_actions__delete_members();

--
-- Name: workflows tg_workflows__10_arm_complete_actions; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflows__10_arm_complete_actions AFTER UPDATE OF unfinished_jobs ON sluice.workflows FOR EACH ROW WHEN (((new.run_id > 0) AND ((old.unfinished_jobs = 0) <> (new.unfinished_jobs = 0)))) EXECUTE FUNCTION sluice.tg_workflows__arm_complete_actions();

--
-- Name: workflows tg_workflows__20_start_run_actions; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflows__20_start_run_actions AFTER UPDATE OF run_id ON sluice.workflows FOR EACH ROW WHEN ((new.run_id > old.run_id)) EXECUTE FUNCTION sluice.tg_workflows__start_run_actions();

--
-- Name: workflows tg_workflows__30_cancel_allocations; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflows__30_cancel_allocations AFTER UPDATE OF canceled_at ON sluice.workflows FOR EACH ROW WHEN ((new.canceled_at IS NOT NULL)) EXECUTE FUNCTION sluice.tg_workflows__cancel_allocations();

--
-- Name: workflows tg_workflows__40_delete_jobs; Type: TRIGGER; Schema: sluice; Owner: -
--

CREATE TRIGGER tg_workflows__40_delete_jobs AFTER DELETE ON sluice.workflows REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_workflows__delete_jobs();

--
-- Name: action_runs action_runs_action_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.action_runs
    ADD CONSTRAINT action_runs_action_fkey FOREIGN KEY (action_id) REFERENCES sluice.workflow_actions(id) ON DELETE CASCADE;

--
-- Name: action_runs action_runs_worker_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.action_runs
    ADD CONSTRAINT action_runs_worker_fkey FOREIGN KEY (worker_id) REFERENCES sluice.workers(id) ON DELETE CASCADE;

--
-- Name: action_runs action_runs_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.action_runs
    ADD CONSTRAINT action_runs_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: events events_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.events
    ADD CONSTRAINT events_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: failure_handler_rules failure_handler_rules_handler_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.failure_handler_rules
    ADD CONSTRAINT failure_handler_rules_handler_fkey FOREIGN KEY (handler_id) REFERENCES sluice.failure_handlers(id) ON DELETE CASCADE;

--
-- Name: failure_handlers failure_handlers_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.failure_handlers
    ADD CONSTRAINT failure_handlers_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: files files_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.files
    ADD CONSTRAINT files_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: job_input_files job_input_files_file_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_input_files
    ADD CONSTRAINT job_input_files_file_fkey FOREIGN KEY (file_id) REFERENCES sluice.files(id) ON DELETE CASCADE;

--
-- Name: job_input_files job_input_files_job_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_input_files
    ADD CONSTRAINT job_input_files_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs(id) ON DELETE CASCADE;

--
-- Name: job_input_user_data job_input_user_data_job_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_input_user_data
    ADD CONSTRAINT job_input_user_data_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs(id) ON DELETE CASCADE;

--
-- Name: job_input_user_data job_input_user_data_user_data_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_input_user_data
    ADD CONSTRAINT job_input_user_data_user_data_fkey FOREIGN KEY (user_data_id) REFERENCES sluice.user_data(id) ON DELETE CASCADE;

--
-- Name: job_output_files job_output_files_file_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_files
    ADD CONSTRAINT job_output_files_file_fkey FOREIGN KEY (file_id) REFERENCES sluice.files(id) ON DELETE CASCADE;

--
-- Name: job_output_files job_output_files_job_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_files
    ADD CONSTRAINT job_output_files_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs(id) ON DELETE CASCADE;

--
-- Name: job_output_user_data job_output_user_data_job_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_user_data
    ADD CONSTRAINT job_output_user_data_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs(id) ON DELETE CASCADE;

--
-- Name: job_output_user_data job_output_user_data_user_data_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_output_user_data
    ADD CONSTRAINT job_output_user_data_user_data_fkey FOREIGN KEY (user_data_id) REFERENCES sluice.user_data(id) ON DELETE CASCADE;

--
-- Name: job_samples job_samples_job_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_samples
    ADD CONSTRAINT job_samples_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs(id) ON DELETE CASCADE;

--
-- Name: job_samples job_samples_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.job_samples
    ADD CONSTRAINT job_samples_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: jobs jobs_failure_handler_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.jobs
    ADD CONSTRAINT jobs_failure_handler_fkey FOREIGN KEY (failure_handler_id) REFERENCES sluice.failure_handlers(id);

--
-- Name: jobs jobs_scheduler_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.jobs
    ADD CONSTRAINT jobs_scheduler_fkey FOREIGN KEY (scheduler_id) REFERENCES sluice.slurm_schedulers(id);

--
-- Name: resource_requirements resource_requirements_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.resource_requirements
    ADD CONSTRAINT resource_requirements_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: results results_job_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.results
    ADD CONSTRAINT results_job_fkey FOREIGN KEY (job_id) REFERENCES sluice.jobs(id) ON DELETE CASCADE;

--
-- Name: scheduled_compute_nodes scheduled_compute_nodes_action_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.scheduled_compute_nodes
    ADD CONSTRAINT scheduled_compute_nodes_action_fkey FOREIGN KEY (action_id) REFERENCES sluice.workflow_actions(id) ON DELETE SET NULL;

--
-- Name: scheduled_compute_nodes scheduled_compute_nodes_scheduler_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.scheduled_compute_nodes
    ADD CONSTRAINT scheduled_compute_nodes_scheduler_fkey FOREIGN KEY (scheduler_id) REFERENCES sluice.slurm_schedulers(id) ON DELETE CASCADE;

--
-- Name: scheduled_compute_nodes scheduled_compute_nodes_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.scheduled_compute_nodes
    ADD CONSTRAINT scheduled_compute_nodes_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: slurm_schedulers slurm_schedulers_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.slurm_schedulers
    ADD CONSTRAINT slurm_schedulers_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: user_data user_data_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.user_data
    ADD CONSTRAINT user_data_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: workers workers_scheduled_node_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workers
    ADD CONSTRAINT workers_scheduled_node_fkey FOREIGN KEY (scheduled_node_id) REFERENCES sluice.scheduled_compute_nodes(id) ON DELETE SET NULL;

--
-- Name: workers workers_scheduler_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workers
    ADD CONSTRAINT workers_scheduler_fkey FOREIGN KEY (scheduler_id) REFERENCES sluice.slurm_schedulers(id) ON DELETE SET NULL;

--
-- Name: workers workers_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workers
    ADD CONSTRAINT workers_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: workflow_actions workflow_actions_scheduler_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflow_actions
    ADD CONSTRAINT workflow_actions_scheduler_fkey FOREIGN KEY (scheduler_id) REFERENCES sluice.slurm_schedulers(id);

--
-- Name: workflow_actions workflow_actions_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflow_actions
    ADD CONSTRAINT workflow_actions_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: workflow_job_counts workflow_job_counts_workflow_fkey; Type: FK CONSTRAINT; Schema: sluice; Owner: -
--

ALTER TABLE ONLY sluice.workflow_job_counts
    ADD CONSTRAINT workflow_job_counts_workflow_fkey FOREIGN KEY (workflow_id) REFERENCES sluice.workflows(id) ON DELETE CASCADE;

--
-- Name: action_runs; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.action_runs ENABLE ROW LEVEL SECURITY;

--
-- Name: action_runs action_runs_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY action_runs_workflow_visible ON sluice.action_runs USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = action_runs.workflow_id))));

--
-- Name: api_tokens; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.api_tokens ENABLE ROW LEVEL SECURITY;

--
-- Name: api_tokens api_tokens_owner; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY api_tokens_owner ON sluice.api_tokens USING (((owner_role = CURRENT_USER) OR ( SELECT sluice.is_admin() AS is_admin))) WITH CHECK ((owner_role = CURRENT_USER));

--
-- Name: events; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.events ENABLE ROW LEVEL SECURITY;

--
-- Name: events events_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY events_workflow_visible ON sluice.events USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = events.workflow_id))));

--
-- Name: failure_handler_rules; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.failure_handler_rules ENABLE ROW LEVEL SECURITY;

--
-- Name: failure_handler_rules failure_handler_rules_handler_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY failure_handler_rules_handler_visible ON sluice.failure_handler_rules USING ((EXISTS ( SELECT 1
   FROM sluice.failure_handlers h
  WHERE (h.id = failure_handler_rules.handler_id))));

--
-- Name: failure_handlers; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.failure_handlers ENABLE ROW LEVEL SECURITY;

--
-- Name: failure_handlers failure_handlers_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY failure_handlers_workflow_visible ON sluice.failure_handlers USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = failure_handlers.workflow_id))));

--
-- Name: files; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.files ENABLE ROW LEVEL SECURITY;

--
-- Name: files files_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY files_workflow_visible ON sluice.files USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = files.workflow_id))));

--
-- Name: job_dependencies; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.job_dependencies ENABLE ROW LEVEL SECURITY;

--
-- Name: job_dependencies job_dependencies_job_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY job_dependencies_job_visible ON sluice.job_dependencies USING ((EXISTS ( SELECT 1
   FROM sluice.jobs j
  WHERE (j.id = job_dependencies.job_id))));

--
-- Name: job_input_files; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.job_input_files ENABLE ROW LEVEL SECURITY;

--
-- Name: job_input_files job_input_files_job_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY job_input_files_job_visible ON sluice.job_input_files USING ((EXISTS ( SELECT 1
   FROM sluice.jobs j
  WHERE (j.id = job_input_files.job_id))));

--
-- Name: job_input_user_data; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.job_input_user_data ENABLE ROW LEVEL SECURITY;

--
-- Name: job_input_user_data job_input_user_data_job_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY job_input_user_data_job_visible ON sluice.job_input_user_data USING ((EXISTS ( SELECT 1
   FROM sluice.jobs j
  WHERE (j.id = job_input_user_data.job_id))));

--
-- Name: job_output_files; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.job_output_files ENABLE ROW LEVEL SECURITY;

--
-- Name: job_output_files job_output_files_job_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY job_output_files_job_visible ON sluice.job_output_files USING ((EXISTS ( SELECT 1
   FROM sluice.jobs j
  WHERE (j.id = job_output_files.job_id))));

--
-- Name: job_output_user_data; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.job_output_user_data ENABLE ROW LEVEL SECURITY;

--
-- Name: job_output_user_data job_output_user_data_job_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY job_output_user_data_job_visible ON sluice.job_output_user_data USING ((EXISTS ( SELECT 1
   FROM sluice.jobs j
  WHERE (j.id = job_output_user_data.job_id))));

--
-- Name: job_samples; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.job_samples ENABLE ROW LEVEL SECURITY;

--
-- Name: job_samples job_samples_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY job_samples_workflow_visible ON sluice.job_samples USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = job_samples.workflow_id))));

--
-- Name: jobs; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.jobs ENABLE ROW LEVEL SECURITY;

--
-- Name: jobs jobs_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY jobs_workflow_visible ON sluice.jobs USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = jobs.workflow_id))));

--
-- Name: resource_requirements; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.resource_requirements ENABLE ROW LEVEL SECURITY;

--
-- Name: resource_requirements resource_requirements_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY resource_requirements_workflow_visible ON sluice.resource_requirements USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = resource_requirements.workflow_id))));

--
-- Name: results; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.results ENABLE ROW LEVEL SECURITY;

--
-- Name: results results_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY results_workflow_visible ON sluice.results USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = results.workflow_id))));

--
-- Name: scheduled_compute_nodes; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.scheduled_compute_nodes ENABLE ROW LEVEL SECURITY;

--
-- Name: scheduled_compute_nodes scheduled_compute_nodes_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY scheduled_compute_nodes_workflow_visible ON sluice.scheduled_compute_nodes USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = scheduled_compute_nodes.workflow_id))));

--
-- Name: slurm_schedulers; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.slurm_schedulers ENABLE ROW LEVEL SECURITY;

--
-- Name: slurm_schedulers slurm_schedulers_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY slurm_schedulers_workflow_visible ON sluice.slurm_schedulers USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = slurm_schedulers.workflow_id))));

--
-- Name: user_data; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.user_data ENABLE ROW LEVEL SECURITY;

--
-- Name: user_data user_data_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY user_data_workflow_visible ON sluice.user_data USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = user_data.workflow_id))));

--
-- Name: workers; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workers ENABLE ROW LEVEL SECURITY;

--
-- Name: workers workers_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY workers_workflow_visible ON sluice.workers USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = workers.workflow_id))));

--
-- Name: workflow_action_jobs; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workflow_action_jobs ENABLE ROW LEVEL SECURITY;

--
-- Name: workflow_action_jobs workflow_action_jobs_action_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY workflow_action_jobs_action_visible ON sluice.workflow_action_jobs USING ((EXISTS ( SELECT 1
   FROM sluice.workflow_actions a
  WHERE (a.id = workflow_action_jobs.action_id))));

--
-- Name: workflow_actions; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workflow_actions ENABLE ROW LEVEL SECURITY;

--
-- Name: workflow_actions workflow_actions_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY workflow_actions_workflow_visible ON sluice.workflow_actions USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = workflow_actions.workflow_id))));

--
-- Name: workflow_job_counts; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workflow_job_counts ENABLE ROW LEVEL SECURITY;

--
-- Name: workflow_job_counts workflow_job_counts_workflow_visible; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY workflow_job_counts_workflow_visible ON sluice.workflow_job_counts USING ((EXISTS ( SELECT 1
   FROM sluice.workflows w
  WHERE (w.id = workflow_job_counts.workflow_id))));

--
-- Name: workflows; Type: ROW SECURITY; Schema: sluice; Owner: -
--

ALTER TABLE sluice.workflows ENABLE ROW LEVEL SECURITY;

--
-- Name: workflows workflows_owner; Type: POLICY; Schema: sluice; Owner: -
--

CREATE POLICY workflows_owner ON sluice.workflows USING (((owner_role = CURRENT_USER) OR ( SELECT sluice.is_admin() AS is_admin))) WITH CHECK (((owner_role = CURRENT_USER) OR ( SELECT sluice.is_admin() AS is_admin)));

--
-- PostgreSQL database dump complete
--
