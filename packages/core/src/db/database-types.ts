import type { ColumnType, Generated } from 'kysely';

/** Mirrors db/migrations; bigint columns arrive as numbers (see connection.ts). */
export type JobStatus =
  | 'uninitialized'
  | 'blocked'
  | 'ready'
  | 'pending'
  | 'running'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'terminated'
  | 'disabled';

export const JOB_STATUSES: readonly JobStatus[] = [
  'uninitialized',
  'blocked',
  'ready',
  'pending',
  'running',
  'completed',
  'failed',
  'canceled',
  'terminated',
  'disabled',
];

export type WorkerStatus = 'running' | 'stopped' | 'lost';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface WorkflowsTable {
  id: Generated<number>;
  name: string;
  description: string | null;
  spec_user: string | null;
  owner_role: Generated<string>;
  project: string | null;
  metadata: unknown;
  slurm_defaults: ColumnType<Record<string, unknown>, string, string>;
  run_id: Generated<number>;
  num_jobs: Generated<number>;
  unfinished_jobs: Generated<number>;
  created_at: Generated<Date>;
  initialized_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  canceled_at: NullableTimestamp;
}

export interface JobsTable {
  id: Generated<number>;
  workflow_id: number;
  name: string;
  command: string;
  invocation_script: string | null;
  status: Generated<JobStatus>;
  resource_requirements_id: number;
  scheduler_id: number | null;
  num_cpus: number;
  num_gpus: number;
  num_nodes: number;
  memory_bytes: number;
  runtime_seconds: number;
  cancel_on_blocking_job_failure: Generated<boolean>;
  supports_termination: Generated<boolean>;
  unfinished_deps: Generated<number>;
  worker_id: number | null;
  attempt: Generated<number>;
  claimed_at: NullableTimestamp;
  started_at: NullableTimestamp;
}

export interface WorkersTable {
  id: Generated<number>;
  workflow_id: number;
  run_id: number;
  hostname: string;
  pid: number;
  os_user: string | null;
  num_cpus: number;
  memory_bytes: number;
  num_gpus: number;
  num_nodes: number;
  max_parallel_jobs: number | null;
  ends_at: NullableTimestamp;
  scheduler_id: number | null;
  status: Generated<WorkerStatus>;
  heartbeat_timeout: unknown;
  started_at: Generated<Date>;
  heartbeat_at: Generated<Date>;
  stopped_at: NullableTimestamp;
}

export interface ResultsTable {
  id: Generated<number>;
  workflow_id: number;
  job_id: number;
  worker_id: number | null;
  run_id: number;
  attempt: number;
  status: JobStatus;
  return_code: number | null;
  started_at: NullableTimestamp;
  completed_at: Timestamp;
  exec_time_s: ColumnType<number | null, never, never>;
  message: string | null;
  stdout_path: string | null;
  stderr_path: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  workflow_id: number;
  kind: string;
  created_at: Generated<Date>;
  job_id: number | null;
  worker_id: number | null;
  action_id: number | null;
  data: unknown;
}

export interface WorkflowActionsTable {
  id: Generated<number>;
  workflow_id: number;
  position: number;
  trigger_type: string;
  action_type: string;
  persistent: boolean;
  commands: string[] | null;
  scheduler_id: number | null;
  num_allocations: number | null;
  start_one_worker_per_node: boolean;
  max_parallel_jobs: number | null;
  required_triggers: number;
  trigger_count: Generated<number>;
}

export interface WorkflowActionJobsTable {
  action_id: number;
  job_id: number;
}

export interface MigrationsTable {
  id: Generated<number>;
  name: string;
  run_on: Date;
}

export interface WorkflowSummaryView {
  id: number;
  name: string;
  owner_role: string;
  user: string | null;
  project: string | null;
  run_id: number;
  num_jobs: number;
  unfinished_jobs: number;
  is_complete: boolean;
  is_canceled: boolean;
  uninitialized: number;
  blocked: number;
  ready: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  canceled: number;
  terminated: number;
  disabled: number;
  live_workers: number;
  created_at: Date;
  initialized_at: Date | null;
  completed_at: Date | null;
  canceled_at: Date | null;
}

export interface Database {
  'sluice.workflows': WorkflowsTable;
  'sluice.jobs': JobsTable;
  'sluice.workers': WorkersTable;
  'sluice.results': ResultsTable;
  'sluice.events': EventsTable;
  'sluice.workflow_actions': WorkflowActionsTable;
  'sluice.workflow_action_jobs': WorkflowActionJobsTable;
  'sluice.migrations': MigrationsTable;
  'sluice.workflow_summary': WorkflowSummaryView;
}

export type JobRow = {
  [K in keyof JobsTable]: JobsTable[K] extends ColumnType<infer S, unknown, unknown> ? S : JobsTable[K];
};
