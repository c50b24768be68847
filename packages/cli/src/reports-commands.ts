import { resourceReport } from '@sluice/runner';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { printJson, printTable } from './output-format.js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)}m`;

export function registerReportsCommands(program: Command): void {
  const reports = program.command('reports').description('reports on a workflow');
  reports
    .command('resources <workflow-id>')
    .description("each monitored job's peak and average memory and CPU against its resource requirements")
    .option('--json', 'machine output')
    .action(async (id: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await withWorkflow(g, id, (h, workflowId) => resourceReport(h, workflowId));
      if (g.json) return printJson(rows);
      if (rows.length === 0) {
        process.stdout.write('no job was monitored (set resource_monitor: {enabled: true} in the spec)\n');
        return;
      }
      printTable(
        rows.map((r) => ({
          ...r,
          memory: `${mib(r.peak_memory_bytes)} peak / ${mib(r.avg_memory_bytes)} avg of ${mib(r.memory_bytes)}`,
          cpu: `${r.peak_cpu_percent.toFixed(0)}% peak / ${r.avg_cpu_percent.toFixed(0)}% avg of ${r.num_cpus * 100}%`,
          flags: r.flags.join(', '),
        })),
        ['job_name', 'attempt_id', 'status', 'memory', 'cpu', 'exec_time_s', 'flags'],
      );
    });
}
