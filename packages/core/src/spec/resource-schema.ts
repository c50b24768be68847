/** Schemas of what jobs run on: resource requirements, Slurm schedulers and defaults, resource monitoring. */
import * as z from 'zod';
import { wholeDurationSeconds } from './duration-parser.js';
import { boundedInt, Name, ResourceCount, Text, unsupportedUnlessFalse } from './schema-primitives.js';
import { memoryBytes } from './size-parser.js';
import { MAX_RUNTIME_SECONDS, MAX_SAMPLE_INTERVAL_SECONDS } from './spec-limits.js';

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
  const parsed = wholeDurationSeconds(raw, MAX_RUNTIME_SECONDS);
  if ('value' in parsed && parsed.value > 0) return { text: raw, seconds: parsed.value };
  const problem = 'problem' in parsed ? parsed.problem : `runtime ${JSON.stringify(raw)} is no time at all`;
  ctx.issues.push({ code: 'custom', message: problem, input: raw });
  return z.NEVER;
});
export type Runtime = z.infer<typeof Runtime>;

export const ResourceRequirementsSpec = z.strictObject({
  name: Name,
  num_cpus: ResourceCount(1).nullish(),
  num_gpus: ResourceCount(0).nullish(),
  num_nodes: ResourceCount(1).nullish(),
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
  nodes: ResourceCount(1).nullish(),
  mem: SlurmText.nullish(),
  gres: Text.nullish(),
  qos: Text.nullish(),
  ntasks_per_node: ResourceCount(1).nullish(),
  tmp: SlurmText.nullish(),
  extra: Text.nullish(),
  ...unsupportedUnlessFalse('serialize_allocations'),
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

export const MONITOR_GRANULARITIES = ['summary', 'time_series'] as const;

/** torc's newer spelling of the job monitoring switches; it wins over the flat keys beside it. */
const JobMonitorSpec = z.strictObject({
  enabled: z.boolean().nullish(),
  granularity: z.enum(MONITOR_GRANULARITIES).nullish(),
});

export const ResourceMonitorSpec = z.strictObject({
  enabled: z.boolean().nullish(),
  granularity: z.enum(MONITOR_GRANULARITIES).nullish(),
  sample_interval_seconds: boundedInt(1, MAX_SAMPLE_INTERVAL_SECONDS).nullish(),
  generate_plots: z.boolean().nullish(),
  jobs: JobMonitorSpec.nullish(),
  // torc buffers time series in SQLite and flushes them this often; Sluice has no such buffer,
  // so the key is accepted (torc specs set it) and has no effect.
  flush_interval_seconds: boundedInt(1, 86_400).nullish(),
  // Legacy torc key that torc itself ignores (it tolerates unknown monitor keys); so does Sluice.
  metrics: z.array(z.string()).nullish(),
  compute_node: z
    .strictObject({
      enabled: z
        .boolean()
        .nullish()
        .refine((enabled) => enabled !== true, {
          error: 'compute-node monitoring is not supported by Sluice (only enabled: false is accepted)',
          params: { code: 'SPEC_UNSUPPORTED_KEY' },
        }),
      granularity: z.enum(MONITOR_GRANULARITIES).nullish(),
      cpu: z.boolean().nullish(),
      memory: z.boolean().nullish(),
    })
    .nullish(),
});
export type ResourceMonitorSpec = z.infer<typeof ResourceMonitorSpec>;
