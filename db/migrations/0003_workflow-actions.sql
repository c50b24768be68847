-- Up Migration

-- Workflow actions: trigger counts kept by triggers on job status changes, claims recorded per
-- run, NOTIFY when an action becomes pending. See docs/state-machines.md ("Action status").

CREATE TYPE sluice.trigger_type AS ENUM (
  'on_workflow_start', 'on_workflow_complete', 'on_jobs_ready', 'on_jobs_complete',
  'on_worker_start', 'on_worker_complete'
);
CREATE TYPE sluice.action_type AS ENUM ('run_commands', 'schedule_nodes');
CREATE TYPE sluice.workflow_action_status AS ENUM ('waiting', 'pending', 'running', 'succeeded', 'failed');
CREATE TYPE sluice.action_run_status AS ENUM ('running', 'succeeded', 'failed', 'abandoned');

CREATE TABLE sluice.workflow_actions (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  -- Position in the spec's actions list, for messages and stable listing.
  position integer NOT NULL,
  trigger_type sluice.trigger_type NOT NULL,
  action_type sluice.action_type NOT NULL,
  persistent boolean NOT NULL,
  commands text[],
  scheduler_id bigint,
  num_allocations integer,
  start_one_worker_per_node boolean NOT NULL DEFAULT false,
  max_parallel_jobs integer,
  required_triggers integer NOT NULL,
  trigger_count integer NOT NULL DEFAULT 0,
  -- Non-persistent actions go waiting -> pending -> running -> succeeded|failed, once per run.
  -- Persistent actions stay pending once armed: each worker's execution is an action_runs row.
  status sluice.workflow_action_status NOT NULL DEFAULT 'waiting',
  -- The run holding a non-persistent action's current claim: only that run may settle it.
  claimed_run_id bigint,
  CONSTRAINT workflow_actions_pkey PRIMARY KEY (id),
  CONSTRAINT workflow_actions_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT workflow_actions_scheduler_fkey FOREIGN KEY (scheduler_id)
    REFERENCES sluice.slurm_schedulers (id),
  CONSTRAINT workflow_actions_workflow_position_key UNIQUE (workflow_id, position),
  CONSTRAINT workflow_actions_config_matches_type CHECK (
    (action_type = 'run_commands' AND cardinality(commands) >= 1 AND scheduler_id IS NULL)
    OR (action_type = 'schedule_nodes' AND commands IS NULL AND scheduler_id IS NOT NULL
        AND num_allocations >= 1)),
  CONSTRAINT workflow_actions_max_parallel_jobs_positive CHECK (max_parallel_jobs IS NULL OR max_parallel_jobs >= 1),
  CONSTRAINT workflow_actions_trigger_count_valid CHECK (
    required_triggers >= 0 AND trigger_count >= 0 AND trigger_count <= required_triggers),
  CONSTRAINT workflow_actions_persistent_not_claimed CHECK (NOT persistent OR status IN ('waiting', 'pending'))
);
CREATE INDEX workflow_actions_pending_idx ON sluice.workflow_actions (workflow_id, id) WHERE status = 'pending';

CREATE TABLE sluice.workflow_action_jobs (
  action_id bigint NOT NULL,
  job_id bigint NOT NULL,
  CONSTRAINT workflow_action_jobs_pkey PRIMARY KEY (action_id, job_id),
  CONSTRAINT workflow_action_jobs_action_fkey FOREIGN KEY (action_id)
    REFERENCES sluice.workflow_actions (id) ON DELETE CASCADE,
  CONSTRAINT workflow_action_jobs_job_fkey FOREIGN KEY (job_id)
    REFERENCES sluice.jobs (id) ON DELETE CASCADE
);
-- The counting path: actions watching a job.
CREATE INDEX workflow_action_jobs_job_idx ON sluice.workflow_action_jobs (job_id, action_id);

ALTER TABLE sluice.scheduled_compute_nodes
  ADD CONSTRAINT scheduled_compute_nodes_action_fkey FOREIGN KEY (action_id)
    REFERENCES sluice.workflow_actions (id) ON DELETE SET NULL;

-- Set when a job becomes ready, cleared when it is reset: on_jobs_ready counts jobs that have
-- become ready since their last reset (ready, and later states reached through ready).
ALTER TABLE sluice.jobs ADD COLUMN became_ready boolean NOT NULL DEFAULT false;

