export { type BuildAppOptions, buildApp, JobsQuery, WorkflowParams } from './app.js';
