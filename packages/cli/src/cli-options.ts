import { JOB_STATUSES, parseDuration, parseMemory, SluiceError } from '@sluice/core';
import type { WorkerRequest } from '@sluice/runner';
import { z } from 'zod';

/** Validates command-line values at the boundary; every failure names the flag and the value. */
export function parseFlag<T>(schema: z.ZodType<T>, flag: string, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problem = r.error.issues[0]?.message ?? 'invalid value';
  throw new SluiceError('USAGE', `${flag}: ${problem} (got ${JSON.stringify(value)})`);
}

export const WorkflowId = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'expected a workflow id (a positive integer)')
  .transform(Number);
export type WorkflowId = z.infer<typeof WorkflowId>;

const PositiveInt = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'expected a positive integer')
  .transform(Number);
const NonNegativeInt = z
  .string()
  .regex(/^[0-9]+$/, 'expected a non-negative integer')
  .transform(Number);
const PositiveSeconds = z
  .string()
  .regex(/^[0-9]*\.?[0-9]+$/, 'expected a number of seconds')
  .transform(Number)
  .refine((n) => n > 0, 'expected a positive number of seconds');
const Memory = z.string().transform((s, ctx) => {
  try {
    return parseMemory(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a size like 512m or 4g' });
    return z.NEVER;
  }
});
const Duration = z.string().transform((s, ctx) => {
  if (/^[0-9]+$/.test(s)) return Number(s);
  try {
    return parseDuration(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 duration like PT2H or a number of seconds' });
    return z.NEVER;
  }
});

export interface RawWorkerFlags {
  outputDir?: string;
  maxParallelJobs?: string;
  numCpus?: string;
  memory?: string;
  numGpus?: string;
  timeLimit?: string;
  pollInterval?: string;
  heartbeatInterval?: string;
  heartbeatTimeout?: string;
  terminationGrace?: string;
  scheduledNodeId?: string;
  idleTimeout?: string;
  endBuffer?: string;
  oneWorkerPerNode?: boolean;
}

export function parseWorkerFlags(raw: RawWorkerFlags): WorkerRequest {
  const opt = <T>(schema: z.ZodType<T>, flag: string, v: string | undefined) =>
    v === undefined ? undefined : parseFlag(schema, flag, v);
  const ms = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 1000));
  return {
    outputDir: raw.outputDir,
    maxParallelJobs: opt(PositiveInt, '--max-parallel-jobs', raw.maxParallelJobs),
    numCpus: opt(PositiveInt, '--num-cpus', raw.numCpus),
    memoryBytes: opt(Memory, '--memory', raw.memory),
    numGpus: opt(NonNegativeInt, '--num-gpus', raw.numGpus),
    timeLimitSeconds: opt(Duration, '--time-limit', raw.timeLimit),
    pollIntervalMs: ms(opt(PositiveSeconds, '--poll-interval', raw.pollInterval)),
    heartbeatIntervalMs: ms(opt(PositiveSeconds, '--heartbeat-interval', raw.heartbeatInterval)),
    heartbeatTimeoutMs: ms(opt(PositiveSeconds, '--heartbeat-timeout', raw.heartbeatTimeout)),
    terminationGraceMs: ms(opt(PositiveSeconds, '--termination-grace', raw.terminationGrace)),
    scheduledNodeId: opt(PositiveInt, '--scheduled-node-id', raw.scheduledNodeId),
    idleTimeoutMs: ms(opt(PositiveSeconds, '--idle-timeout', raw.idleTimeout)),
    endBufferSeconds: opt(NonNegativeInt, '--end-buffer', raw.endBuffer),
    oneWorkerPerNode: raw.oneWorkerPerNode,
  };
}

export const JobStatusFlag = z.enum(JOB_STATUSES, {
  error: () => `expected one of ${JOB_STATUSES.join(', ')}`,
});
