export * from './action-executor.js';
export * from './job-process.js';
export * from './machine-resources.js';
export * from './wakeup.js';
export * from './worker.js';
