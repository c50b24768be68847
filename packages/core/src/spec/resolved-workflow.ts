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
  /** indices into ResolvedWorkflow.jobs, deduplicated, sorted; empty for workflow/worker triggers */
  jobs: number[];
  commands: string[] | null;
  scheduler: string | null;
  schedulerType: 'slurm' | null;
  numAllocations: number | null;
  startOneWorkerPerNode: boolean;
  maxParallelJobs: number | null;
}

export interface ResolvedWorkflow {
  name: string;
  description: string | null;
  user: string | null;
  project: string | null;
  /** parsed JSON object from the spec's `metadata` string, or null */
  metadata: unknown;
  resourceRequirements: ResolvedResourceRequirements[];
  slurmSchedulers: ResolvedSlurmScheduler[];
  slurmDefaults: Record<string, string | number | boolean>;
  files: { name: string; path: string }[];
  userData: { name: string; data: unknown }[];
  jobs: ResolvedJob[];
  actions: ResolvedAction[];
}

export const DEFAULT_RESOURCE_REQUIREMENTS_NAME = 'default';
