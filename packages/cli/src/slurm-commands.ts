import { allocationsList } from '@sluice/core';
import { commandLineSlurm } from '@sluice/runner';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { printJson, printTable } from './output-format.js';

export function registerSlurmCommands(program: Command): void {
  const slurm = program.command('slurm').description('Slurm allocations of workflows');
  slurm
    .command('list <workflow-id>')
    .description("the workflow's allocations with their Slurm state and reason (squeue %T, %r)")
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withWorkflow(g, id, (h, workflowId) => allocationsList(h.db, workflowId));
      // One squeue call for every allocation; a job Slurm no longer shows has neither.
      const states = await commandLineSlurm.jobStates(
        rows.map((r) => r.slurm_job_id).filter((x): x is string => x !== null),
      );
      const out = rows.map((r) => {
        const s = r.slurm_job_id ? states.get(r.slurm_job_id) : undefined;
        return { ...r, slurm_state: s?.state ?? null, slurm_reason: s?.reason ?? null };
      });
      if (g.json) printJson(out);
      else
        printTable(out, [
          'id',
          'scheduler',
          'slurm_job_id',
          'status',
          'slurm_state',
          'slurm_reason',
          'live_workers',
          'message',
        ]);
    });
}
