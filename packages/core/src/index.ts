// @sluice/core: the vocabulary, the error registry, the database layer (one repository module per
// table, entity-verb names) and the types the spec loader hands over. The spec loader itself is
// @sluice/core/spec, loaded on demand.

export {
  type ActionListRow,
  type ActionRunSummary,
  actionsClaimable,
  actionsClaimPending,
  actionsList,
  type ClaimedAction,
} from './db/action-repository.js';
export {
  type ActionRunOutcome,
  actionRunsFinish,
  actionRunsOwned,
  actionRunsRelease,
} from './db/action-run-repository.js';
export {
  type AllocationRequest,
  allocationsCanceledNow,
  allocationsCreate,
  allocationsInSlurm,
  allocationsList,
  allocationsMarkEndedUnstarted,
  allocationsMarkFailed,
  allocationsMarkSubmitted,
  allocationsMarkUnknown,
} from './db/allocation-repository.js';
export {
  type ApiTokenRow,
  apiTokensAuthenticate,
  apiTokensCreate,
  apiTokensList,
  apiTokensRevoke,
  hashToken,
} from './db/api-token-repository.js';
export {
  describeUrl,
  isConnectionLoss,
  type OpenPoolOptions,
  openPool,
  pgClientConfig,
  redactUrl,
  type SluiceDb,
  toSluiceError,
} from './db/connection.js';
export { eventsList } from './db/event-repository.js';
export {
  type ClaimLimits,
  type JobCompletion,
  type JobExecution,
  type JobListRow,
  type JobSample,
  type JobUsage,
  jobsAnyRunnable,
  jobsClaimReady,
  jobsComplete,
  jobsList,
  jobsOwned,
  jobsRequeue,
  jobsStatuses,
} from './db/job-repository.js';
export {
  appliedMigrations,
  assertMigrated,
  codeMigrations,
  MIGRATIONS_DIR,
  type MigrationState,
  migrate,
  migrationState,
} from './db/migrations.js';
export {
  type Notification,
  NotificationListener,
  type NotificationListenerOptions,
} from './db/notification-listener.js';
export { type ResourceUseRow, resultsList, resultsResourceUse } from './db/result-repository.js';
export { rolesAddUser, rolesWhoAmI } from './db/role-repository.js';
export type {
  ActionStatusRow,
  AllocationRow,
  Database,
  Db,
  JobRow,
  PageRequest,
  SlurmSchedulerRow,
  WorkflowActionRow,
  WorkflowSummaryRow,
} from './db/row-types.js';
export { type SlurmSchedulerWithDefaults, slurmSchedulersGet } from './db/slurm-scheduler-repository.js';
export {
  type RegisteredWorker,
  WORKERS_HEARTBEAT_SQL,
  type WorkerRegistration,
  workersAttachAllocation,
  workersGetStatus,
  workersHeartbeat,
  workersReap,
  workersRegister,
  workersStop,
} from './db/worker-repository.js';
export { type WorkflowCreateOptions, workflowsCreate } from './db/workflow-create.js';
export {
  type WorkflowStallFacts,
  type WorkflowState,
  workflowsCancel,
  workflowsDelete,
  workflowsEnsureInitialized,
  workflowsGet,
  workflowsGetState,
  workflowsInitialize,
  workflowsList,
  workflowsReinitialize,
  workflowsResetStatus,
  workflowsStallFacts,
} from './db/workflow-repository.js';
export { ERROR_CODES, type ErrorCode, isErrorCode, isSluiceError, SluiceError } from './errors.js';
export {
  ACTION_RUN_STATUSES,
  ACTION_STATUSES,
  ACTION_TYPES,
  ACTIVE_JOB_STATUSES,
  type ActionRunStatus,
  type ActionStatus,
  type ActionType,
  ALLOCATION_STATUSES,
  type AllocationStatus,
  CHANNELS,
  type Channel,
  CLAIM_GATE_TRIGGER_TYPES,
  DONE_JOB_STATUSES,
  EVENT_KINDS,
  type EventKind,
  type FinishedJobStatus,
  JOB_STATUSES,
  JOB_TRIGGER_TYPES,
  type JobStatus,
  MAIN_LOOP_TRIGGER_TYPES,
  TERMINAL_JOB_STATUSES,
  TRIGGER_TYPES,
  type TriggerType,
  UNSUCCESSFUL_JOB_STATUSES,
  WORKER_STATUSES,
  type WorkerStatus,
} from './model.js';
export { formatDuration, parseDuration } from './spec/duration-parser.js';
export type {
  ResolvedAction,
  ResolvedJob,
  ResolvedResourceRequirements,
  ResolvedSlurmScheduler,
  ResolvedWorkflow,
} from './spec/resolved-workflow.js';
export { DEFAULT_RESOURCE_REQUIREMENTS_NAME } from './spec/resolved-workflow.js';
export { parseMemory } from './spec/size-parser.js';
