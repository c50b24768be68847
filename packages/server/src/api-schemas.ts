// The API's shapes, shared by the routes: request validation, response serialization and the
// OpenAPI document all come from these zod schemas. Every schema that the document should name
// is added to apiRegistry with its id (its components.schemas entry).
import {
  ACTION_RUN_STATUSES,
  ACTION_STATUSES,
  ACTION_TYPES,
  ERROR_CODES,
  type ErrorCode,
  EVENT_KINDS,
  JOB_STATUSES,
  TRIGGER_TYPES,
  WORKER_STATUSES,
} from '@sluice/core';
import { z } from 'zod';

export const apiRegistry = z.registry<{ id: string; description?: string }>();

const named = <T extends z.ZodType>(id: string, description: string, schema: T): T => {
  apiRegistry.add(schema, { id, description });
  return schema;
};

const Id = z.number().int().positive();
const Count = z.number().int().nonnegative();
const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Largest page a client may ask for, and the page it gets when it does not say. */
/** A query parameter that is `true` or `false`, absent by default. */
export const QueryFlag = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .optional();

export const MAX_PAGE_LIMIT = 1000;
export const DEFAULT_PAGE_LIMIT = 100;

export const ErrorCodeName = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);
export type ErrorCodeName = z.infer<typeof ErrorCodeName>;

export const Problem = named(
  'Problem',
  'An error, as RFC 9457 problem details (application/problem+json); `code` is stable, `detail` is one line',
  z.object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: ErrorCodeName,
  }),
);
export type Problem = z.infer<typeof Problem>;

export const WorkflowParams = z.object({
  id: z.coerce.number().int().positive().max(MAX_ID).describe('the workflow id'),
});
export type WorkflowParams = z.infer<typeof WorkflowParams>;

export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(DEFAULT_PAGE_LIMIT)
    .describe(`items per page (at most ${MAX_PAGE_LIMIT})`),
  after: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_ID)
    .default(0)
    .describe('return items whose id is greater than this: the previous page’s next_after'),
});
export type PageQuery = z.infer<typeof PageQuery>;

export const JobStatusName = z.enum(JOB_STATUSES);
export type JobStatusName = z.infer<typeof JobStatusName>;

export const JobsQuery = PageQuery.extend({ status: JobStatusName.optional().describe('only jobs in this status') });
export type JobsQuery = z.infer<typeof JobsQuery>;

/** One page of a keyset-paginated list: next_after is null on the last page. */
const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    next_after: Id.nullable().describe('pass as ?after= for the next page; null when this is the last'),
  });

export const WorkflowSummary = named(
  'WorkflowSummary',
  'A workflow and its job counts by status',
  z.object({
    id: Id,
    name: z.string(),
    owner: z.string().describe('the PostgreSQL role that owns the workflow'),
    user: z.string().nullable().describe('the spec’s user key'),
    run_id: Count,
    is_initialized: z.boolean(),
    is_complete: z.boolean(),
    is_canceled: z.boolean(),
    num_jobs: Count,
    live_workers: Count,
    job_counts: z.record(JobStatusName, Count),
    created_at: z.date(),
    completed_at: z.date().nullable(),
    canceled_at: z.date().nullable(),
  }),
);
export type WorkflowSummary = z.infer<typeof WorkflowSummary>;

export const WorkflowStatus = named(
  'WorkflowStatus',
  'What `sluice workflows status --json` prints: the summary after silent workers are declared lost, and why the workflow stalls',
  WorkflowSummary.extend({
    stalled: z.string().nullable().describe('why the workflow cannot go on, or null'),
    waiting: z
      .string()
      .nullable()
      .describe("what the ready jobs wait for (queued or running allocations, with Slurm's state), or null"),
  }),
);
export type WorkflowStatus = z.infer<typeof WorkflowStatus>;

export const WorkflowPage = named('WorkflowPage', 'A page of workflows, by id', pageOf(WorkflowSummary));
export type WorkflowPage = z.infer<typeof WorkflowPage>;

export const RunStarted = named(
  'RunStarted',
  'The workflow’s run after initialize or reinitialize',
  z.object({ id: Id, run_id: Count }),
);
export type RunStarted = z.infer<typeof RunStarted>;

export const ResetStatusBody = named(
  'ResetStatusBody',
  'Which jobs go back to uninitialized',
  z.object({
    failed_only: z
      .boolean()
      .default(false)
      .describe('only failed, canceled and terminated jobs and everything downstream of them'),
  }),
);
export type ResetStatusBody = z.infer<typeof ResetStatusBody>;

export const StatusReset = named('StatusReset', 'How many jobs were reset', z.object({ id: Id, reset_jobs: Count }));
export type StatusReset = z.infer<typeof StatusReset>;

export const WorkflowCanceled = named(
  'WorkflowCanceled',
  'What cancel did: jobs canceled, Slurm allocations scancel-ed, and why scancel failed if it did',
  z.object({
    id: Id,
    canceled_jobs: Count,
    allocations: z.array(z.string()).describe('Slurm job ids of the canceled allocations'),
    problem: z.string().nullable(),
  }),
);
export type WorkflowCanceled = z.infer<typeof WorkflowCanceled>;