-- Every execution of an action. For a persistent action the unique key is the per-worker claim:
-- a worker runs it at most once per workflow run. A non-persistent action is claimed by the
-- conditional UPDATE of its status, so it has at most one run per workflow run.
CREATE TABLE sluice.action_runs (
  id bigint GENERATED ALWAYS AS IDENTITY,
  action_id bigint NOT NULL,
  workflow_id bigint NOT NULL,
  worker_id bigint NOT NULL,
  run_id integer NOT NULL,
  status sluice.action_run_status NOT NULL DEFAULT 'running',
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  exit_code integer,
  failed_command text,
  message text,
  stdout_path text,
  stderr_path text,
  CONSTRAINT action_runs_pkey PRIMARY KEY (id),
  CONSTRAINT action_runs_action_fkey FOREIGN KEY (action_id)
    REFERENCES sluice.workflow_actions (id) ON DELETE CASCADE,
  CONSTRAINT action_runs_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT action_runs_worker_fkey FOREIGN KEY (worker_id)
    REFERENCES sluice.workers (id) ON DELETE CASCADE,
  CONSTRAINT action_runs_action_worker_run_key UNIQUE (action_id, worker_id, run_id),
  CONSTRAINT action_runs_finished_matches_status CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX action_runs_worker_running_idx ON sluice.action_runs (worker_id) WHERE status = 'running';
CREATE INDEX action_runs_workflow_idx ON sluice.action_runs (workflow_id, id);

--------------------------------------------------------------------------------------------------
-- Counting.
--------------------------------------------------------------------------------------------------

-- Only rows that become ready or uninitialized reach the function (WHEN clause), so bulk
-- statements pay nothing for the rest.
CREATE FUNCTION sluice.tg_jobs__track_ready() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  NEW.became_ready := NEW.status = 'ready';
  RETURN NEW;
END $$;

CREATE TRIGGER tg_jobs__05_track_ready BEFORE UPDATE OF status ON sluice.jobs
  FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('ready', 'uninitialized'))
  EXECUTE FUNCTION sluice.tg_jobs__track_ready();

-- Marks actions pending whose count reached their threshold (and pending ones that fell back
-- below it waiting), logs and notifies. p_ids must be locked by the caller.
CREATE FUNCTION sluice.actions_settle(p_ids bigint[]) RETURNS void
  LANGUAGE plpgsql AS $$
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

CREATE FUNCTION sluice.tg_jobs__count_actions() RETURNS trigger
  LANGUAGE plpgsql
  SET jit = off
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

CREATE TRIGGER tg_jobs__30_count_actions AFTER UPDATE ON sluice.jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__count_actions();

-- A job row deleted by hand (not with its workflow): the job-triggered actions of its workflow
-- are recounted from the jobs they still select. An action left selecting nothing has nothing
-- to wait for and fires.
CREATE FUNCTION sluice.tg_jobs__recount_actions() RETURNS trigger
  LANGUAGE plpgsql AS $$
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

CREATE TRIGGER tg_jobs__30_recount_actions AFTER DELETE ON sluice.jobs
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.tg_jobs__recount_actions();

-- A retried job that names a scheduler whose allocations have all ended would wait for ever:
-- the schedule_nodes actions of that scheduler are armed again, to request a new allocation
-- (torc does the same). Hooked on the job_retried event that jobs_complete logs for each retry.
CREATE FUNCTION sluice.tg_events__rearm_allocations() RETURNS trigger
  LANGUAGE plpgsql AS $$
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

CREATE TRIGGER tg_events__10_rearm_allocations AFTER INSERT ON sluice.events
  FOR EACH ROW
  WHEN (NEW.kind = 'job_retried')
  EXECUTE FUNCTION sluice.tg_events__rearm_allocations();

