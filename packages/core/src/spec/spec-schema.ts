/**
 * The workflow spec as users write it (YAML or JSON), key for key. These schemas check shapes
 * and single values; everything that needs more than one value (names, references, parameters,
 * dependencies, action rules) is checked by the resolver, which knows where each value came from.
 * Optional keys accept null too: `key:` with nothing after it is null in YAML, and torc specs
 * write `invocation_script: null`.
 */
import * as z from 'zod';
import { ACTION_TYPES, TRIGGER_TYPES } from '../model.js';
import { durationSeconds } from './duration-parser.js';
import { PARAMETER_MODES } from './parameter-combinations.js';
import { parseParameterValues } from './parameter-value-parser.js';
import { memoryBytes } from './size-parser.js';

/**
 * torc keys Sluice does not support yet, per object. They are refused with their own message
 * rather than as unknown keys, so a torc user learns the feature is missing, not misspelled.
 */
const unsupported = <K extends string>(...keys: K[]) =>
  Object.fromEntries(keys.map((key) => [key, z.never().optional()])) as Record<K, z.ZodOptional<z.ZodNever>>;

/** Marks a custom issue that the validator reports as SPEC_BAD_PARAMETER instead of SPEC_INVALID. */
const BAD_PARAMETER = { code: 'SPEC_BAD_PARAMETER' };

const Name = z.string().min(1);
const NameList = z.array(Name);
const RegexList = z.array(z.string().min(1));
const Text = z.string();

export const ParameterName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
  error: 'a parameter name must be letters, digits and _, not starting with a digit',
});
export type ParameterName = z.infer<typeof ParameterName>;

const ParameterScalar = z.union([z.string(), z.number()]);

/** One parameter's values: "1:100", "0:100:10", "[1,5,10]", "['a','b']", a YAML list, or one value. */
export const ParameterValues = z
  .union([ParameterScalar, z.array(ParameterScalar)], {
    error: 'expected a range like "1:10", a list like "[1,2]" or "[\'a\',\'b\']", a YAML list or a single value',
  })
  .transform((raw, ctx) => {
    const parsed = parseParameterValues(raw);
    if ('value' in parsed) return parsed.value;
    ctx.issues.push({ code: 'custom', message: parsed.problem, input: raw, params: BAD_PARAMETER });
    return z.NEVER;
  });
export type ParameterValues = z.infer<typeof ParameterValues>;

export const Parameters = z.record(ParameterName, ParameterValues);
export type Parameters = z.infer<typeof Parameters>;

const parameterKeys = {
  parameters: Parameters.nullish(),
  parameter_mode: z.enum(PARAMETER_MODES).nullish(),
  use_parameters: z.array(ParameterName).nullish(),
};

export const JobSpec = z.strictObject({
  name: Name,
  command: z.string().min(1),
  invocation_script: Text.nullish(),
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
  cancel_on_blocking_job_failure: z.boolean().nullish(),
  supports_termination: z.boolean().nullish(),
  ...parameterKeys,
  ...unsupported('priority', 'env', 'failure_handler', 'stdio', 'resource_monitor'),
});
export type JobSpec = z.infer<typeof JobSpec>;

export const FileSpec = z.strictObject({
  name: Name,
  path: z.string().min(1),
  ...parameterKeys,
  ...unsupported('st_mtime', 'identifier'),
});
export type FileSpec = z.infer<typeof FileSpec>;

export const UserDataSpec = z.strictObject({
  name: Name,
  data: z.unknown().optional(),
  ...parameterKeys,
  ...unsupported('is_ephemeral'),
});
export type UserDataSpec = z.infer<typeof UserDataSpec>;

export const MemorySize = z
  .union([z.string(), z.number()], { error: 'expected a memory size like "4g" or a number of bytes' })
  .transform((raw, ctx) => {
    const parsed = memoryBytes(raw);
    if ('value' in parsed) return { text: String(raw), bytes: parsed.value };
    ctx.issues.push({ code: 'custom', message: parsed.problem, input: raw });
    return z.NEVER;
  });
