import { execFileSync } from 'node:child_process';

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

/** squeue prints the end time in the cluster's local time, without a zone: Date parses it so. */
function allocationEnd(jobId: string, env: NodeJS.ProcessEnv): Date | null {
  try {
    const out = execFileSync('squeue', ['-h', '-j', jobId, '-o', '%e'], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    }).trim();
    if (!out || /^(N\/A|NONE|Unknown)$/i.test(out)) return null;
    const t = new Date(out);
    return Number.isNaN(t.getTime()) ? null : t;
  } catch {
    return null;
  }
}

/**
 * What Slurm gave the job this process runs in, or null outside Slurm. With one worker per node,
 * the worker manages one node; otherwise the whole allocation.
 */
export function detectSlurmAllocation(env: NodeJS.ProcessEnv, oneWorkerPerNode: boolean): SlurmAllocation | null {
  const jobId = env.SLURM_JOB_ID;
  if (!jobId) return null;
  const memMb = int(env.SLURM_MEM_PER_NODE);
  return {
    jobId,
    numCpus: int(env.SLURM_CPUS_ON_NODE),
    memoryBytes: memMb === undefined ? undefined : memMb * 1024 * 1024,
    numGpus: int(env.SLURM_GPUS_ON_NODE),
    numNodes: oneWorkerPerNode ? 1 : (int(env.SLURM_JOB_NUM_NODES) ?? 1),
    endsAt: allocationEnd(jobId, env),
  };
}
