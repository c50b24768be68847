import { retryWithBackoff } from '../retry.js';
import { firstLine, type SlurmClient } from './slurm-client.js';

/** sbatch refused the allocation; the message is its first complaint, as sbatch printed it. */
export class SbatchError extends Error {}

/**
 * Submits with a few retries and backoff for transient failures (the controller busy or
 * restarting); returns the Slurm job id.
 */
export async function submitAllocation(
  slurm: SlurmClient,
  script: string,
  env: NodeJS.ProcessEnv,
  attempts = 3,
  backoffMs = 1000,
): Promise<string> {
  return retryWithBackoff(
    async () => {
      const r = await slurm.sbatch(script, env);
      const id = r.stdout.trim().split(';')[0];
      if (r.code === 0 && id && /^\d+$/.test(id)) return id;
      throw new SbatchError(firstLine(r.stderr || r.stdout) || `sbatch exited with ${r.code}`);
    },
    { attempts, initialDelayMs: backoffMs },
  );
}
