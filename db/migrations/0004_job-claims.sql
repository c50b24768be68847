-- Up Migration

-- Claiming jobs: which jobs a worker may take (its resources, its scheduler, its time left) and
-- when (the workflow-start and worker-start actions gate claims). The rule lives here only:
-- jobs_claim takes jobs by it, and jobs_any_runnable tells an idle worker whether anything left
-- could ever be taken by it.

-- Whether a job fits a worker: the job names no scheduler or the worker's own; its runtime fits
-- the time left (NULL: unlimited); with p_use_resources, its cpus, memory, gpus and nodes fit
-- the free amounts (without, the worker counts jobs, not resources: --max-parallel-jobs).
-- A SQL function, so the planner inlines it into each query's WHERE clause.
CREATE FUNCTION sluice.jobs_fit(
  j sluice.jobs, p_scheduler_id bigint, p_max_runtime_seconds bigint, p_use_resources boolean,
  p_cpus integer, p_memory_bytes bigint, p_gpus integer, p_nodes integer)
  RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
  SELECT (j.scheduler_id IS NULL OR j.scheduler_id = p_scheduler_id)
     AND (p_max_runtime_seconds IS NULL OR j.runtime_seconds <= p_max_runtime_seconds)
     AND (NOT p_use_resources OR (j.num_cpus <= p_cpus AND j.memory_bytes <= p_memory_bytes
                                  AND j.num_gpus <= p_gpus AND j.num_nodes <= p_nodes))
$$;

-- Whether the worker may claim jobs at all right now: no job is claimed while a non-persistent
-- on_workflow_start action is pending or running, nor by a worker whose own on_worker_start runs
-- of the current run have finished.
CREATE FUNCTION sluice.jobs_claim_gate_open(p_worker_id bigint) RETURNS boolean
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

-- Claims up to p_limit ready jobs for a worker and starts them: they go ready -> running in one
-- transaction, with their job_started events. Highest priority first, then biggest (gpus, runtime,
-- memory, then cpus):
-- the big jobs are the hard ones to place, so they go while room is free. With p_use_resources,
-- only jobs that fit together in the free cpus/memory/gpus/nodes are taken: candidates are read
-- without locks, then each one that fits is locked individually with SKIP LOCKED, so the claim
-- locks exactly the rows it takes. The worker's row is share-locked first: a reap of this worker
-- either waits for the claim and then ends what it took, or runs first and the claim finds the
-- worker no longer running.
CREATE FUNCTION sluice.jobs_claim(
  p_worker_id bigint, p_limit integer, p_use_resources boolean,
  p_free_cpus integer, p_free_memory_bytes bigint, p_free_gpus integer, p_free_nodes integer,
  p_max_runtime_seconds bigint)
  RETURNS SETOF sluice.jobs
  LANGUAGE plpgsql AS $$
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
    FOR v_cand IN
      SELECT j.id, j.num_cpus, j.memory_bytes, j.num_gpus, j.num_nodes FROM sluice.jobs j
       WHERE j.workflow_id = v_workflow_id AND j.status = 'ready'
         AND sluice.jobs_fit(j, v_scheduler_id, p_max_runtime_seconds, true, v_cpus, v_mem, v_gpus, v_nodes)
       ORDER BY j.priority DESC, j.num_gpus DESC, j.runtime_seconds DESC, j.memory_bytes DESC, j.num_cpus DESC, j.id
       LIMIT 1000
    LOOP
      CONTINUE WHEN v_cand.num_cpus > v_cpus OR v_cand.memory_bytes > v_mem
                 OR v_cand.num_gpus > v_gpus OR v_cand.num_nodes > v_nodes;
      PERFORM 1 FROM sluice.jobs WHERE id = v_cand.id AND status = 'ready' FOR UPDATE SKIP LOCKED;
      CONTINUE WHEN NOT FOUND;
      v_ids := v_ids || v_cand.id;
      v_cpus := v_cpus - v_cand.num_cpus;
      v_mem := v_mem - v_cand.memory_bytes;
      v_gpus := v_gpus - v_cand.num_gpus;
      v_nodes := v_nodes - v_cand.num_nodes;
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

-- Whether any job of the worker's workflow that has not started yet (uninitialized, blocked or
-- ready) could ever be claimed by this worker with these amounts, whatever else runs meanwhile.
CREATE FUNCTION sluice.jobs_any_runnable(
  p_worker_id bigint, p_use_resources boolean, p_cpus integer, p_memory_bytes bigint, p_gpus integer,
  p_nodes integer, p_max_runtime_seconds bigint)
  RETURNS boolean
  LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM sluice.workers k
      JOIN sluice.jobs j ON j.workflow_id = k.workflow_id
     WHERE k.id = p_worker_id
       AND j.status IN ('uninitialized', 'blocked', 'ready')
       AND sluice.jobs_fit(j, k.scheduler_id, p_max_runtime_seconds, p_use_resources,
                           p_cpus, p_memory_bytes, p_gpus, p_nodes))
$$;

-- Down Migration
DROP FUNCTION sluice.jobs_any_runnable(bigint, boolean, integer, bigint, integer, integer, bigint);
DROP FUNCTION sluice.jobs_claim(bigint, integer, boolean, integer, bigint, integer, integer, bigint);
DROP FUNCTION sluice.jobs_claim_gate_open(bigint);
DROP FUNCTION sluice.jobs_fit(sluice.jobs, bigint, bigint, boolean, integer, bigint, integer, integer);
