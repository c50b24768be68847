import { actionsList, SluiceError, workflowsGet, workflowsInitialize } from '@sluice/core';
import { submitWorkflowAllocations } from '@sluice/runner';
import type { Command } from 'commander';
import { type GlobalOptions, logErr, openDatabase } from './cli-context.js';
import { parseFlag, WorkflowId } from './cli-options.js';
import { printJson } from './output-format.js';
import { createFromSpec } from './workflow-commands.js';

const refuse = (what: string) =>
  new SluiceError(
    'WORKFLOW_STATE',
    `${what} has no on_workflow_start schedule_nodes action, so submit would start nothing; use \`sluice run\` or \`sluice worker\``,
  );

export function registerSubmitCommand(program: Command): void {
  program
    .command('submit <spec-or-id>')
    .description('create and initialize a workflow, then submit its on_workflow_start Slurm allocations from here')
    .option('--output-dir <dir>', 'where the allocations write job output and logs', 'output')
    .option('--json', 'machine output')
    .action(async (target: string, o: { outputDir: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const handle = await openDatabase(g);
      try {
        let workflowId: number;
        if (/^[0-9]+$/.test(target)) {
          workflowId = parseFlag(WorkflowId, 'workflow-id', target);
          await workflowsGet(handle.db, workflowId);
        } else {
          const { loadSpecFile } = await import('@sluice/core/spec');
          const spec = await loadSpecFile(target);
          if (!spec.actions.some((a) => a.triggerType === 'on_workflow_start' && a.actionType === 'schedule_nodes')) {
            throw refuse(target);
          }
          workflowId = await createFromSpec(handle, target);
          if (!g.json) logErr(`created workflow ${workflowId}`);
        }
        const actions = await actionsList(handle.db, workflowId);
        if (!actions.some((a) => a.trigger_type === 'on_workflow_start' && a.action_type === 'schedule_nodes')) {
          throw refuse(`workflow ${workflowId}`);
        }
        if ((await workflowsGet(handle.db, workflowId)).run_id === 0) await workflowsInitialize(handle.db, workflowId);
        const r = await submitWorkflowAllocations(handle.url, workflowId, o.outputDir);
        if (g.json) printJson({ id: workflowId, ...r });
        else process.stdout.write(`workflow ${workflowId}: ${r.submitted} allocation request(s) submitted\n`);
        for (const f of r.failed) logErr(`sluice: ${f}`);
        if (r.failed.length > 0) process.exitCode = 1;
      } finally {
        await handle.close();
      }
    });
}
