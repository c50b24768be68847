// The spec loader, loaded on demand as @sluice/core/spec: its zod schemas cost more to build
// than most commands take to run.
export { ACTION_TYPES, TRIGGER_TYPES } from '../model.js';
export { ActionSpec, ExitCode, FailureHandlerSpec, FailureRuleSpec } from './action-schema.js';
export { formatDuration, parseDuration } from './duration-parser.js';
export {
  DEFAULT_RESOURCE_REQUIREMENTS_NAME,
  type ResolvedAction,
  type ResolvedFailureHandler,
  type ResolvedFailureRule,
  type ResolvedJob,
  type ResolvedResourceMonitor,
  type ResolvedResourceRequirements,
  type ResolvedSlurmScheduler,
  type ResolvedUserData,
  type ResolvedWorkflow,
} from './resolved-workflow.js';
export {
  MemorySize,
  ResourceMonitorSpec,
  ResourceRequirementsSpec,
  Runtime,
  SCHEDULER_MANAGED_SLURM_OPTIONS,
  SlurmDefaults,
  SlurmSchedulerSpec,
} from './resource-schema.js';
export { ParameterName, Parameters, ParameterValues } from './schema-primitives.js';
export { DEFAULT_MAX_RETRIES, DEFAULT_RESOURCE_MONITOR } from './settings-resolver.js';
export { parseMemory } from './size-parser.js';
export { SPEC_FORMATS, type SpecFormat } from './spec-document.js';
export {
  MAX_ALLOCATIONS,
  MAX_INT4,
  MAX_NAME_LENGTH,
  MAX_NESTING,
  MAX_PATH_LENGTH,
  MAX_REGEX_LENGTH,
  MAX_RESOURCE_COUNT,
  MAX_RETRIES,
  MAX_RUNTIME_SECONDS,
  MAX_SAMPLE_INTERVAL_SECONDS,
  MAX_SCRIPT_LENGTH,
  MAX_SPEC_BYTES,
} from './spec-limits.js';
export { type LoadSpecTextOptions, loadSpecFile, loadSpecText } from './spec-loader.js';
export { FileSpec, JobSpec, Metadata, UserDataSpec, WorkflowSpec } from './spec-schema.js';
