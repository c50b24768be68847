import {
  actionsList,
  eventsList,
  JOB_STATUSES,
  jobsList,
  resultsList,
  type SluiceDb,
  scheduledNodesCancel,
  type WorkflowSummaryView,
  workersReap,
  workflowsCancel,
  workflowsCreate,
  workflowsDelete,
  workflowsGet,
  workflowsInitialize,
  workflowsList,
  workflowsReinitialize,
  workflowsResetStatus,
} from '@sluice/core';
import type { Command } from 'commander';
import { type GlobalOptions, withDatabase } from './cli-context.js';
import { JobStatusFlag, parseFlag, WorkflowId } from './cli-options.js';
import { printJson, printTable } from './output-format.js';
import { scancel } from './slurm-commands.js';

export function workflowStatusJson(w: WorkflowSummaryView) {
  return {
    id: w.id,
    name: w.name,
    owner: w.owner_role,
    user: w.user,
    run_id: w.run_id,
    is_initialized: w.run_id > 0,
    is_complete: w.is_complete,
    is_canceled: w.is_canceled,
    num_jobs: w.num_jobs,
    live_workers: w.live_workers,
    job_counts: Object.fromEntries(JOB_STATUSES.map((k) => [k, w[k]])),
    created_at: w.created_at,
    completed_at: w.completed_at,
    canceled_at: w.canceled_at,
  };
}

export async function createFromSpec(h: SluiceDb, specPath: string): Promise<number> {
  // Loaded on demand: the spec schemas cost more to build than most commands take to run.
  const { loadSpecFile } = await import('@sluice/core/spec');
  const resolved = await loadSpecFile(specPath);
  return workflowsCreate(h.db, resolved);
}

/** Status after reaping silent workers, so a dead worker's jobs show as terminated. */
async function freshStatus(h: SluiceDb, id: number): Promise<WorkflowSummaryView> {
  await workflowsGet(h.db, id);
  await workersReap(h.db, id);
  return workflowsGet(h.db, id);
}

const workflowIdArg = (id: string) => parseFlag(WorkflowId, 'workflow-id', id);
const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

/** Runs fn for an existing workflow: a missing one is reported by name, not as an empty list. */
function withWorkflow<T>(
  g: GlobalOptions,
  id: string,
  fn: (h: SluiceDb, workflowId: number) => Promise<T>,
): Promise<T> {
  const workflowId = workflowIdArg(id);
  return withDatabase(g, async (h) => {
    await workflowsGet(h.db, workflowId);
    return fn(h, workflowId);
  });
}

