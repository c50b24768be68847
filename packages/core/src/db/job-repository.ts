import { sql } from 'kysely';
import type { FinishedJobStatus, JobStatus } from '../model.js';
import type { Db, JobRow, PageRequest } from './row-types.js';

export interface ClaimLimits {
  workerId: number;
  limit: number;
  /** false: take any ready job up to `limit` (the worker was given --max-parallel-jobs) */
  useResources: boolean;
  freeCpus: number;
  freeMemoryBytes: number;
  freeGpus: number;
  freeNodes: number;
  /** null: no time limit */
  maxRuntimeSeconds: number | null;
}

export async function jobsClaimReady(db: Db, c: ClaimLimits): Promise<JobRow[]> {
  const r = await sql<JobRow>`
    SELECT * FROM sluice.jobs_claim(${c.workerId}, ${c.limit}, ${c.useResources}, ${c.freeCpus},
      ${c.freeMemoryBytes}, ${c.freeGpus}, ${c.freeNodes}, ${c.maxRuntimeSeconds})`.execute(db);
  return r.rows;
}

/** An execution a worker holds: a job and the attempt of its claim. */
export interface JobExecution {
  jobId: number;
  attempt: number;
}

/** The executions the database says this worker holds (running jobs claimed by it). */
export async function jobsOwned(db: Db, workerId: number): Promise<JobExecution[]> {
  const rows = await db
    .selectFrom('sluice.jobs')
    .select(['id', 'attempt'])
    .where('worker_id', '=', workerId)
    .where(sql<boolean>`sluice.job_status_is_active(status)`)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ jobId: r.id, attempt: r.attempt }));
}

/** Gives back executions the worker holds but does not run (a claim whose reply was lost). */
export async function jobsRequeue(db: Db, workerId: number, executions: JobExecution[]): Promise<number[]> {
  if (executions.length === 0) return [];
  const r = await sql<{ id: number }>`
    SELECT id FROM sluice.jobs_requeue(${workerId}, ${executions.map((e) => e.jobId)}::bigint[],
      ${executions.map((e) => e.attempt)}::int[]) AS id`.execute(db);
  return r.rows.map((x) => x.id);
}

/** One reading of an execution's whole process tree (resource monitoring). */
export interface JobSample {
  at: Date;
  memoryBytes: number;
  cpuPercent: number;
  processes: number;
}

/** What resource monitoring measured over an execution. */
export interface JobUsage {
  peakMemoryBytes: number;
  avgMemoryBytes: number;
  peakCpuPercent: number;
  avgCpuPercent: number;
}

export interface JobCompletion {
  jobId: number;
  attempt: number;
  status: FinishedJobStatus;
  returnCode: number | null;
  startedAt: Date | null;
  completedAt: Date;
  message: string | null;
  stdoutPath: string | null;
  stderrPath: string | null;
  /** false: never retried by a failure handler (its recovery script failed, or the worker stopped it); default true */
  retryable?: boolean;
  usage?: JobUsage | null;
  /** every sample, when the workflow keeps them (granularity time_series) */
  samples?: JobSample[];
}

/**
 * Records a batch of finished executions in one transaction (deciding retries there); returns
 * the job ids whose execution has a result now.
 */
export async function jobsComplete(db: Db, workerId: number, done: JobCompletion[]): Promise<number[]> {
  if (done.length === 0) return [];
  const samples = done.flatMap((d) => (d.samples ?? []).map((x) => ({ jobId: d.jobId, attempt: d.attempt, ...x })));
  const r = await sql<{ id: number }>`
    SELECT id FROM sluice.jobs_complete(${workerId},
      ${done.map((d) => d.jobId)}::bigint[], ${done.map((d) => d.attempt)}::int[],
      ${done.map((d) => d.status)}::sluice.job_status[], ${done.map((d) => d.returnCode)}::int[],
      ${done.map((d) => d.startedAt)}::timestamptz[], ${done.map((d) => d.completedAt)}::timestamptz[],
      ${done.map((d) => d.message)}::text[], ${done.map((d) => d.stdoutPath)}::text[],
      ${done.map((d) => d.stderrPath)}::text[], ${done.map((d) => d.retryable ?? true)}::boolean[],
      ${done.map((d) => d.usage?.peakMemoryBytes ?? null)}::bigint[],
      ${done.map((d) => d.usage?.avgMemoryBytes ?? null)}::bigint[],
      ${done.map((d) => d.usage?.peakCpuPercent ?? null)}::float8[],
      ${done.map((d) => d.usage?.avgCpuPercent ?? null)}::float8[],
      ${samples.map((x) => x.jobId)}::bigint[], ${samples.map((x) => x.attempt)}::int[],
      ${samples.map((x) => x.at)}::timestamptz[], ${samples.map((x) => x.memoryBytes)}::bigint[],
      ${samples.map((x) => x.cpuPercent)}::float8[], ${samples.map((x) => x.processes)}::int[]) AS id`.execute(db);
  return r.rows.map((x) => x.id);
}

export interface JobListRow {
  id: number;
  name: string;
  status: JobStatus;
  command: string;
  worker_id: number | null;
  attempt: number;
  /** torc's attempt_id: the attempt within the run, from 1 */
  attempt_id: number;
  return_code: number | null;
  exec_time_s: number | null;
}

/** A workflow's jobs in id order, one page at a time (all of them when `page` is empty). */
export function jobsList(
  db: Db,
  workflowId: number,
  status?: JobStatus | readonly JobStatus[],
  page: PageRequest = {},
): Promise<JobListRow[]> {
  let q = db
    .selectFrom('sluice.jobs as j')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('sluice.results as r')
          .select(['r.return_code', 'r.exec_time_s'])
          .whereRef('r.job_id', '=', 'j.id')
          .whereRef('r.attempt', '=', 'j.attempt')
          .orderBy('r.id', 'desc')
          .limit(1)
          .as('r'),
      (join) => join.onTrue(),
    )
    .select([
      'j.id',
      'j.name',
      'j.status',
      'j.command',
      'j.worker_id',
      'j.attempt',
      'j.attempt_id',
      'r.return_code',
      'r.exec_time_s',
    ])
    .where('j.workflow_id', '=', workflowId);
  if (typeof status === 'string') q = q.where('j.status', '=', status);
  else if (status) q = q.where('j.status', 'in', status);
  if (page.after !== undefined) q = q.where('j.id', '>', page.after);
  if (page.limit !== undefined) q = q.limit(page.limit);
  return q.orderBy('j.id').execute() as Promise<JobListRow[]>;
}

/** Status of a set of jobs, for a worker checking whether its running jobs were canceled. */
export async function jobsStatuses(db: Db, ids: number[]): Promise<Map<number, JobStatus>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('sluice.jobs').select(['id', 'status']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.status]));
}

/**
 * Whether any job of the worker's workflow that has not started could still be claimed by this
 * worker (its scheduler, its time left) with these amounts (`resources` null: the worker counts
 * jobs, not resources). The rule is the claim's own, in SQL (sluice.jobs_fit).
 */
export async function jobsAnyRunnable(
  db: Db,
  workerId: number,
  resources: { cpus: number; memoryBytes: number; gpus: number; nodes: number } | null,
  maxRuntimeSeconds: number | null,
): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`
    SELECT sluice.jobs_any_runnable(${workerId}, ${resources !== null}, ${resources?.cpus ?? 0},
      ${resources?.memoryBytes ?? 0}, ${resources?.gpus ?? 0}, ${resources?.nodes ?? 0}, ${maxRuntimeSeconds}) AS ok`.execute(
    db,
  );
  return r.rows[0]?.ok ?? false;
}
