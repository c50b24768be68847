// ADAPTER (figure 4): a chain of jobs that stamp their own start and end (`date +%s%N`), with
// optionally one on_jobs_complete action per job whose first command stamps its start, run by
// one `sluice worker` process. The poll interval is long so only NOTIFY can explain fast figures.

import { startSluice } from './sluice-setup-adapter.mjs';
import { jobSpec, onJobsCompleteAction, writeSpec } from './spec-adapter.mjs';

const stamp = (dir, name) => `date +%s%N > ${dir}/${name}`;

export function writeChainSpec(file, { length, stampDir, withActions }) {
  return writeSpec(file, {
    name: 'bench-latency',
    numJobs: length,
    job: (i) => jobSpec(i, `${stamp(stampDir, `start_${i}`)}; ${stamp(stampDir, `end_${i}`)}`, i === 0 ? [] : [i - 1]),
    numActions: withActions ? length : 0,
    action: (i) => onJobsCompleteAction([i], [stamp(stampDir, `action_${i}`)]),
  });
}

export const startLatencyWorker = (url, workflowId, outputDir) =>
  startSluice(url, [
    'worker',
    String(workflowId),
    '--output-dir',
    outputDir,
    '--max-parallel-jobs',
    '4',
    '--poll-interval',
    '60',
  ]);
