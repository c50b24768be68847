// ADAPTER (figure 5): creating and initializing a workflow through the CLI (`sluice workflows
// create <spec> --json`, then `sluice workflows initialize <id>`), timed per process, with the
// create process's peak RSS. The spec: jobs in stages of 1000, one dependency per job on
// average, numActions on_jobs_complete actions watching equal slices of the jobs.

import { createAndInitialize } from './sluice-setup-adapter.mjs';
import { writeStagedSpec } from './spec-adapter.mjs';

export const writeCreationSpec = (file, numJobs, numActions) => writeStagedSpec(file, { numJobs, numActions });

export const createViaCli = createAndInitialize;
