import { sql } from 'kysely';
import { JOB_TRIGGER_TYPES } from '../model.js';
import type { ResolvedWorkflow } from '../spec/resolved-workflow.js';
import type { Db } from './row-types.js';

/**
 * A per-job number or boolean array as PostgreSQL's array literal. pg quotes and escapes every
 * element of an array parameter (two regular expressions each): a tenth of a 100k-job creation's
 * CPU in this process, for a dozen 100k-element arrays whose elements need no quoting.
 */
function arrayLiteral(values: readonly (number | boolean | null | undefined)[]): string {
  return `{${values.map((v) => (v === null || v === undefined ? 'NULL' : String(v))).join(',')}}`;
}

const idsOf = (rows: { id: number; name: string }[]) => new Map(rows.map((r) => [r.name, r.id]));

function lookup(map: Map<string, number>, name: string, what: string): number {
  const id = map.get(name);
  if (id === undefined) throw new Error(`internal: ${what} "${name}" was not inserted`);
  return id;
}

export interface WorkflowCreateOptions {
  /**
   * Start the first run in the same transaction (`run`, `submit`, `workflows create
   * --initialize`): the jobs are inserted waiting (ready or blocked), as the run's start would
   * set them, instead of uninitialized and then moved, which wrote every job row twice.
   */
  initialize?: boolean;
}

/**
 * Creates every row of a workflow in one transaction, one statement per table: arrays go to
 * the server as parameters and come back out of unnest(), so a 100k-job spec costs a dozen
 * round trips, not 100k.
 */
