import { jobsList } from '@sluice/core';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { JobStatusFlag, parseFlag, parsePageFlags, type RawPageFlags } from './cli-options.js';
import { printPagedList } from './paged-output.js';

export function registerJobsCommands(program: Command): void {
  const jobs = program.command('jobs').description('inspect jobs');
  jobs
    .command('list <workflow-id>')
    .description("list a workflow's jobs, in id order")
    .option('--status <status>', 'only jobs with this status')
    .option('--limit <n>', 'at most n jobs (default: all with --json, 100 otherwise)')
    .option('--after <job-id>', 'only jobs with a higher id: the next page')
    .option('--json', 'machine output (one JSON array, streamed)')
    .action(async (id: string, o: RawPageFlags & { status?: string }, cmd: Command) => {
      const g = globals(cmd);
      const status = o.status === undefined ? undefined : parseFlag(JobStatusFlag, '--status', o.status);
      const page = parsePageFlags(o);
      await withWorkflow(g, id, (h, workflowId) =>
        printPagedList((p) => jobsList(h.db, workflowId, status, p), {
          json: g.json ?? false,
          page,
          noun: 'jobs',
          columns: ['id', 'name', 'status', 'return_code', 'exec_time_s', 'worker_id', 'command'],
        }),
      );
    });
}
