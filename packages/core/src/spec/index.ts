// The spec loader, loaded on demand as @sluice/core/spec: its zod schemas cost more to build
// than most commands take to run.
export { ACTION_TYPES, TRIGGER_TYPES } from '../model.js';
export { formatDuration, parseDuration } from './duration-parser.js';
export {
  DEFAULT_RESOURCE_REQUIREMENTS_NAME,
  type ResolvedAction,
  type ResolvedJob,
  type ResolvedResourceRequirements,
  type ResolvedSlurmScheduler,
  type ResolvedWorkflow,
} from './resolved-workflow.js';
export { parseMemory } from './size-parser.js';
export type { SpecFormat } from './spec-document.js';
export { type LoadSpecTextOptions, loadSpecFile, loadSpecText } from './spec-loader.js';
export {
  ActionSpec,
  FileSpec,
  JobSpec,
  MemorySize,
  Metadata,
  ParameterName,
  Parameters,
  ParameterValues,
  ResourceRequirementsSpec,
  Runtime,
  SCHEDULER_MANAGED_SLURM_OPTIONS,
  SlurmDefaults,
  SlurmSchedulerSpec,
  UserDataSpec,
  WorkflowSpec,
} from './spec-schema.js';
