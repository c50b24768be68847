// ADAPTER (figures 2 and 3): real `sluice worker` processes running `true` jobs. If the worker
// command's flags change, change them here.
import { startSluice } from './sluice-setup-adapter.mjs';

/** `sluice worker <id> --max-parallel-jobs <n>`: n jobs at once, resources ignored. */
export const startMaxParallelWorker = (url, workflowId, outputDir, maxParallelJobs) =>
  startSluice(url, [
    'worker',
    String(workflowId),
    '--output-dir',
    outputDir,
    '--max-parallel-jobs',
    String(maxParallelJobs),
  ]);

/** `sluice worker <id> --num-cpus <n>`: default resource-based claiming (1-cpu jobs: n at once). */
export const startResourceWorker = (url, workflowId, outputDir, numCpus) =>
  startSluice(url, ['worker', String(workflowId), '--output-dir', outputDir, '--num-cpus', String(numCpus)]);
