import { JOB_STATUSES, parseDuration, parseMemory, SluiceError } from '@sluice/core';
import { WAKE_MODES, WORKER_DEFAULTS, type WorkerRequest } from '@sluice/runner';
import { z } from 'zod';

/** Validates command-line values at the boundary; every failure names the flag and the value. */
export function parseFlag<T>(schema: z.ZodType<T>, flag: string, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problem = r.error.issues[0]?.message ?? 'invalid value';
  throw new SluiceError('USAGE', `${flag}: ${problem} (got ${JSON.stringify(value)})`);
}

/** Ids are bigint in SQL and numbers here: at most 2^53 - 1. */
const MAX_ID = Number.MAX_SAFE_INTEGER;
/** Counts of cpus, gpus, jobs: the spec's own limit (int4 in SQL, far above any node). */
const MAX_COUNT = 1_048_576;
/** Longest time a timer can wait (2^31 - 1 ms), in seconds. */
const MAX_TIMER_SECONDS = Math.floor(2_147_483_647 / 1000);
/** Longest time limit: a hundred years, as for runtimes in specs. */
const MAX_DURATION_SECONDS = 36_500 * 86_400;

const integer = (pattern: RegExp, what: string, min: number, max: number) =>
  z
    .string()
    .regex(pattern, `expected ${what}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected ${what} of at most ${max}`);

export const WorkflowId = integer(/^[1-9][0-9]*$/, 'a workflow id (a positive integer)', 1, MAX_ID);
export type WorkflowId = z.infer<typeof WorkflowId>;

const Id = integer(/^[1-9][0-9]*$/, 'an id (a positive integer)', 1, MAX_ID);
const Count = integer(/^[1-9][0-9]*$/, 'a positive integer', 1, MAX_COUNT);
const CountOrZero = integer(/^[0-9]+$/, 'a non-negative integer', 0, MAX_COUNT);
const WholeSeconds = integer(/^[0-9]+$/, 'a non-negative number of seconds', 0, MAX_TIMER_SECONDS);
const PositiveSeconds = z
  .string()
  .regex(/^[0-9]*\.?[0-9]+$/, 'expected a number of seconds')
  .transform(Number)
  .refine((n) => n > 0, 'expected a positive number of seconds')
  .refine((n) => n <= MAX_TIMER_SECONDS, `expected at most ${MAX_TIMER_SECONDS} seconds (about 24 days)`);
const Memory = z.string().transform((s, ctx) => {
  try {
    const bytes = parseMemory(s);
    if (bytes <= Number.MAX_SAFE_INTEGER) return bytes;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'expected a size like 512m or 4g (at most 8 PiB)' });
  return z.NEVER;
});
const Duration = z.string().transform((s, ctx) => {
  let seconds: number | undefined;
  if (/^[0-9]+$/.test(s)) seconds = Number(s);
  else {
    try {
      seconds = parseDuration(s);
    } catch {
      // reported below
    }
  }
  if (seconds !== undefined && seconds > 0 && seconds <= MAX_DURATION_SECONDS && Number.isInteger(seconds))
    return seconds;
  ctx.addIssue({
    code: 'custom',
    message: 'expected a positive ISO-8601 duration like PT2H or a whole number of seconds, up to 100 years',
  });
  return z.NEVER;
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
  wake?: string;
}

export function parseWorkerFlags(raw: RawWorkerFlags): WorkerRequest {
  const opt = <T>(schema: z.ZodType<T>, flag: string, v: string | undefined) =>
    v === undefined ? undefined : parseFlag(schema, flag, v);
  const ms = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 1000));
  const heartbeatIntervalMs = ms(opt(PositiveSeconds, '--heartbeat-interval', raw.heartbeatInterval));
  const heartbeatTimeoutMs = ms(opt(PositiveSeconds, '--heartbeat-timeout', raw.heartbeatTimeout));
  const interval = heartbeatIntervalMs ?? WORKER_DEFAULTS.heartbeatIntervalMs;
  const timeout = heartbeatTimeoutMs ?? WORKER_DEFAULTS.heartbeatTimeoutMs;
  // A healthy worker must be able to miss a beat without being taken for dead (and fencing itself).
  if (timeout <= 2 * interval) {
    throw new SluiceError(
      'USAGE',
      `--heartbeat-timeout: must be more than twice --heartbeat-interval (got ${timeout / 1000} s and ${interval / 1000} s)`,
    );
  }
  return {
    outputDir: raw.outputDir,
    maxParallelJobs: opt(Count, '--max-parallel-jobs', raw.maxParallelJobs),
    numCpus: opt(Count, '--num-cpus', raw.numCpus),
    memoryBytes: opt(Memory, '--memory', raw.memory),
    numGpus: opt(CountOrZero, '--num-gpus', raw.numGpus),
    timeLimitSeconds: opt(Duration, '--time-limit', raw.timeLimit),
    pollIntervalMs: ms(opt(PositiveSeconds, '--poll-interval', raw.pollInterval)),
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    terminationGraceMs: ms(opt(PositiveSeconds, '--termination-grace', raw.terminationGrace)),
    scheduledNodeId: opt(Id, '--scheduled-node-id', raw.scheduledNodeId),
    idleTimeoutMs: ms(opt(PositiveSeconds, '--idle-timeout', raw.idleTimeout)),
    endBufferSeconds: opt(WholeSeconds, '--end-buffer', raw.endBuffer),
    oneWorkerPerNode: raw.oneWorkerPerNode,
    wake: opt(
      z.enum(WAKE_MODES, { error: `expected one of ${WAKE_MODES.join(', ')}` }),
      '--wake',
      raw.wake ?? process.env.SLUICE_WAKE,
    ),
  };
}

export const JobStatusFlag = z.enum(JOB_STATUSES, {
  error: () => `expected one of ${JOB_STATUSES.join(', ')}`,
});

/** Largest page a list command prints: far above any screen, below what fits in memory twice. */
const MAX_PAGE = 10_000_000;
const PageLimit = integer(/^[1-9][0-9]*$/, 'a positive integer', 1, MAX_PAGE);
const AfterId = integer(/^[0-9]+$/, 'an id (a non-negative integer)', 0, MAX_ID);

export interface RawPageFlags {
  limit?: string;
  after?: string;
}

/** `--limit N --after ID` of the list commands. */
export function parsePageFlags(raw: RawPageFlags): { limit?: number; after?: number } {
  return {
    limit: raw.limit === undefined ? undefined : parseFlag(PageLimit, '--limit', raw.limit),
    after: raw.after === undefined ? undefined : parseFlag(AfterId, '--after', raw.after),
  };
}
