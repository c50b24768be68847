import { execFileSync } from 'node:child_process';
import { scheduledNodesList } from '@sluice/core';
import type { Command } from 'commander';
import { type GlobalOptions, withDatabase } from './cli-context.js';
import { parseFlag, WorkflowId } from './cli-options.js';
import { printJson, printTable } from './output-format.js';

/** Slurm's own view of jobs it still knows, by job id; empty when squeue is missing or fails. */
function slurmStates(jobIds: string[]): Map<string, string> {
  if (jobIds.length === 0) return new Map();
  try {
    const out = execFileSync('squeue', ['-h', '-j', jobIds.join(','), '-o', '%i %T'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return new Map(
      out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/) as [string, string]),
    );
  } catch {
    return new Map();
  }
}

/** scancel for the given Slurm job ids; returns a message for the user when it could not. */
export function scancel(jobIds: string[]): string | null {
  if (jobIds.length === 0) return null;
  try {
    execFileSync('scancel', jobIds, { timeout: 30_000, stdio: ['ignore', 'ignore', 'pipe'] });
    return null;
  } catch (e) {
    return `scancel ${jobIds.join(' ')} failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

export function registerSlurmCommands(program: Command): void {
  const slurm = program.command('slurm').description('Slurm allocations of workflows');
  slurm
    .command('list <workflow-id>')
    .description("the workflow's allocations with their Slurm state")
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const workflowId = parseFlag(WorkflowId, 'workflow-id', id);
      const rows = await withDatabase(g, (h) => scheduledNodesList(h.db, workflowId));
      const states = slurmStates(rows.map((r) => r.slurm_job_id).filter((x): x is string => x !== null));
      const out = rows.map((r) => ({
        ...r,
        slurm_state: r.slurm_job_id ? (states.get(r.slurm_job_id) ?? null) : null,
      }));
      if (g.json) printJson(out);
      else
        printTable(out as unknown as Record<string, unknown>[], [
          'id',
          'scheduler',
          'slurm_job_id',
          'status',
          'slurm_state',
          'live_workers',
          'message',
        ]);
    });
}
