-- Up Migration

-- Slurm: the schedulers a workflow defines, the allocations its schedule_nodes actions request,
-- and what ties jobs and workers to them. See docs/state-machines.md ("Allocation status").

-- unknown: sbatch exited 0 but printed no job id that Sluice could read; never resubmitted.
CREATE TYPE sluice.allocation_status AS ENUM ('pending', 'active', 'complete', 'failed', 'canceled', 'unknown');

CREATE TABLE sluice.slurm_schedulers (
  id bigint GENERATED ALWAYS AS IDENTITY,
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
  extra text,
  CONSTRAINT slurm_schedulers_pkey PRIMARY KEY (id),
  CONSTRAINT slurm_schedulers_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT slurm_schedulers_workflow_name_key UNIQUE (workflow_id, name)
);

-- One row per allocation. It is written before sbatch runs and given its Slurm job id after;
-- when sbatch finally fails the row says so (failed, no job id): no row ever claims an
-- allocation that does not exist.
CREATE TABLE sluice.scheduled_compute_nodes (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id bigint NOT NULL,
  scheduler_id bigint NOT NULL,
  -- The action (and its run) that requested the allocation (foreign key: 0003_workflow-actions).
  action_id bigint,
  action_run_id bigint,
  slurm_job_id text,
  status sluice.allocation_status NOT NULL DEFAULT 'pending',
  num_nodes integer NOT NULL DEFAULT 1,
  start_one_worker_per_node boolean NOT NULL DEFAULT false,
  max_parallel_jobs integer,
  script_path text,
  message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  submitted_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  CONSTRAINT scheduled_compute_nodes_pkey PRIMARY KEY (id),
  CONSTRAINT scheduled_compute_nodes_workflow_fkey FOREIGN KEY (workflow_id)
    REFERENCES sluice.workflows (id) ON DELETE CASCADE,
  CONSTRAINT scheduled_compute_nodes_scheduler_fkey FOREIGN KEY (scheduler_id)
    REFERENCES sluice.slurm_schedulers (id) ON DELETE CASCADE,
  CONSTRAINT scheduled_compute_nodes_submitted_has_job_id
    CHECK (status IN ('pending', 'failed', 'unknown') OR slurm_job_id IS NOT NULL)
);
CREATE INDEX scheduled_compute_nodes_workflow_idx ON sluice.scheduled_compute_nodes (workflow_id, id);

-- Jobs that name a scheduler run only on workers of allocations from that scheduler.
ALTER TABLE sluice.jobs
  ADD COLUMN scheduler_id bigint,
  ADD CONSTRAINT jobs_scheduler_fkey FOREIGN KEY (scheduler_id) REFERENCES sluice.slurm_schedulers (id);

-- A worker inside an allocation takes on the allocation's scheduler.
ALTER TABLE sluice.workers
  ADD COLUMN scheduler_id bigint,
  ADD COLUMN scheduled_node_id bigint,
  ADD CONSTRAINT workers_scheduler_fkey FOREIGN KEY (scheduler_id)
    REFERENCES sluice.slurm_schedulers (id) ON DELETE SET NULL,
  ADD CONSTRAINT workers_scheduled_node_fkey FOREIGN KEY (scheduled_node_id)
    REFERENCES sluice.scheduled_compute_nodes (id) ON DELETE SET NULL;

-- A worker inside an allocation takes on the allocation's scheduler (its jobs are the ones it
-- may run) and marks the allocation active. An allocation recorded unknown (sbatch said nothing
-- Sluice could read) learns its Slurm job id here, from the worker that runs in it.
CREATE FUNCTION sluice.workers_attach_allocation(p_worker_id bigint, p_scheduled_node_id bigint,
                                                 p_slurm_job_id text DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql AS $$
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

-- When the last live worker of an allocation stops, the allocation is complete.
CREATE FUNCTION sluice.tg_workers__complete_allocation() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  UPDATE sluice.scheduled_compute_nodes n
     SET status = 'complete', finished_at = now()
   WHERE n.id = NEW.scheduled_node_id AND n.status = 'active'
     AND NOT EXISTS (SELECT 1 FROM sluice.workers k
                      WHERE k.scheduled_node_id = n.id AND k.status = 'running');
  RETURN NULL;
END $$;

CREATE TRIGGER tg_workers__10_complete_allocation AFTER UPDATE OF status ON sluice.workers
  FOR EACH ROW
  WHEN (NEW.scheduled_node_id IS NOT NULL AND NEW.status <> 'running' AND OLD.status = 'running')
  EXECUTE FUNCTION sluice.tg_workers__complete_allocation();

-- Canceling a workflow cancels its queued and running allocations in the same transaction (an
-- allocation whose worker leaves meanwhile is still recorded canceled, not complete); whoever
-- canceled then scancels them.
CREATE FUNCTION sluice.tg_workflows__cancel_allocations() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  UPDATE sluice.scheduled_compute_nodes SET status = 'canceled', finished_at = now()
   WHERE workflow_id = NEW.id AND status IN ('pending', 'active');
  RETURN NULL;
END $$;

CREATE TRIGGER tg_workflows__30_cancel_allocations AFTER UPDATE OF canceled_at ON sluice.workflows
  FOR EACH ROW
  WHEN (NEW.canceled_at IS NOT NULL)
  EXECUTE FUNCTION sluice.tg_workflows__cancel_allocations();

CREATE VIEW sluice.allocations AS
SELECT n.id, n.workflow_id, s.name AS scheduler, n.action_id, n.slurm_job_id, n.status,
       n.num_nodes, n.start_one_worker_per_node, n.max_parallel_jobs,
       (SELECT count(*) FROM sluice.workers k WHERE k.scheduled_node_id = n.id AND k.status = 'running') AS live_workers,
       n.message, n.script_path, n.created_at, n.submitted_at, n.started_at, n.finished_at
  FROM sluice.scheduled_compute_nodes n
  JOIN sluice.slurm_schedulers s ON s.id = n.scheduler_id;

COMMENT ON VIEW sluice.allocations IS
  'Slurm allocations requested for workflows: scheduler, Slurm job id, status and live workers.';

-- Down Migration
DROP VIEW sluice.allocations;
DROP TRIGGER tg_workflows__30_cancel_allocations ON sluice.workflows;
DROP FUNCTION sluice.tg_workflows__cancel_allocations();
DROP TRIGGER tg_workers__10_complete_allocation ON sluice.workers;
DROP FUNCTION sluice.tg_workers__complete_allocation();
DROP FUNCTION sluice.workers_attach_allocation(bigint, bigint, text);
ALTER TABLE sluice.workers DROP COLUMN scheduled_node_id, DROP COLUMN scheduler_id;
ALTER TABLE sluice.jobs DROP COLUMN scheduler_id;
DROP TABLE sluice.scheduled_compute_nodes;
DROP TABLE sluice.slurm_schedulers;
DROP TYPE sluice.allocation_status;
