import {
  actionsList,
  JOB_STATUSES,
  type SluiceDb,
  workflowsDelete,
  workflowsInitialize,
  workflowsList,
  workflowsReinitialize,
} from '@sluice/core';
import {
  cancelWorkflow,
  commandLineSlurm,
  createWorkflow,
  loadSpec,
  resetWorkflowStatus,
  toWorkflowStatus,
  workflowStatus,
} from '@sluice/runner';
import type { Command } from 'commander';
import { globals, withDatabase, withWorkflow, workflowIdArg } from './cli-context.js';
import { parsePageFlags, type RawPageFlags } from './cli-options.js';
import { printJson, printTable } from './output-format.js';
import { printPagedList } from './paged-output.js';

const stateOf = (w: { is_canceled: boolean; is_complete: boolean; run_id: number }) =>
  w.is_canceled ? 'canceled' : w.is_complete ? 'complete' : w.run_id > 0 ? 'active' : 'new';

export function registerWorkflowsCommands(program: Command): void {
  const wf = program.command('workflows').description('create, inspect and change workflows');

  wf.command('create <spec>')
    .description('create a workflow from a YAML, JSON, JSON5 or KDL spec (not initialized, unless --initialize)')
    .option('--initialize', 'also initialize it, in the same transaction (its jobs are written once, waiting)')
    .option('--json', 'machine output')
    .action(async (specPath: string, o: { initialize?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      // The spec is read and checked before any connection is made.
      const spec = await loadSpec(specPath);
      const initialize = o.initialize === true;
      const id = await withDatabase(g, (h) => createWorkflow(h, spec, { initialize }));
      if (g.json) printJson({ id });
      else process.stdout.write(`created${initialize ? ' and initialized' : ''} workflow ${id}\n`);
    });

  wf.command('list')
    .description("list workflows (yours; an admin sees everyone's), in id order")
    .option('--limit <n>', 'at most n workflows (default: all with --json, 100 otherwise)')
    .option('--after <workflow-id>', 'only workflows with a higher id: the next page')
    .option('--json', 'machine output (one JSON array, streamed)')
    .action(async (o: RawPageFlags, cmd: Command) => {
      const g = globals(cmd);
      const page = parsePageFlags(o);
      await withDatabase(g, (h) =>
        g.json
          ? printPagedList(async (p) => (await workflowsList(h.db, p)).map(toWorkflowStatus), {
              json: true,
              page,
              noun: 'workflows',
              columns: ['id'],
            })
          : printPagedList(
              async (p) =>
                (await workflowsList(h.db, p)).map((w) => ({
                  ...w,
                  state: stateOf(w),
                  done: `${w.num_jobs - w.unfinished_jobs}/${w.num_jobs}`,
                })),
              {
                json: false,
                page,
                noun: 'workflows',
                columns: ['id', 'name', 'owner_role', 'state', 'done', 'running', 'failed', 'created_at'],
              },
            ),
      );
    });

  wf.command('status <workflow-id>')
    .description('job counts by status, completion and cancellation')
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const { row: w, status } = await withDatabase(g, (h) => workflowStatus(h, workflowIdArg(id)));
      if (g.json) return printJson(status);
      const state = w.is_canceled
        ? 'canceled'
        : w.is_complete
          ? 'complete'
          : w.run_id > 0
            ? `run ${w.run_id} active`
            : 'not initialized';
      process.stdout.write(`workflow ${w.id} (${w.name}): ${state}, ${w.live_workers} live worker(s)\n`);
      if (status.stalled) process.stdout.write(`stalled: ${status.stalled}\n`);
      if (status.waiting) process.stdout.write(`waiting: ${status.waiting}\n`);
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
      const n = await resetWorkflowStatus(h, id, o.failedOnly ?? false);
      return `workflow ${id}: ${n} job(s) reset to uninitialized`;
    },
  ).option('--failed-only', 'only failed, canceled and terminated jobs and everything downstream of them');
  lifecycle(
    'cancel',
    'cancel the workflow: unfinished jobs become canceled, workers stop their processes, allocations are scancel-ed',
    async (h, id) => {
      const r = await cancelWorkflow(h, id, commandLineSlurm);
      if (r.problem) process.stderr.write(`sluice: ${r.problem}\n`);
      const slurm = r.allocations.length > 0 ? `, ${r.allocations.length} Slurm allocation(s) canceled` : '';
      return `workflow ${id} canceled (${r.jobs} job(s) canceled${slurm})`;
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
}
