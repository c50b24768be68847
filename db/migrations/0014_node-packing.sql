-- Up Migration

-- Node packing (issue 11, figure 3). The resource-based claim subtracted every job's num_nodes
-- from the worker's free nodes, so a one-node worker (every plain `sluice worker`, and each worker
-- of an allocation run one per node) claimed one job per call and ran one at a time, whatever its
-- cpus and memory: `--num-cpus 8` ran 1-cpu jobs one by one. Now one-node jobs share a node by
-- cpus, memory and gpus, as torc packs a node: together they hold one of the worker's nodes (the
-- worker's cpus, memory and gpus are one node's, SLURM_CPUS_ON_NODE). A multi-node job holds
-- its nodes, so two 4-node jobs do not run at once on a 4-node worker, nor one beside one-node
-- jobs. The worker passes the nodes its multi-node jobs hold as used (job-claimer.ts); the claim
-- looks up whether it runs one-node jobs (jobs_worker_active_idx).

CREATE OR REPLACE FUNCTION sluice.jobs_claim(p_worker_id bigint, p_limit integer, p_use_resources boolean, p_free_cpus integer, p_free_memory_bytes bigint, p_free_gpus integer, p_free_nodes integer, p_max_runtime_seconds bigint) RETURNS SETOF sluice.jobs
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

-- Down Migration

CREATE OR REPLACE FUNCTION sluice.jobs_claim(p_worker_id bigint, p_limit integer, p_use_resources boolean, p_free_cpus integer, p_free_memory_bytes bigint, p_free_gpus integer, p_free_nodes integer, p_max_runtime_seconds bigint) RETURNS SETOF sluice.jobs
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
