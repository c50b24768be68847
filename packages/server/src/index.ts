// @sluice/server: the HTTP API. buildApp() is apart from listen(), so that tests drive it with
// inject(); `sluice server` listens.

export {
  Action,
  ActionList,
  ActionRun,
  Event,
  EventPage,
  Health,
  Job,
  JobPage,
  JobsQuery,
  MAX_PAGE_LIMIT,
  PageQuery,
  Problem,
  ResetStatusBody,
  Result,
  ResultPage,
  RunStarted,
  StatusReset,
  WorkflowCanceled,
  WorkflowPage,
  WorkflowParams,
  WorkflowStatus,
  WorkflowSummary,
} from './api-schemas.js';
export { API_PREFIX, type BuildAppOptions, buildApp, type SluiceApp } from './app.js';
export { assertServerRole } from './server-role.js';
export { SPEC_BODY_LIMIT_BYTES } from './workflow-create-route.js';
