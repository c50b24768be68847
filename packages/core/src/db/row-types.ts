/**
 * Row types derived from the generated database types (database-types.ts, written by
 * kysely-codegen from the migrated schema: never edited by hand). Views get their columns'
 * nullability back here: PostgreSQL reports every view column as nullable.
 */
import type { Kysely, Selectable } from 'kysely';
import type {
  DB,
  SluiceActionStatus,
  SluiceAllocations,
  SluiceJobs,
  SluiceSlurmSchedulers,
  SluiceWorkflowActions,
  SluiceWorkflowSummary,
} from './database-types.js';

export type Database = DB;
export type Db = Kysely<Database>;

/** One page of a list, by id (keyset): rows with an id above `after`, at most `limit` of them. */
export interface PageRequest {
  after?: number;
  limit?: number;
}

/** The view's columns that come from NOT NULL columns or expressions that are never null. */
type NotNull<T, K extends keyof T> = Omit<T, K> & { [P in K]: NonNullable<T[P]> };

export type JobRow = Selectable<SluiceJobs>;
export type WorkflowActionRow = Selectable<SluiceWorkflowActions>;
export type SlurmSchedulerRow = Selectable<SluiceSlurmSchedulers>;

export type WorkflowSummaryRow = NotNull<
  Selectable<SluiceWorkflowSummary>,
  | 'id'
  | 'name'
  | 'owner_role'
  | 'run_id'
  | 'num_jobs'
  | 'unfinished_jobs'
  | 'is_complete'
  | 'is_canceled'
  | 'uninitialized'
  | 'blocked'
  | 'ready'
  | 'pending'
  | 'running'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'terminated'
  | 'disabled'
  | 'live_workers'
  | 'created_at'
>;

export type ActionStatusRow = NotNull<
  Selectable<SluiceActionStatus>,
  | 'id'
  | 'workflow_id'
  | 'position'
  | 'trigger_type'
  | 'action_type'
  | 'persistent'
  | 'trigger_count'
  | 'required_triggers'
  | 'executed'
  | 'status'
  | 'job_names'
  | 'waiting_on'
>;

export type AllocationRow = NotNull<
  Selectable<SluiceAllocations>,
  | 'id'
  | 'workflow_id'
  | 'scheduler'
  | 'status'
  | 'num_nodes'
  | 'start_one_worker_per_node'
  | 'live_workers'
  | 'created_at'
>;
