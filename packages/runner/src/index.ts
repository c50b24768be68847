export * from './action-executor.js';
export * from './job-process.js';
export * from './machine-resources.js';
export * from './slurm-allocation.js';
export * from './slurm-submitter.js';
export * from './wakeup.js';
export * from './worker.js';
export * from './workflow-submitter.js';