export type MemorySize = z.infer<typeof MemorySize>;

export const Runtime = z.string().transform((raw, ctx) => {
  const parsed = durationSeconds(raw);
  if ('value' in parsed && parsed.value > 0) return { text: raw, seconds: parsed.value };
  const problem = 'problem' in parsed ? parsed.problem : `runtime ${JSON.stringify(raw)} is no time at all`;
  ctx.issues.push({ code: 'custom', message: problem, input: raw });
  return z.NEVER;
});
export type Runtime = z.infer<typeof Runtime>;

export const ResourceRequirementsSpec = z.strictObject({
  name: Name,
  num_cpus: z.int().min(1).nullish(),
  num_gpus: z.int().min(0).nullish(),
  num_nodes: z.int().min(1).nullish(),
  memory: MemorySize.nullish(),
  runtime: Runtime.nullish(),
});
export type ResourceRequirementsSpec = z.infer<typeof ResourceRequirementsSpec>;

/** Slurm takes sizes and times as text; YAML turns `mem: 8000` into a number, which means the same. */
const SlurmText = z.union([z.string(), z.number()], { error: 'expected a string' }).transform(String);

export const SlurmSchedulerSpec = z.strictObject({
  name: Name,
  account: Text.nullish(),
  partition: Text.nullish(),
  walltime: SlurmText.nullish(),
  nodes: z.int().min(1).nullish(),
  mem: SlurmText.nullish(),
  gres: Text.nullish(),
  qos: Text.nullish(),
  ntasks_per_node: z.int().min(1).nullish(),
  tmp: SlurmText.nullish(),
  extra: Text.nullish(),
  ...unsupported('serialize_allocations'),
});
export type SlurmSchedulerSpec = z.infer<typeof SlurmSchedulerSpec>;

/** Options that each scheduler sets itself, so a workflow-wide default would contradict it. */
export const SCHEDULER_MANAGED_SLURM_OPTIONS = [
  'partition',
  'nodes',
  'walltime',
  'time',
  'mem',
  'gres',
  'name',
  'job-name',
];

export const SlurmDefaults = z.record(
  z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, {
      error: 'expected an sbatch long option name without the leading "--", e.g. "mail-type"',
    })
    .refine((key) => !SCHEDULER_MANAGED_SLURM_OPTIONS.includes(key), {
      error: (issue) => `"${issue.input}" is set per scheduler in slurm_schedulers, not in slurm_defaults`,
    }),
  z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' }),
);
export type SlurmDefaults = z.infer<typeof SlurmDefaults>;

export const ActionSpec = z.strictObject({
  trigger_type: z.enum(TRIGGER_TYPES),
  action_type: z.enum(ACTION_TYPES),
  jobs: NameList.nullish(),
  job_name_regexes: RegexList.nullish(),
  commands: z.array(z.string().min(1)).nullish(),
  scheduler: Name.nullish(),
  scheduler_type: z.string().nullish(),
  num_allocations: z.int().min(1).nullish(),
  start_one_worker_per_node: z.boolean().nullish(),
  max_parallel_jobs: z.int().min(1).nullish(),
  persistent: z.boolean().nullish(),
});
export type ActionSpec = z.infer<typeof ActionSpec>;

/** `metadata` is a JSON string (as in torc), kept as the value it parses to. */
export const Metadata = z.string().transform((raw, ctx) => {
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
  actions: z.array(ActionSpec).nullish(),
  ...unsupported(
    'failure_handlers',
    'resource_monitor',
    'resource_monitor_config',
    'compute_node_expiration_buffer_seconds',
    'compute_node_wait_for_new_jobs_seconds',
    'compute_node_ignore_workflow_completion',
    'compute_node_wait_for_healthy_database_minutes',
    'jobs_sort_method',
    'priority',
    'schedule_compute_nodes',
    'variables',
    'env',
    'execution_config',
    'use_pending_failed',
    'enable_ro_crate',
    'access_groups',
  ),
});
export type WorkflowSpec = z.infer<typeof WorkflowSpec>;
