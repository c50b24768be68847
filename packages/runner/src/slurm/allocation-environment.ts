import type { SlurmClient } from './slurm-client.js';

/** What Slurm gave the job this process runs in. */
export interface SlurmAllocation {
  jobId: string;
  numCpus: number | undefined;
  memoryBytes: number | undefined;
  numGpus: number | undefined;
  numNodes: number;
  /** null: the allocation has no time limit */
  endsAt: Date | null;
}

const int = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : undefined);

/**
 * What Slurm gave the job this process runs in, or null outside Slurm. With one worker per node,
 * the worker manages one node; otherwise the whole allocation.
 */
export async function detectSlurmAllocation(
  env: NodeJS.ProcessEnv,
  oneWorkerPerNode: boolean,
  slurm: SlurmClient,
): Promise<SlurmAllocation | null> {
  const jobId = env.SLURM_JOB_ID;
  if (!jobId) return null;
  const memMb = int(env.SLURM_MEM_PER_NODE);
  return {
    jobId,
    numCpus: int(env.SLURM_CPUS_ON_NODE),
    memoryBytes: memMb === undefined ? undefined : memMb * 1024 * 1024,
    numGpus: int(env.SLURM_GPUS_ON_NODE),
    numNodes: oneWorkerPerNode ? 1 : (int(env.SLURM_JOB_NUM_NODES) ?? 1),
    endsAt: await slurm.jobEndTime(jobId, env).catch(() => null),
  };
}
