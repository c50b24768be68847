// ADAPTER (figure 10): the fan-in spec: numJobs jobs, then one barrier job depending on all.
import { jobName, jobSpec, writeSpec } from './spec-adapter.mjs';

export const writeFanInSpec = (file, numJobs) =>
  writeSpec(file, {
    name: 'bench-fan-in',
    numJobs: numJobs + 1,
    job: (i) =>
      i < numJobs
        ? jobSpec(i, 'true')
        : { name: 'barrier', command: 'true', depends_on: Array.from({ length: numJobs }, (_, k) => jobName(k)) },
  });
