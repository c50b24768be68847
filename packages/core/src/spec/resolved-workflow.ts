/**
 * What the spec loader hands to the database layer: every parameter expanded, every name and
 * regex resolved, every dependency explicit. Jobs are referred to by their index in `jobs`,
 * so creating a workflow needs no name lookups in SQL.
 */
import type { ActionType, TriggerType } from '../model.js';

export interface ResolvedResourceRequirements {
  name: string;
  numCpus: number;
  numGpus: number;
  numNodes: number;
  /** as written in the spec, e.g. "4g" */
  memory: string;
  memoryBytes: number;
  /** ISO-8601 duration as written, e.g. "PT1H" */
  runtime: string;
  runtimeSeconds: number;
}

export interface ResolvedSlurmScheduler {
  name: string;
  account: string | null;
  partition: string | null;
  walltime: string | null;
  nodes: number | null;
  mem: string | null;
  gres: string | null;
  qos: string | null;
  ntasksPerNode: number | null;
  tmp: string | null;
  extra: string | null;
}

export interface ResolvedJob {
  name: string;
  command: string;
  invocationScript: string | null;
  /** name of an entry in resourceRequirements (the default one when the spec gave none) */
  resourceRequirements: string;
  scheduler: string | null;
  cancelOnBlockingJobFailure: boolean;
  supportsTermination: boolean;
  /** higher is claimed first (torc's job priority), 0..2147483647, default 0 */
  priority: number;
  /** name of an entry in failureHandlers, or null */
  failureHandler: string | null;
  /** indices into ResolvedWorkflow.jobs, explicit and implicit, deduplicated, sorted */
  dependsOn: number[];
  /** names of entries in files / userData */
  inputFiles: string[];
  outputFiles: string[];
  inputUserData: string[];
  outputUserData: string[];
}

export interface ResolvedAction {
  triggerType: TriggerType;
  actionType: ActionType;
  persistent: boolean;
  /**
   * indices into ResolvedWorkflow.jobs, deduplicated, sorted. For on_jobs_ready and
   * on_jobs_complete, the jobs the trigger counts (never empty); for other triggers, the jobs
   * the action serves, as the spec named them (often empty), which nothing counts.
   */
  jobs: number[];
  commands: string[] | null;
  scheduler: string | null;
  schedulerType: 'slurm' | null;
  numAllocations: number | null;
  startOneWorkerPerNode: boolean;
  maxParallelJobs: number | null;
}

export interface ResolvedFailureRule {
  /** the exit codes the rule handles, in the order written; null: every non-zero exit code (match_all_exit_codes) */
  exitCodes: number[] | null;
  /** a bash command line run in the job's working directory before the retry; null: none */
  recoveryScript: string | null;
  /** attempts in all, counting the first (torc's max_retries): 3 allows two retries; default 3 */
  maxRetries: number;
}

export interface ResolvedFailureHandler {
  name: string;
  /** in the order written; a rule naming the exit code wins over a match-all rule, then the first such rule applies */
  rules: ResolvedFailureRule[];
}

export interface ResolvedResourceMonitor {
  enabled: boolean;
  granularity: 'summary' | 'time_series';
  sampleIntervalSeconds: number;
  generatePlots: boolean;
}

export interface ResolvedUserData {
  name: string;
  /** the spec's `data`, parameters substituted into its strings; null when the spec gave none */
  data: unknown;
  /** torc's is_ephemeral: the data is temporary (reset when the workflow is re-initialized) */
  isEphemeral: boolean;
}

export interface ResolvedWorkflow {
  name: string;
  description: string | null;
  user: string | null;
  project: string | null;
  /** the spec's `metadata` mapping, or the JSON value its string holds, or null */
  metadata: unknown;
  resourceRequirements: ResolvedResourceRequirements[];
  slurmSchedulers: ResolvedSlurmScheduler[];
  slurmDefaults: Record<string, string | number | boolean>;
  files: { name: string; path: string }[];
  userData: ResolvedUserData[];
  jobs: ResolvedJob[];
  actions: ResolvedAction[];
  failureHandlers: ResolvedFailureHandler[];
  /** always present, defaults filled */
  resourceMonitor: ResolvedResourceMonitor;
}

export const DEFAULT_RESOURCE_REQUIREMENTS_NAME = 'default';
