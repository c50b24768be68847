import type { SlurmClient } from '../slurm/slurm-client.js';
import type { WakeMode } from './wake-sources.js';

/** A worker's options, every default filled in (operations/worker-options.ts builds them). */
export interface WorkerOptions {
  url: string;
  workflowId: number;
  outputDir: string;
  /** run at most this many jobs at once and ignore resource requirements */
  maxParallelJobs: number | null;
  /** what the worker offers; undefined: this machine's */
  numCpus: number | undefined;
  memoryBytes: number | undefined;
  numGpus: number | undefined;
  numNodes: number | undefined;
  /** the worker claims no job whose runtime does not fit in what is left of this */
  timeLimitSeconds: number | null;
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  /** others may declare this worker lost after this much silence; it fences itself before */
  heartbeatTimeoutMs: number;
  /** after SIGTERM to jobs that support termination (and to actions), how long before SIGKILL */
  terminationGraceMs: number;
  /** most jobs claimed in one transaction */
  claimBatchSize: number;
  /** how long the worker keeps retrying through database errors before it gives up */
  databaseOutageMs: number;
  /** once stopping, how long it keeps trying to record what it ran before it leaves anyway */
  shutdownWriteMs: number;
  /** the worker runs inside this Slurm allocation (a scheduled_compute_nodes row) */
  scheduledNodeId: number | null;
  /** that allocation's Slurm job id, as Slurm told the worker (SLURM_JOB_ID) */
  slurmJobId?: string | null;
  /** when the worker must be gone (a Slurm allocation's end); claims only jobs that fit before it */
  endsAt: Date | null;
  /** leave after this long with nothing to do (allocations must not hold nodes idle) */
  idleTimeoutMs: number | null;
  /** absolute path of the sluice CLI, for the workers of allocations this one requests */
  cliPath?: string;
  slurm: SlurmClient;
  log?: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** how it is woken: its own LISTEN (default), the API server's event stream, or its poll alone */
  wake?: WakeMode;
  serverUrl?: string;
  apiToken?: string;
}

/**
 * The worker loop's states (docs/state-machines.md):
 * starting -> running -> draining -> stopping -> stopped.
 * `running` claims and starts jobs; `draining` claims nothing and waits for (or terminates)
 * the jobs it has; `stopping` deregisters.
 */
export type WorkerState = 'starting' | 'running' | 'draining' | 'stopping' | 'stopped';

export type WorkerExitReason =
  | 'complete'
  | 'canceled'
  | 'signal'
  | 'nothing-runnable'
  | 'lost'
  | 'fenced'
  | 'time-limit'
  | 'idle'
  | 'error';

export interface WorkerSummary {
  workerId: number;
  reason: WorkerExitReason;
  jobsRun: number;
  actionsRun: number;
}
