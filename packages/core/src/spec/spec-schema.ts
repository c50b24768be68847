/**
 * The workflow spec as users write it (YAML, JSON, JSON5, or KDL mapped onto the same data), key
 * for key. These schemas check shapes and single values; everything that needs more than one
 * value (names, references, parameters, dependencies, action and handler rules) is checked by
 * the resolver, which knows where each value came from. Optional keys accept null too: `key:`
 * with nothing after it is null in YAML, and torc specs write `invocation_script: null`.
 */
import * as z from 'zod';
import { ActionSpec, FailureHandlerSpec } from './action-schema.js';
import { LEGACY_JOB_KEYS } from './legacy-keys.js';
import { ResourceMonitorSpec, ResourceRequirementsSpec, SlurmDefaults, SlurmSchedulerSpec } from './resource-schema.js';
import {
  boundedInt,
  Name,
  NameList,
  Parameters,
  PathText,
  parameterKeys,
  RegexList,
  Script,
  Text,
  unsupported,
  unsupportedUnlessFalse,
} from './schema-primitives.js';
import { describeValue } from './spec-error.js';

/** Renames legacy job keys; a job that gives both spellings is refused rather than merged. */
function renameLegacyKeys(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  let renamed: Record<string, unknown> | undefined;
  for (const [legacy, current] of Object.entries(LEGACY_JOB_KEYS)) {
    if (!Object.hasOwn(raw, legacy)) continue;
    renamed ??= { ...(raw as Record<string, unknown>) };
    const value = renamed[legacy];
    delete renamed[legacy];
    if (value === null || value === undefined) continue;
    if (renamed[current] !== undefined && renamed[current] !== null) {
      ctx.addIssue({
        code: 'custom',
        message: `"${legacy}" is torc's old name for "${current}"; give one of them`,
        path: [legacy],
      });
      continue;
    }
    renamed[current] = value;
  }
  return renamed ?? raw;
}

export const JobSpec = z.preprocess(
  renameLegacyKeys,
  z.strictObject({
    name: Name,
    command: Script.min(1),
    invocation_script: Script.nullish(),
    depends_on: NameList.nullish(),
    depends_on_regexes: RegexList.nullish(),
    input_files: NameList.nullish(),
    output_files: NameList.nullish(),
    input_user_data: NameList.nullish(),
    output_user_data: NameList.nullish(),
    input_file_regexes: RegexList.nullish(),
    output_file_regexes: RegexList.nullish(),
    input_user_data_regexes: RegexList.nullish(),
    output_user_data_regexes: RegexList.nullish(),
    resource_requirements: Name.nullish(),
    scheduler: Name.nullish(),
    failure_handler: Name.nullish(),
    // Higher is claimed first, as in torc; an int4 in the database.
    priority: boundedInt(0).nullish(),
    cancel_on_blocking_job_failure: z.boolean().nullish(),
    supports_termination: z.boolean().nullish(),
    ...parameterKeys,
    ...unsupported(
      'env',
      'stdio',
      'label',
      'parameters_file',
      'use_parameters_file',
      'input_datasets',
      'output_datasets',
    ),
  }),
);
export type JobSpec = z.infer<typeof JobSpec>;

export const FileSpec = z.strictObject({
  name: Name,
  path: PathText,
  ...parameterKeys,
  // torc records the file's modification time here (it stats the file when this is unset);
  // Sluice keeps no modification times, so the key is accepted and has no effect.
  st_mtime: z.number().min(0).nullish(),
  ...unsupported('identifier', 'parameters_file', 'use_parameters_file'),
});
export type FileSpec = z.infer<typeof FileSpec>;

export const UserDataSpec = z.strictObject({
  name: Name,
  data: z.unknown().optional(),
  is_ephemeral: z.boolean().nullish(),
  ...parameterKeys,
  ...unsupported('parameters_file', 'use_parameters_file'),
});
export type UserDataSpec = z.infer<typeof UserDataSpec>;

/** `metadata` is a mapping (torc today) or a string of JSON (torc before), kept as the value it holds. */
export const Metadata = z.unknown().transform((raw, ctx) => {
  if (typeof raw !== 'string') {
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) return raw as Record<string, unknown>;
    ctx.issues.push({
      code: 'custom',
      message: `expected a mapping or a string of JSON, got ${describeValue(raw)}`,
      input: raw,
    });
    return z.NEVER;
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    ctx.issues.push({ code: 'custom', message: `metadata is not valid JSON: ${reason}`, input: raw });
    return z.NEVER;
  }
});
export type Metadata = z.infer<typeof Metadata>;

export const WorkflowSpec = z.strictObject({
  name: Name,
  description: Text.nullish(),
  user: Text.nullish(),
  project: Text.nullish(),
  metadata: Metadata.nullish(),
  parameters: Parameters.nullish(),
  jobs: z.array(JobSpec).min(1),
  files: z.array(FileSpec).nullish(),
  user_data: z.array(UserDataSpec).nullish(),
  resource_requirements: z.array(ResourceRequirementsSpec).nullish(),
  slurm_schedulers: z.array(SlurmSchedulerSpec).nullish(),
  slurm_defaults: SlurmDefaults.nullish(),
  failure_handlers: z.array(FailureHandlerSpec).nullish(),
  resource_monitor: ResourceMonitorSpec.nullish(),
  actions: z.array(ActionSpec).nullish(),
  ...unsupported(
    'variables',
    'env',
    'datasets',
    'parameters_file',
    'execution_config',
    'dynamic_jobs',
    'access_groups',
    'slurm_config',
    'resource_monitor_config',
    'compute_node_expiration_buffer_seconds',
    'compute_node_wait_for_new_jobs_seconds',
    'compute_node_wait_for_healthy_database_minutes',
    'jobs_sort_method',
    'priority',
    'schedule_compute_nodes',
  ),
  ...unsupportedUnlessFalse('use_pending_failed', 'enable_ro_crate', 'compute_node_ignore_workflow_completion'),
});
export type WorkflowSpec = z.infer<typeof WorkflowSpec>;