-- on_workflow_complete: armed when no job of the workflow is left unfinished, however the last
-- one got there (completion, cascade, cancel, an admin's UPDATE); disarmed, if not yet claimed,
-- when jobs are reset.
CREATE FUNCTION sluice.actions_arm_workflow_complete(p_workflow_id bigint, p_complete boolean) RETURNS void
  LANGUAGE plpgsql AS $$
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

CREATE FUNCTION sluice.tg_workflows__arm_complete_actions() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sluice.actions_arm_workflow_complete(NEW.id, NEW.unfinished_jobs = 0);
  RETURN NULL;
END $$;

CREATE TRIGGER tg_workflows__10_arm_complete_actions AFTER UPDATE OF unfinished_jobs ON sluice.workflows
  FOR EACH ROW
  WHEN (NEW.run_id > 0 AND (OLD.unfinished_jobs = 0) <> (NEW.unfinished_jobs = 0))
  EXECUTE FUNCTION sluice.tg_workflows__arm_complete_actions();

--------------------------------------------------------------------------------------------------
-- Runs: initialize and reinitialize arm the actions of the new run.
--------------------------------------------------------------------------------------------------

-- Before the jobs move: every job-triggered action gets its counts recomputed from the jobs it
-- selects and their current states. One whose selected jobs all still satisfy it (nothing it
-- watches will happen again) keeps its executed state; every other action is cleared to waiting,
-- forgetting the run that held its last claim, to fire again as jobs move in the new run.
-- Workflow-start and worker actions are armed at once.
CREATE FUNCTION sluice.actions_start_run(p_workflow_id bigint) RETURNS void
  LANGUAGE plpgsql AS $$
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

-- A new run (initialize, reinitialize: run_id moves) arms the actions before any job moves; a
-- run with nothing left to do is complete at once.
CREATE FUNCTION sluice.tg_workflows__start_run_actions() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sluice.actions_start_run(NEW.id);
  IF NEW.unfinished_jobs = 0 THEN
    PERFORM sluice.actions_arm_workflow_complete(NEW.id, true);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tg_workflows__20_start_run_actions AFTER UPDATE OF run_id ON sluice.workflows
  FOR EACH ROW
  WHEN (NEW.run_id > OLD.run_id)
  EXECUTE FUNCTION sluice.tg_workflows__start_run_actions();

--------------------------------------------------------------------------------------------------
-- Claiming and recording action runs.
--------------------------------------------------------------------------------------------------

-- Claims one pending action of the worker's workflow among p_trigger_types (and, if given,
-- p_action_types: `sluice submit` on a login node takes only schedule_nodes), or nothing.
-- Non-persistent: the first worker to flip it from pending to running gets it (SKIP LOCKED), and
-- the action records the run that holds its claim. Persistent: the insert of (action, worker,
-- run) either succeeds or meets the unique key (a released run's row is gone: it is claimed again). The worker's row is share-locked first, so a
-- claim and a reap of that worker serialize: no run starts on a worker just declared lost.
CREATE FUNCTION sluice.actions_claim(p_worker_id bigint, p_trigger_types sluice.trigger_type[],
                                                p_action_types sluice.action_type[] DEFAULT NULL)
  RETURNS TABLE (run_id bigint, action_id bigint, trigger_type sluice.trigger_type,
                 action_type sluice.action_type, persistent boolean, commands text[],
                 scheduler_id bigint, num_allocations integer, start_one_worker_per_node boolean,
                 max_parallel_jobs integer)
  LANGUAGE plpgsql AS $$
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

-- Records how a run ended. A non-persistent action takes the outcome of the run that holds its
-- claim, and only of that one: a stale run of an earlier workflow run settles nothing.
-- A run already marked abandoned (its worker was declared lost or stopped) stays abandoned.
CREATE FUNCTION sluice.action_runs_finish(
  p_action_run_id bigint, p_succeeded boolean, p_exit_code integer, p_failed_command text,
  p_message text, p_stdout_path text, p_stderr_path text)
  RETURNS boolean
  LANGUAGE plpgsql AS $$
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

-- Gives back runs the database says this worker holds but the worker is not running (a claim
-- whose reply was lost): such a run never ran, so its row goes (the event log keeps that it was
-- claimed and released), and a non-persistent action it held goes back to pending, to be
-- claimed again. Returns the released runs.
CREATE FUNCTION sluice.action_runs_release(p_worker_id bigint, p_action_run_ids bigint[]) RETURNS SETOF bigint
  LANGUAGE plpgsql AS $$
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

-- Whether the worker's workflow has a pending action among p_trigger_types that this worker
-- could claim: a non-persistent one, or a persistent one it has not run in this run.
CREATE FUNCTION sluice.actions_claimable(p_worker_id bigint, p_trigger_types sluice.trigger_type[])
  RETURNS boolean
  LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM sluice.workers k
      JOIN sluice.workflows w ON w.id = k.workflow_id
      JOIN sluice.workflow_actions a ON a.workflow_id = w.id
     WHERE k.id = p_worker_id AND a.status = 'pending' AND a.trigger_type = ANY (p_trigger_types)
       AND (NOT a.persistent OR NOT EXISTS (
             SELECT 1 FROM sluice.action_runs r
              WHERE r.action_id = a.id AND r.worker_id = p_worker_id AND r.run_id = w.run_id)))
