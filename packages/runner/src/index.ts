// @sluice/runner: the operations that the CLI and the API server share, the worker, and every
// call to Slurm.

export { type ResourceReportRow, resourceReport } from './operations/resource-report.js';
export { describeStall, type StallReport } from './operations/stall-report.js';
export {
  type SubmitResult,
  submitWorkflow,
} from './operations/submit-operation.js';
export {
  resolveWorkerOptions,
  WORKER_DEFAULTS,
  type WorkerRequest,
} from './operations/worker-options.js';
export {
  type CancelOutcome,
  cancelWorkflow,
  createWorkflow,
  type EnsuredWorkflow,
  ensureWorkflow,
  loadSpec,
  resetWorkflowStatus,
  toWorkflowStatus,
  type WorkflowStatus,
  type WorkflowTarget,
  workflowStatus,
} from './operations/workflow-operations.js';
export { prepareOutputDirectory } from './output-directory.js';
export {
  type AllocationInSlurm,
  type AllocationReconciliation,
  allocationsReconcile,
} from './slurm/allocation-reconciler.js';
export { buildAllocationScript } from './slurm/allocation-script.js';
export {
  type CommandLineSlurmOptions,
  commandLineSlurm,
  commandLineSlurmClient,
  type SbatchOutcome,
  type SlurmClient,
  type SlurmJobState,
  type SubmitPolicy,
} from './slurm/slurm-client.js';
// The job supervisor is public so that other launchers (and the tests) run jobs exactly as a worker does.
export {
  type JobExit,
  type JobSample as SupervisorSample,
  JobSupervisor,
  type JobSupervisorOptions,
  type SupervisedJob,
  type SupervisedJobSpec,
} from './worker/job-supervisor.js';
export { locateSupervisorScript, SUPERVISOR_SCRIPT } from './worker/supervisor-script.js';
export { WAKE_MODES, type WakeMode } from './worker/wake-sources.js';
export {
  Worker,
  type WorkerExitReason,
  type WorkerOptions,
  type WorkerState,
  type WorkerSummary,
} from './worker/worker.js';
