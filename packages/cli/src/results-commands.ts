import { resultsList } from '@sluice/core';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { printJson, printTable } from './output-format.js';

export function registerResultsCommands(program: Command): void {
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
        printTable(rows, [
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
}