$$;

-- A worker that stops or is declared lost leaves its running action runs abandoned: the
-- non-persistent action whose claim such a run held counts as failed (actions are not retried),
-- which also opens the on_workflow_start gate.
CREATE FUNCTION sluice.tg_workers__abandon_action_runs() RETURNS trigger
  LANGUAGE plpgsql AS $$
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

CREATE TRIGGER tg_workers__20_abandon_action_runs AFTER UPDATE OF status ON sluice.workers
  FOR EACH ROW
  WHEN (NEW.status <> 'running' AND OLD.status = 'running')
  EXECUTE FUNCTION sluice.tg_workers__abandon_action_runs();

--------------------------------------------------------------------------------------------------
-- Public SQL interface.
--------------------------------------------------------------------------------------------------

CREATE VIEW sluice.action_status AS
SELECT a.id, a.workflow_id, a.position, a.trigger_type, a.action_type, a.persistent,
       a.trigger_count, a.required_triggers,
       CASE WHEN a.persistent
            THEN EXISTS (SELECT 1 FROM sluice.action_runs r WHERE r.action_id = a.id AND r.run_id = w.run_id)
            ELSE a.status IN ('running', 'succeeded', 'failed') END AS executed,
       a.status,
       ARRAY(SELECT j.name FROM sluice.workflow_action_jobs m JOIN sluice.jobs j ON j.id = m.job_id
              WHERE m.action_id = a.id ORDER BY j.id) AS job_names,
       ARRAY(SELECT j.name FROM sluice.workflow_action_jobs m JOIN sluice.jobs j ON j.id = m.job_id
              WHERE m.action_id = a.id
                AND NOT CASE WHEN a.trigger_type = 'on_jobs_complete' THEN sluice.job_status_is_terminal(j.status)
                             ELSE j.became_ready END
              ORDER BY j.id) AS waiting_on
  FROM sluice.workflow_actions a
  JOIN sluice.workflows w ON w.id = a.workflow_id;

COMMENT ON VIEW sluice.action_status IS
  'One row per workflow action: progress (trigger_count of required_triggers), status, executed, the selected jobs and those it still waits on.';

-- Down Migration
DROP VIEW sluice.action_status;
DROP TRIGGER tg_workers__20_abandon_action_runs ON sluice.workers;
DROP FUNCTION sluice.tg_workers__abandon_action_runs();
DROP FUNCTION sluice.actions_claimable(bigint, sluice.trigger_type[]);
DROP FUNCTION sluice.action_runs_release(bigint, bigint[]);
DROP FUNCTION sluice.action_runs_finish(bigint, boolean, integer, text, text, text, text);
DROP FUNCTION sluice.actions_claim(bigint, sluice.trigger_type[], sluice.action_type[]);
DROP TRIGGER tg_workflows__20_start_run_actions ON sluice.workflows;
DROP FUNCTION sluice.tg_workflows__start_run_actions();
DROP FUNCTION sluice.actions_start_run(bigint);
DROP TRIGGER tg_workflows__10_arm_complete_actions ON sluice.workflows;
DROP FUNCTION sluice.tg_workflows__arm_complete_actions();
DROP FUNCTION sluice.actions_arm_workflow_complete(bigint, boolean);
DROP TRIGGER tg_events__10_rearm_allocations ON sluice.events;
DROP FUNCTION sluice.tg_events__rearm_allocations();
DROP TRIGGER tg_jobs__30_recount_actions ON sluice.jobs;
DROP FUNCTION sluice.tg_jobs__recount_actions();
DROP TRIGGER tg_jobs__30_count_actions ON sluice.jobs;
DROP FUNCTION sluice.tg_jobs__count_actions();
DROP FUNCTION sluice.actions_settle(bigint[]);
DROP TRIGGER tg_jobs__05_track_ready ON sluice.jobs;
DROP FUNCTION sluice.tg_jobs__track_ready();
ALTER TABLE sluice.jobs DROP COLUMN became_ready;
ALTER TABLE sluice.scheduled_compute_nodes DROP CONSTRAINT scheduled_compute_nodes_action_fkey;
DROP TABLE sluice.action_runs, sluice.workflow_action_jobs, sluice.workflow_actions;
DROP TYPE sluice.action_run_status;
DROP TYPE sluice.workflow_action_status;
DROP TYPE sluice.action_type;
DROP TYPE sluice.trigger_type;