export const Job = named(
  'Job',
  'A job, with the outcome of its latest attempt',
  z.object({
    id: Id,
    name: z.string(),
    status: JobStatusName,
    command: z.string(),
    worker_id: Id.nullable(),
    attempt: Count,
    attempt_id: Count,
    return_code: z.number().int().nullable(),
    exec_time_s: z.number().nullable(),
  }),
);
export type Job = z.infer<typeof Job>;

export const JobPage = named('JobPage', 'A page of jobs, by id', pageOf(Job));
export type JobPage = z.infer<typeof JobPage>;

export const Result = named(
  'Result',
  'One finished execution of a job',
  z.object({
    id: Id,
    job_id: Id,
    job_name: z.string(),
    worker_id: Id.nullable(),
    run_id: Count,
    attempt: Count,
    attempt_id: Count,
    status: JobStatusName,
    return_code: z.number().int().nullable(),
    started_at: z.date().nullable(),
    completed_at: z.date(),
    exec_time_s: z.number().nullable(),
    message: z.string().nullable(),
    stdout_path: z.string().nullable(),
    stderr_path: z.string().nullable(),
    peak_memory_bytes: z.number().nullable(),
    avg_memory_bytes: z.number().nullable(),
    peak_cpu_percent: z.number().nullable(),
    avg_cpu_percent: z.number().nullable(),
  }),
);
export type Result = z.infer<typeof Result>;

export const ResultPage = named('ResultPage', 'A page of results, by id', pageOf(Result));
export type ResultPage = z.infer<typeof ResultPage>;

export const ActionRun = named(
  'ActionRun',
  'One execution of an action by a worker',
  z.object({
    id: Id,
    worker_id: Id,
    run_id: Count,
    status: z.enum(ACTION_RUN_STATUSES),
    exit_code: z.number().int().nullable(),
    failed_command: z.string().nullable(),
    started_at: z.string().describe('ISO 8601 time'),
    finished_at: z.string().nullable().describe('ISO 8601 time'),
  }),
);
export type ActionRun = z.infer<typeof ActionRun>;

export const Action = named(
  'Action',
  'A workflow action: its trigger, progress, status and every run',
  z.object({
    id: Id,
    position: Count,
    trigger_type: z.enum(TRIGGER_TYPES),
    action_type: z.enum(ACTION_TYPES),
    persistent: z.boolean(),
    job_names: z.array(z.string()),
    waiting_on: z.array(z.string()),
    trigger_count: Count,
    required_triggers: Count,
    executed: z.boolean(),
    status: z.enum(ACTION_STATUSES),
    runs: z.array(ActionRun),
  }),
);
export type Action = z.infer<typeof Action>;

export const ActionList = named(
  'ActionList',
  'A workflow’s actions, in spec order',
  z.object({ items: z.array(Action) }),
);
export type ActionList = z.infer<typeof ActionList>;

export const Event = named(
  'Event',
  'Something that happened to a workflow; `data` depends on the kind',
  z.object({
    id: Id,
    kind: z.enum(EVENT_KINDS),
    created_at: z.date(),
    job_id: Id.nullable(),
    worker_id: Id.nullable(),
    action_id: Id.nullable(),
    data: z.unknown(),
  }),
);
export type Event = z.infer<typeof Event>;

export const EventPage = named('EventPage', 'A page of events, by id', pageOf(Event));
export type EventPage = z.infer<typeof EventPage>;

export const EventStreamQuery = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_ID)
    .optional()
    .describe('start after this event id (the Last-Event-ID header wins when both are given)'),
  wake: QueryFlag.describe(
    'also send `event: wake` frames, without an id, the moment the database notifies one of the ' +
      'workflow’s channels (data: {"channel": name, or null after the server reconnected}); ' +
      '`sluice worker --wake sse` waits on these',
  ),
  events: QueryFlag.describe(
    'false: send no events, only wake frames and keep-alive comments (what `sluice worker --wake sse` ' +
      'reads: the server then reads nothing for the stream but a check of its token every minute)',
  ),
});
export type EventStreamQuery = z.infer<typeof EventStreamQuery>;

export const EventStreamHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^[0-9]{1,16}$/, 'expected an event id')
    .optional()
    .describe('resume after this event id'),
});
export type EventStreamHeaders = z.infer<typeof EventStreamHeaders>;

export const Health = named(
  'Health',
  'The server answers and reaches its database',
  z.object({ ok: z.literal(true), database: z.literal('reachable') }),
);
export type Health = z.infer<typeof Health>;

export const WorkerParams = z.object({
  id: z.coerce.number().int().positive().max(MAX_ID).describe('the worker id (from its registration)'),
});
export type WorkerParams = z.infer<typeof WorkerParams>;

export const WorkerHeartbeat = named(
  'WorkerHeartbeat',
  'The worker’s status after the beat: only a running worker’s heartbeat is renewed',
  z.object({ id: Id, status: z.enum(WORKER_STATUSES) }),
);
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;
