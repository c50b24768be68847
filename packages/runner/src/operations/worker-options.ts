import { SluiceError } from '@sluice/core';
import { detectSlurmAllocation } from '../slurm/allocation-environment.js';
import type { SlurmClient } from '../slurm/slurm-client.js';
import type { WakeMode } from '../worker/wake-sources.js';
import type { WorkerOptions } from '../worker/worker.js';

/** Every default of a worker, in one place: the CLI shows these in its help. */
export const WORKER_DEFAULTS = {
  outputDir: 'output',
  pollIntervalMs: 10_000,
  heartbeatIntervalMs: 5_000,
  // Dead workers are detected within this (plus a beat of whoever reaps them): under 30 s, and
  // four beats of slack before a healthy worker could be taken for dead.
  heartbeatTimeoutMs: 20_000,
  terminationGraceMs: 10_000,
  claimBatchSize: 64,
  databaseOutageMs: 300_000,
  /** once stopping, how long a worker keeps trying to record what it ran */
  shutdownWriteMs: 30_000,
  /** claim no job that would end within this long of the allocation's end */
  endBufferSeconds: 60,
  /** an allocation must not hold nodes idle: its worker leaves after this long with nothing to do */
  allocationIdleTimeoutMs: 300_000,
} as const;

/** What a user may set for a worker (CLI flags, API bodies); everything else has a default. */
export interface WorkerRequest {
  outputDir?: string;
  maxParallelJobs?: number;
  numCpus?: number;
  memoryBytes?: number;
  numGpus?: number;
  timeLimitSeconds?: number;
  pollIntervalMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  terminationGraceMs?: number;
  scheduledNodeId?: number;
  idleTimeoutMs?: number;
  endBufferSeconds?: number;
  oneWorkerPerNode?: boolean;
  wake?: WakeMode;
}

/**
 * The worker's options for a request: inside a Slurm allocation (a scheduled node) the
 * resources and the end time come from Slurm unless given, and the worker leaves when idle.
 */
export async function resolveWorkerOptions(
  url: string,
  workflowId: number,
  request: WorkerRequest,
  slurm: SlurmClient,
  env: NodeJS.ProcessEnv = process.env,
): Promise<WorkerOptions> {
  // The event stream and the heartbeat route both need the server and a token: without them
  // the worker could only fail later, again and again.
  if (request.wake === 'sse') {
    const unset = ['SLUICE_SERVER_URL', 'SLUICE_API_TOKEN'].filter((k) => !env[k]);
    if (unset.length > 0)
      throw new SluiceError(
        'USAGE',
        `--wake sse needs the API server and a token: set ${unset.join(' and ')} (sluice tokens create makes a token)`,
      );
  }
  const inAllocation = request.scheduledNodeId !== undefined;
  const allocation = inAllocation ? await detectSlurmAllocation(env, request.oneWorkerPerNode ?? false, slurm) : null;
  const endBufferMs = (request.endBufferSeconds ?? WORKER_DEFAULTS.endBufferSeconds) * 1000;
  return {
    url,
    workflowId,
    outputDir: request.outputDir ?? WORKER_DEFAULTS.outputDir,
    maxParallelJobs: request.maxParallelJobs ?? null,
    numCpus: request.numCpus ?? allocation?.numCpus,
    memoryBytes: request.memoryBytes ?? allocation?.memoryBytes,
    numGpus: request.numGpus ?? allocation?.numGpus,
    numNodes: allocation?.numNodes,
    timeLimitSeconds: request.timeLimitSeconds ?? null,
    pollIntervalMs: request.pollIntervalMs ?? WORKER_DEFAULTS.pollIntervalMs,
    heartbeatIntervalMs: request.heartbeatIntervalMs ?? WORKER_DEFAULTS.heartbeatIntervalMs,
    heartbeatTimeoutMs: request.heartbeatTimeoutMs ?? WORKER_DEFAULTS.heartbeatTimeoutMs,
    terminationGraceMs: request.terminationGraceMs ?? WORKER_DEFAULTS.terminationGraceMs,
    claimBatchSize: WORKER_DEFAULTS.claimBatchSize,
    databaseOutageMs: WORKER_DEFAULTS.databaseOutageMs,
    shutdownWriteMs: WORKER_DEFAULTS.shutdownWriteMs,
    scheduledNodeId: request.scheduledNodeId ?? null,
    slurmJobId: allocation?.jobId ?? null,
    endsAt: allocation?.endsAt ? new Date(allocation.endsAt.getTime() - endBufferMs) : null,
    idleTimeoutMs: request.idleTimeoutMs ?? (inAllocation ? WORKER_DEFAULTS.allocationIdleTimeoutMs : null),
    slurm,
    wake: request.wake ?? 'listen',
    // The API server, for --wake sse; the token from the environment only, never a flag.
    serverUrl: env.SLUICE_SERVER_URL,
    apiToken: env.SLUICE_API_TOKEN,
  };
}
