import { allocationsList } from '@sluice/core';
import { allocationsReconcile, commandLineSlurm } from '@sluice/runner';
import type { Command } from 'commander';
import { globals, logErr, withWorkflow } from './cli-context.js';
import { printJson, printTable } from './output-format.js';

export function registerSlurmCommands(program: Command): void {
  const slurm = program.command('slurm').description('Slurm allocations of workflows');
  slurm
    .command('list <workflow-id>')
    .description("the workflow's allocations with their Slurm state and reason (squeue %T, %r)")
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      // Reconciled first (one squeue call), so that an allocation whose job ended unstarted
      // shows as failed rather than queued for ever.
      const { rows, slurm: seen } = await withWorkflow(g, id, async (h, workflowId) => {
        const before = await allocationsList(h.db, workflowId);
        const jobIds = before.map((r) => r.slurm_job_id).filter((x): x is string => x !== null);
        const r = await allocationsReconcile(h, workflowId, commandLineSlurm, jobIds);
        return { rows: r.ended.length > 0 ? await allocationsList(h.db, workflowId) : before, slurm: r };
      });
      if (seen.unavailable) logErr(`Slurm's state not shown: ${seen.unavailable}`);
      const out = rows.map((r) => {
        const s = r.slurm_job_id ? seen.states.get(r.slurm_job_id) : undefined;
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