export async function workflowsCreate(db: Db, wf: ResolvedWorkflow, opts: WorkflowCreateOptions = {}): Promise<number> {
  const initialize = opts.initialize ?? false;
  return db.transaction().execute(async (trx) => {
    const { id: workflowId } = await trx
      .insertInto('sluice.workflows')
      .values({
        name: wf.name,
        description: wf.description,
        spec_user: wf.user,
        project: wf.project,
        metadata: wf.metadata === null ? null : JSON.stringify(wf.metadata),
        slurm_defaults: JSON.stringify(wf.slurmDefaults),
        resource_monitor: JSON.stringify({
          enabled: wf.resourceMonitor.enabled,
          granularity: wf.resourceMonitor.granularity,
          sample_interval_seconds: wf.resourceMonitor.sampleIntervalSeconds,
          generate_plots: wf.resourceMonitor.generatePlots,
        }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    const rr = wf.resourceRequirements;
    const rrIds = idsOf(
      (
        await sql<{ id: number; name: string }>`
      INSERT INTO sluice.resource_requirements
        (workflow_id, name, num_cpus, num_gpus, num_nodes, memory, memory_bytes, runtime, runtime_seconds)
      SELECT ${workflowId}, * FROM unnest(
        ${rr.map((r) => r.name)}::text[], ${rr.map((r) => r.numCpus)}::int[], ${rr.map((r) => r.numGpus)}::int[],
        ${rr.map((r) => r.numNodes)}::int[], ${rr.map((r) => r.memory)}::text[], ${rr.map((r) => r.memoryBytes)}::bigint[],
        ${rr.map((r) => r.runtime)}::text[], ${rr.map((r) => r.runtimeSeconds)}::bigint[])
      RETURNING id, name`.execute(trx)
      ).rows,
    );

    const ss = wf.slurmSchedulers;
    const schedulerIds = idsOf(
      (
        await sql<{ id: number; name: string }>`
      INSERT INTO sluice.slurm_schedulers
        (workflow_id, name, account, partition, walltime, nodes, mem, gres, qos, ntasks_per_node, tmp, extra)
      SELECT ${workflowId}, * FROM unnest(
        ${ss.map((s) => s.name)}::text[], ${ss.map((s) => s.account)}::text[], ${ss.map((s) => s.partition)}::text[],
        ${ss.map((s) => s.walltime)}::text[], ${ss.map((s) => s.nodes)}::int[], ${ss.map((s) => s.mem)}::text[],
        ${ss.map((s) => s.gres)}::text[], ${ss.map((s) => s.qos)}::text[], ${ss.map((s) => s.ntasksPerNode)}::int[],
        ${ss.map((s) => s.tmp)}::text[], ${ss.map((s) => s.extra)}::text[])
      RETURNING id, name`.execute(trx)
      ).rows,
    );

    const handlerIds = await createFailureHandlers(trx, workflowId, wf);

    // Job ids are drawn up front so that dependency rows can be built here, without reading
    // the jobs back. (A literal regclass: resolving the sequence per row costs seconds at 100k.)
    const jobs = wf.jobs;
    const idRow = await sql<{ ids: number[] | null }>`
      SELECT array_agg(nextval('sluice.jobs_id_seq'::regclass) ORDER BY g) AS ids
        FROM generate_series(1, ${jobs.length}::int) g`.execute(trx);
    const jobIds = idRow.rows[0]?.ids ?? [];
    // The amounts copied from each job's resource requirements are joined in here rather than
    // sent as five more 100k-element arrays. Initializing, a job waits as a first run's start
    // sets it (workflows_start_run): none of a new job's dependencies is done.
    await sql`
      INSERT INTO sluice.jobs
        (id, workflow_id, name, command, invocation_script, resource_requirements_id, scheduler_id,
         num_cpus, num_gpus, num_nodes, memory_bytes, runtime_seconds,
         cancel_on_blocking_job_failure, supports_termination, unfinished_deps, priority, failure_handler_id,
         status, became_ready)
      SELECT u.id, ${workflowId}, u.name, u.command, u.invocation_script, u.rr, u.scheduler,
             r.num_cpus, r.num_gpus, r.num_nodes, r.memory_bytes, r.runtime_seconds, u.cob, u.st, u.deps, u.priority,
             u.handler,
             CASE WHEN NOT ${initialize}::boolean THEN 'uninitialized'::sluice.job_status
                  WHEN u.deps = 0 THEN 'ready'::sluice.job_status ELSE 'blocked'::sluice.job_status END,
             ${initialize}::boolean AND u.deps = 0
        FROM unnest(
          ${arrayLiteral(jobIds)}::bigint[], ${jobs.map((j) => j.name)}::text[], ${jobs.map((j) => j.command)}::text[],
          ${jobs.map((j) => j.invocationScript)}::text[],
          ${arrayLiteral(jobs.map((j) => lookup(rrIds, j.resourceRequirements, 'resource requirements')))}::bigint[],
          ${arrayLiteral(jobs.map((j) => (j.scheduler === null ? null : lookup(schedulerIds, j.scheduler, 'scheduler'))))}::bigint[],
          ${arrayLiteral(jobs.map((j) => j.cancelOnBlockingJobFailure))}::boolean[],
          ${arrayLiteral(jobs.map((j) => j.supportsTermination))}::boolean[],
          ${arrayLiteral(jobs.map((j) => j.dependsOn.length))}::int[], ${arrayLiteral(jobs.map((j) => j.priority))}::int[],
          ${arrayLiteral(jobs.map((j) => (j.failureHandler === null ? null : lookup(handlerIds, j.failureHandler, 'failure handler'))))}::bigint[])
          WITH ORDINALITY AS u(id, name, command, invocation_script, rr, scheduler, cob, st, deps, priority, handler, ord)
        JOIN sluice.resource_requirements r ON r.id = u.rr
       ORDER BY u.ord`.execute(trx);

    const depJob: number[] = [];
    const depOn: number[] = [];
    jobs.forEach((j, i) => {
      for (const d of j.dependsOn) {
        depJob.push(jobIds[i] as number);
        depOn.push(jobIds[d] as number);
      }
    });
    if (depJob.length > 0) {
      await sql`
        INSERT INTO sluice.job_dependencies (job_id, depends_on_job_id)
        SELECT * FROM unnest(${arrayLiteral(depJob)}::bigint[], ${arrayLiteral(depOn)}::bigint[])`.execute(trx);
    }

    const fileIds = idsOf(
      (
        await sql<{ id: number; name: string }>`
      INSERT INTO sluice.files (workflow_id, name, path)
      SELECT ${workflowId}, * FROM unnest(${wf.files.map((f) => f.name)}::text[], ${wf.files.map((f) => f.path)}::text[])
      RETURNING id, name`.execute(trx)
      ).rows,
    );
    const userDataIds = idsOf(
      (
        await sql<{ id: number; name: string }>`
      INSERT INTO sluice.user_data (workflow_id, name, data, is_ephemeral)
      SELECT ${workflowId}, u.name, u.data::jsonb, u.ephemeral
        FROM unnest(${wf.userData.map((u) => u.name)}::text[],
                    ${wf.userData.map((u) => (u.data === undefined ? null : JSON.stringify(u.data)))}::text[],
                    ${wf.userData.map((u) => u.isEphemeral)}::boolean[]) AS u(name, data, ephemeral)
      RETURNING id, name`.execute(trx)
      ).rows,
    );

    const linkCounts = { job_input_files: 0, job_output_files: 0, job_input_user_data: 0, job_output_user_data: 0 };
    const links = async (
      table: 'job_input_files' | 'job_output_files' | 'job_input_user_data' | 'job_output_user_data',
      column: 'file_id' | 'user_data_id',
      pick: (j: ResolvedWorkflow['jobs'][number]) => string[],
      ids: Map<string, number>,
    ) => {
      const a: number[] = [];
      const b: number[] = [];
      jobs.forEach((j, i) => {
        for (const name of pick(j)) {
          a.push(jobIds[i] as number);
          b.push(lookup(ids, name, column));
        }
      });
      linkCounts[table] = a.length;
      if (a.length === 0) return;
      await sql`INSERT INTO ${sql.table(`sluice.${table}`)} (job_id, ${sql.ref(column)})
                SELECT * FROM unnest(${arrayLiteral(a)}::bigint[], ${arrayLiteral(b)}::bigint[])`.execute(trx);
    };
    await links('job_input_files', 'file_id', (j) => j.inputFiles, fileIds);
    await links('job_output_files', 'file_id', (j) => j.outputFiles, fileIds);
    await links('job_input_user_data', 'user_data_id', (j) => j.inputUserData, userDataIds);
    await links('job_output_user_data', 'user_data_id', (j) => j.outputUserData, userDataIds);

    if (wf.actions.length > 0) {
      const acts = wf.actions;
      const actionRows = await sql<{ id: number; position: number }>`
        INSERT INTO sluice.workflow_actions
          (workflow_id, position, trigger_type, action_type, persistent, commands, scheduler_id,
           num_allocations, start_one_worker_per_node, max_parallel_jobs, required_triggers)
        SELECT ${workflowId}, u.position, u.trigger_type::sluice.trigger_type, u.action_type::sluice.action_type,
               u.persistent, CASE WHEN u.commands IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.commands::jsonb)) END,
               u.scheduler_id, u.num_allocations, u.one_per_node, u.max_parallel_jobs, u.required
          FROM unnest(
            ${acts.map((_, i) => i)}::int[], ${acts.map((a) => a.triggerType)}::text[],
            ${acts.map((a) => a.actionType)}::text[], ${acts.map((a) => a.persistent)}::boolean[],
            ${acts.map((a) => (a.commands ? JSON.stringify(a.commands) : null))}::text[],
            ${acts.map((a) => (a.scheduler ? lookup(schedulerIds, a.scheduler, 'scheduler') : null))}::bigint[],
            ${acts.map((a) => a.numAllocations)}::int[], ${acts.map((a) => a.startOneWorkerPerNode)}::boolean[],
            ${acts.map((a) => a.maxParallelJobs)}::int[], ${acts.map((a) => ((JOB_TRIGGER_TYPES as readonly string[]).includes(a.triggerType) ? a.jobs.length : 1))}::int[])
          AS u(position, trigger_type, action_type, persistent, commands, scheduler_id, num_allocations,
               one_per_node, max_parallel_jobs, required)
        RETURNING id, position`.execute(trx);
      const actionIdByPos = new Map(actionRows.rows.map((r) => [r.position, r.id]));
      const aIds: number[] = [];
      const aJobs: number[] = [];
      acts.forEach((a, pos) => {
        for (const j of a.jobs) {
          aIds.push(actionIdByPos.get(pos) as number);
          aJobs.push(jobIds[j] as number);
        }
      });
      if (aIds.length > 0) {
        await sql`INSERT INTO sluice.workflow_action_jobs (action_id, job_id)
                  SELECT * FROM unnest(${arrayLiteral(aIds)}::bigint[], ${arrayLiteral(aJobs)}::bigint[])`.execute(trx);
      }
    }

    await trx
      .insertInto('sluice.events')
      .values({ workflow_id: workflowId, kind: 'workflow_created', data: JSON.stringify({ jobs: jobs.length }) })
      .execute();
    await tablesAnalyze(trx, {
      jobs: jobs.length,
      job_dependencies: depJob.length,
      workflow_actions: wf.actions.length,
      workflow_action_jobs: wf.actions.reduce((n, a) => n + a.jobs.length, 0),
      files: wf.files.length,
      user_data: wf.userData.length,
      job_input_files: linkCounts.job_input_files,
      job_output_files: linkCounts.job_output_files,
      job_input_user_data: linkCounts.job_input_user_data,
      job_output_user_data: linkCounts.job_output_user_data,
    });
    // After the statistics: the run's start reads the jobs and the action links.
    if (initialize) await sql`SELECT sluice.workflows_initialize(${workflowId})`.execute(trx);
    return workflowId;
  });
}

/**
 * Statistics for what creation wrote, before commit (ANALYZE counts the transaction's own rows):
 * autovacuum may be off or late, and the first claims and the run's start are planned from them.
 * sluice.tables_analyze skips tables that got few rows for their size.
 */
async function tablesAnalyze(trx: Db, rows: Record<string, number>): Promise<void> {
  const tables = Object.keys(rows);
  await sql`SELECT sluice.tables_analyze(${tables}::text[], ${tables.map((t) => rows[t])}::bigint[])`.execute(trx);
}

/** The workflow's failure handlers and their rules; returns name -> id. */
async function createFailureHandlers(trx: Db, workflowId: number, wf: ResolvedWorkflow): Promise<Map<string, number>> {
  const handlers = wf.failureHandlers;
  if (handlers.length === 0) return new Map();
  const rows = await sql<{ id: number; name: string }>`
    INSERT INTO sluice.failure_handlers (workflow_id, name)
    SELECT ${workflowId}, unnest(${handlers.map((h) => h.name)}::text[])
    RETURNING id, name`.execute(trx);
  const ids = idsOf(rows.rows);
  const rules = handlers.flatMap((h) =>
    h.rules.map((r, position) => ({ handler: lookup(ids, h.name, 'failure handler'), position, ...r })),
  );
  if (rules.length > 0) {
    await sql`
      INSERT INTO sluice.failure_handler_rules (handler_id, position, exit_codes, recovery_script, max_retries)
      SELECT u.handler, u.position,
             CASE WHEN u.codes IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.codes::jsonb)::int) END,
             u.script, u.max_retries
        FROM unnest(${rules.map((r) => r.handler)}::bigint[], ${rules.map((r) => r.position)}::int[],
                    ${rules.map((r) => (r.exitCodes === null ? null : JSON.stringify(r.exitCodes)))}::text[],
                    ${rules.map((r) => r.recoveryScript)}::text[], ${rules.map((r) => r.maxRetries)}::int[])
             AS u(handler, position, codes, script, max_retries)`.execute(trx);
  }
  return ids;
}
