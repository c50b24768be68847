import { jobsList } from '@sluice/core';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { JobStatusFlag, parseFlag } from './cli-options.js';
import { printJson, printTable } from './output-format.js';

export function registerJobsCommands(program: Command): void {
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
      else printTable(rows, ['id', 'name', 'status', 'return_code', 'exec_time_s', 'worker_id', 'command']);
    });
}