export function registerWorkflowCommands(program: Command): void {
  const wf = program.command('workflows').description('create, inspect and change workflows');

  wf.command('create <spec>')
    .description('create a workflow from a YAML or JSON spec (not initialized)')
    .option('--json', 'machine output')
    .action(async (spec: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const id = await withDatabase(g, (h) => createFromSpec(h, spec));
      if (g.json) printJson({ id });
      else process.stdout.write(`created workflow ${id}\n`);
    });

  wf.command('list')
    .description('list workflows')
    .option('--json', 'machine output')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withDatabase(g, (h) => workflowsList(h.db));
      if (g.json) printJson(rows.map(workflowStatusJson));
      else
        printTable(
          rows.map((w) => ({
            ...w,
            state: w.is_canceled ? 'canceled' : w.is_complete ? 'complete' : w.run_id > 0 ? 'active' : 'new',
            done: `${w.num_jobs - w.unfinished_jobs}/${w.num_jobs}`,
          })),
          ['id', 'name', 'owner_role', 'state', 'done', 'running', 'failed', 'created_at'],
        );
    });

  wf.command('status <workflow-id>')
    .description('job counts by status, completion and cancellation')
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const w = await withDatabase(g, (h) => freshStatus(h, workflowIdArg(id)));
      const s = workflowStatusJson(w);
      if (g.json) return printJson(s);
      process.stdout.write(
        `workflow ${w.id} (${w.name}): ${w.is_canceled ? 'canceled' : w.is_complete ? 'complete' : w.run_id > 0 ? `run ${w.run_id} active` : 'not initialized'}, ${w.live_workers} live worker(s)\n`,
      );
      printTable(
        JOB_STATUSES.filter((k) => w[k] > 0).map((k) => ({ status: k, jobs: w[k] })),
        ['status', 'jobs'],
      );
    });

  const lifecycle = (
    name: string,
    description: string,
    fn: (h: SluiceDb, id: number, o: { failedOnly?: boolean }) => Promise<string>,
  ) =>
    wf
      .command(`${name} <workflow-id>`)
      .description(description)
      .option('--json', 'machine output')
      .action(async (id: string, o: { failedOnly?: boolean }, cmd: Command) => {
        const g = globals(cmd);
        const workflowId = workflowIdArg(id);
        const msg = await withDatabase(g, (h) => fn(h, workflowId, o));
        if (g.json) printJson({ id: workflowId, message: msg });
        else process.stdout.write(`${msg}\n`);
      });

  lifecycle('initialize', 'move uninitialized jobs to ready or blocked and start run 1', async (h, id) => {
    const run = await workflowsInitialize(h.db, id);
    return `workflow ${id} initialized (run ${run})`;
  });
  lifecycle(
    'reinitialize',
    're-evaluate uninitialized jobs and start a new run; completed jobs stay completed',
    async (h, id) => {
      const run = await workflowsReinitialize(h.db, id);
      return `workflow ${id} reinitialized (run ${run})`;
    },
  );
  lifecycle(
    'reset-status',
    'set jobs back to uninitialized (all, or failed/canceled/terminated ones and their dependents)',
    async (h, id, o) => {
      await workersReap(h.db, id);
      const n = await workflowsResetStatus(h.db, id, o.failedOnly ?? false);
      return `workflow ${id}: ${n} job(s) reset to uninitialized`;
    },
  ).option('--failed-only', 'only failed, canceled and terminated jobs and everything downstream of them');
  lifecycle(
    'cancel',
    'cancel the workflow: unfinished jobs become canceled, workers stop their processes, allocations are scancel-ed',
    async (h, id) => {
      const n = await workflowsCancel(h.db, id);
      const allocations = await scheduledNodesCancel(h.db, id);
      const problem = scancel(allocations);
      if (problem) process.stderr.write(`sluice: ${problem}\n`);
      const slurm = allocations.length > 0 ? `, ${allocations.length} Slurm allocation(s) canceled` : '';
      return `workflow ${id} canceled (${n} job(s) canceled${slurm})`;
    },
  );
  lifecycle('delete', 'delete the workflow and everything recorded about it', async (h, id) => {
    await workflowsDelete(h.db, id);
    return `workflow ${id} deleted`;
  });

  wf.command('list-actions <workflow-id>')
    .description("a workflow's actions: trigger, progress, status and every run")
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withWorkflow(g, id, (h, workflowId) => actionsList(h.db, workflowId));
      if (g.json) {
        printJson(
          rows.map((a) => ({
            id: a.id,
            trigger_type: a.trigger_type,
            action_type: a.action_type,
            persistent: a.persistent,
            jobs: a.job_names,
            waiting_on: a.waiting_on,
            trigger_count: a.trigger_count,
            required_triggers: a.required_triggers,
            executed: a.executed,
            status: a.status,
            runs: a.runs.map((r) => ({
              worker_id: r.worker_id,
              run_id: r.run_id,
              status: r.status,
              exit_code: r.exit_code,
              failed_command: r.failed_command,
              started_at: r.started_at,
              finished_at: r.finished_at,
            })),
          })),
        );
        return;
      }
      const names = (a: (typeof rows)[number]) => {
        const all = a.job_names.join(',');
        return all.length > 40 ? `${all.slice(0, 37)}...` : all;
      };
      printTable(
        rows.map((a) => ({
          ...a,
          jobs: names(a),
          progress: `${a.trigger_count}/${a.required_triggers}`,
          runs: a.runs.map((r) => `${r.worker_id}:${r.status}`).join(' '),
        })),
        ['id', 'trigger_type', 'action_type', 'persistent', 'jobs', 'progress', 'executed', 'status', 'runs'],
      );
    });

  const jobs = program.command('jobs').description('inspect jobs');
  jobs
    .command('list <workflow-id>')
    .description("list a workflow's jobs")
    .option('--status <status>', 'only jobs with this status')
    .option('--json', 'machine output')
    .action(async (id: string, o: { status?: string }, cmd: Command) => {
      const g = globals(cmd);
      const status = o.status === undefined ? undefined : parseFlag(JobStatusFlag, '--status', o.status);
      const rows = await withWorkflow(g, id, (h, workflowId) => jobsList(h.db, workflowId, status));
      if (g.json) printJson(rows);
      else
        printTable(rows as unknown as Record<string, unknown>[], [
          'id',
          'name',
          'status',
          'return_code',
          'exec_time_s',
          'worker_id',
          'command',
        ]);
    });

  const results = program.command('results').description('inspect job results');
  results
    .command('list <workflow-id>')
    .description('one row per job execution')
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withWorkflow(g, id, (h, workflowId) => resultsList(h.db, workflowId));
      if (g.json) printJson(rows);
      else
        printTable(rows as unknown as Record<string, unknown>[], [
          'id',
          'job_id',
          'job_name',
          'run_id',
          'status',
          'return_code',
          'exec_time_s',
          'worker_id',
          'message',
        ]);
    });

  program
    .command('events <workflow-id>')
    .description("show a workflow's events")
    .option('--follow', 'keep printing new events until interrupted')
    .option('--json', 'machine output (one JSON object per line)')
    .action(async (id: string, o: { follow?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await withWorkflow(g, id, async (h, workflowId) => {
        let after = 0;
        let stop = false;
        const onSig = () => {
          stop = true;
        };
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        try {
          do {
            const rows = await eventsList(h.db, workflowId, after);
            for (const e of rows) {
              after = e.id;
              if (g.json) process.stdout.write(`${JSON.stringify(e)}\n`);
              else
                process.stdout.write(
                  `${e.created_at.toISOString()}  ${e.kind.padEnd(22)} ${e.job_id ? `job=${e.job_id} ` : ''}${e.worker_id ? `worker=${e.worker_id} ` : ''}${e.data ? JSON.stringify(e.data) : ''}\n`,
                );
            }
            if (o.follow && !stop) await new Promise((r) => setTimeout(r, 500));
          } while (o.follow && !stop);
        } finally {
          process.off('SIGINT', onSig);
          process.off('SIGTERM', onSig);
        }
      });
    });
}
