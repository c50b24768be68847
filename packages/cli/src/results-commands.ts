import { resultsList } from '@sluice/core';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { parsePageFlags, type RawPageFlags } from './cli-options.js';
import { printPagedList } from './paged-output.js';

export function registerResultsCommands(program: Command): void {
  const results = program.command('results').description('inspect job results');
  results
    .command('list <workflow-id>')
    .description('one row per job execution, in id order')
    .option('--limit <n>', 'at most n results (default: all with --json, 100 otherwise)')
    .option('--after <result-id>', 'only results with a higher id: the next page')
    .option('--json', 'machine output (one JSON array, streamed)')
    .action(async (id: string, o: RawPageFlags, cmd: Command) => {
      const g = globals(cmd);
      const page = parsePageFlags(o);
      await withWorkflow(g, id, (h, workflowId) =>
        printPagedList((p) => resultsList(h.db, workflowId, p), {
          json: g.json ?? false,
          page,
          noun: 'results',
          columns: [
            'id',
            'job_id',
            'job_name',
            'run_id',
            'status',
            'return_code',
            'exec_time_s',
            'worker_id',
            'message',
          ],
        }),
      );
    });
}
