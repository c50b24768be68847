import { commandLineSlurm, submitWorkflow } from '@sluice/runner';
import type { Command } from 'commander';
import { globals, logErr, withDatabase, workflowIdArg } from './cli-context.js';
import { printJson } from './output-format.js';

export function registerSubmitCommand(program: Command): void {
  program
    .command('submit <spec-or-id>')
    .description('create and initialize a workflow, then submit its on_workflow_start Slurm allocations from here')
    .option('--output-dir <dir>', 'where the allocations write job output and logs', 'output')
    .option('--json', 'machine output')
    .action(async (target: string, o: { outputDir: string }, cmd: Command) => {
      const g = globals(cmd);
      const r = await withDatabase(g, (h) =>
        submitWorkflow(
          h,
          /^[0-9]+$/.test(target) ? { id: workflowIdArg(target) } : { specPath: target },
          o.outputDir,
          commandLineSlurm,
        ),
      );
      if (g.json) printJson({ id: r.id, submitted: r.submitted, failed: r.failed });
      else {
        if (r.created) logErr(`created workflow ${r.id}`);
        process.stdout.write(`workflow ${r.id}: ${r.submitted} allocation request(s) submitted\n`);
      }
      for (const f of r.failed) logErr(`sluice: ${f}`);
      if (r.failed.length > 0) process.exitCode = 1;
    });
}
