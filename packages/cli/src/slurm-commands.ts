import { allocationsList } from '@sluice/core';
import { commandLineSlurm } from '@sluice/runner';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { printJson, printTable } from './output-format.js';

export function registerSlurmCommands(program: Command): void {
  const slurm = program.command('slurm').description('Slurm allocations of workflows');
  slurm
    .command('list <workflow-id>')
    .description("the workflow's allocations with their Slurm state")
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withWorkflow(g, id, (h, workflowId) => allocationsList(h.db, workflowId));
      const states = await commandLineSlurm.jobStates(
        rows.map((r) => r.slurm_job_id).filter((x): x is string => x !== null),
      );
      const out = rows.map((r) => ({
        ...r,
        slurm_state: r.slurm_job_id ? (states.get(r.slurm_job_id) ?? null) : null,
      }));
      if (g.json) printJson(out);
      else printTable(out, ['id', 'scheduler', 'slurm_job_id', 'status', 'slurm_state', 'live_workers', 'message']);
    });
}
