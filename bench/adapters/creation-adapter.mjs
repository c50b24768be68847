// ADAPTER (figure 5): creating and initializing a workflow through the CLI, timed per process,
// with the create process's peak RSS: `sluice workflows create <spec> --initialize` (one process,
// one transaction, as `run` and `submit` do), and `sluice workflows create`, then `sluice
// workflows initialize` (two of each). The spec: jobs in stages of 1000, one dependency per job on
// average, numActions on_jobs_complete actions watching equal slices of the jobs.

import { createAndInitialize, createThenInitialize } from './sluice-setup-adapter.mjs';
import { writeStagedSpec } from './spec-adapter.mjs';

export const writeCreationSpec = (file, numJobs, numActions) => writeStagedSpec(file, { numJobs, numActions });

export const createViaCli = createAndInitialize;
export const createViaCliTwoSteps = createThenInitialize;
