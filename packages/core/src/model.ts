/**
 * The one vocabulary of Sluice: every state machine's states, the status sets that the SQL
 * predicates (sluice.job_status_is_*) define, and the NOTIFY channels. The SQL enums in
 * db/migrations are the source; these are their TypeScript twins, and test/schema fails when
 * the two disagree. Nothing else in the code spells these lists out.
 */
import type {
  SluiceActionRunStatus,
  SluiceActionType,
  SluiceAllocationStatus,
  SluiceEventKind,
  SluiceJobStatus,
  SluiceTriggerType,
  SluiceWorkerStatus,
  SluiceWorkflowActionStatus,
} from './db/database-types.js';

/** Lists every member of a union (an enum's twin) in order, so that a missing state fails to compile. */
const every =
  <U extends string>() =>
  <const T extends readonly U[]>(values: T & ([U] extends [T[number]] ? unknown : 'a state is missing')): T =>
    values;

export type JobStatus = SluiceJobStatus;
export const JOB_STATUSES = every<JobStatus>()([
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
]);

/** Claimed by a worker (sluice.job_status_is_active). */
export const ACTIVE_JOB_STATUSES = ['pending', 'running'] as const satisfies readonly JobStatus[];
/** Over for the user (sluice.job_status_is_terminal). */
export const TERMINAL_JOB_STATUSES = [
  'completed',
  'failed',
  'canceled',
  'terminated',
] as const satisfies readonly JobStatus[];
/** What dependents and workflow completion wait for (sluice.job_status_is_done). */
export const DONE_JOB_STATUSES = [...TERMINAL_JOB_STATUSES, 'disabled'] as const satisfies readonly JobStatus[];
/** Ended badly: cancels dependents that ask for it (sluice.job_status_is_unsuccessful). */
export const UNSUCCESSFUL_JOB_STATUSES = ['failed', 'canceled', 'terminated'] as const satisfies readonly JobStatus[];
/** How a finished execution is recorded. */
export type FinishedJobStatus = (typeof TERMINAL_JOB_STATUSES)[number];

export type WorkerStatus = SluiceWorkerStatus;
export const WORKER_STATUSES = every<WorkerStatus>()(['running', 'stopped', 'lost']);

export type TriggerType = SluiceTriggerType;
export const TRIGGER_TYPES = every<TriggerType>()([
  'on_workflow_start',
  'on_workflow_complete',
  'on_jobs_ready',
  'on_jobs_complete',
  'on_worker_start',
  'on_worker_complete',
]);
/** Triggers that select jobs and count them (the others fire on workflow or worker events). */
export const JOB_TRIGGER_TYPES = ['on_jobs_ready', 'on_jobs_complete'] as const satisfies readonly TriggerType[];
/** Triggers whose actions hold a worker's job claims back until they end (sluice.jobs_claim_gate_open). */
export const CLAIM_GATE_TRIGGER_TYPES = [
  'on_workflow_start',
  'on_worker_start',
] as const satisfies readonly TriggerType[];
/** Triggers a worker claims in its main loop; on_worker_complete is claimed when it leaves. */
export const MAIN_LOOP_TRIGGER_TYPES = [
  'on_workflow_start',
  'on_workflow_complete',
  'on_jobs_ready',
  'on_jobs_complete',
  'on_worker_start',
] as const satisfies readonly TriggerType[];

export type ActionType = SluiceActionType;
export const ACTION_TYPES = every<ActionType>()(['run_commands', 'schedule_nodes']);

export type ActionStatus = SluiceWorkflowActionStatus;
export const ACTION_STATUSES = every<ActionStatus>()(['waiting', 'pending', 'running', 'succeeded', 'failed']);

export type ActionRunStatus = SluiceActionRunStatus;
export const ACTION_RUN_STATUSES = every<ActionRunStatus>()(['running', 'succeeded', 'failed', 'abandoned']);

export type AllocationStatus = SluiceAllocationStatus;
export const ALLOCATION_STATUSES = every<AllocationStatus>()([
  'pending',
  'active',
  'complete',
  'failed',
  'canceled',
  'unknown',
]);

export type EventKind = SluiceEventKind;
export const EVENT_KINDS = every<EventKind>()([
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
  'action_finished',
]);

/**
 * NOTIFY channels, sent by the SQL in db/migrations (test/schema checks that it sends on no
 * other). Payloads are a workflow id as text, never names or commands: a notification is a hint
 * to look at the tables again, never the truth itself.
 */
export const CHANNELS = {
  /** jobs of the workflow became ready, or something that held claims back ended */
  jobsReady: 'sluice_jobs_ready',
  /** the workflow was initialized, completed, canceled or reset */
  workflowState: 'sluice_workflow_state',
  /** actions of the workflow became pending */
  actionsPending: 'sluice_actions_pending',
} as const;
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];
