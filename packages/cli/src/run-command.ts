import { JOB_STATUSES, jobsList, type SluiceDb, type WorkflowSummaryRow, workflowsGet } from '@sluice/core';
import { ensureWorkflow, loadSpec, prepareOutputDirectory, toWorkflowStatus, WORKER_DEFAULTS } from '@sluice/runner';
import type { Command } from 'commander';
import { globals, logErr, openDatabase, workflowIdArg } from './cli-context.js';
import { parseWorkerFlags, type RawWorkerFlags } from './cli-options.js';
import { printJson, printTable } from './output-format.js';
import { addWorkerOptions, exitSoon, runWorker } from './worker-command.js';

function progressLine(w: WorkflowSummaryRow): string {
  const done = w.num_jobs - w.unfinished_jobs;
  const width = 30;
  const filled = w.num_jobs === 0 ? width : Math.round((done / w.num_jobs) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${w.num_jobs} done, ${w.running + w.pending} running, ${w.failed} failed, ${w.canceled + w.terminated} canceled/terminated`;
}

/** Redraws one progress line on a terminal; silent elsewhere. */
function startProgress(h: SluiceDb, workflowId: number): () => Promise<void> {
  if (!process.stderr.isTTY) return async () => {};
  let last = '';
  let busy = false;
  const draw = async () => {
    if (busy) return;
    busy = true;
    try {
      const line = progressLine(await workflowsGet(h.db, workflowId));
      if (line !== last) process.stderr.write(`\r\x1b[2K${line}`);
      last = line;
    } catch {
      // Progress is cosmetic; the worker reports real problems.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void draw(), 200);
  return async () => {
    clearInterval(timer);
    await draw();
    process.stderr.write('\n');
  };
}

export function registerRunCommand(program: Command): void {
  addWorkerOptions(
    program
      .command('run <spec-or-id>')
      .description('create (from a spec) and initialize a workflow if needed, then run it here to the end')
      .option('--json', 'print the final status as JSON'),
  ).action(async (spec: string, raw: RawWorkerFlags, cmd: Command) => {
    const g = globals(cmd);
    const request = parseWorkerFlags(raw);
    // Everything that can be checked is checked before a workflow is created.
    await prepareOutputDirectory(request.outputDir ?? WORKER_DEFAULTS.outputDir);
    const target = /^[0-9]+$/.test(spec) ? { id: workflowIdArg(spec) } : { spec: await loadSpec(spec) };
    const handle = await openDatabase(g, 1);
    try {
      const workflow = await ensureWorkflow(handle, target);
      const workflowId = workflow.id;
      if (workflow.created && !g.json) logErr(`created workflow ${workflowId}`);
      const stopProgress = startProgress(handle, workflowId);
      let summary: Awaited<ReturnType<typeof runWorker>>;
      try {
        summary = await runWorker(handle.url, workflowId, request, g.debug ?? false);
      } finally {
        await stopProgress();
      }
      const w = await workflowsGet(handle.db, workflowId);
      const ok = w.num_jobs === w.completed && !w.is_canceled;
      if (g.json) {
        printJson({ ...toWorkflowStatus(w), worker: summary, success: ok });
      } else {
        // The jobs that did not complete are listed when they are few (counted first: a
        // workflow may hold a million jobs).
        const notCompleted = w.num_jobs - w.completed;
        const bad =
          notCompleted > 0 && notCompleted <= 20
            ? await jobsList(
                handle.db,
                workflowId,
                JOB_STATUSES.filter((s) => s !== 'completed'),
              )
            : [];
        process.stdout.write(
          `workflow ${workflowId} (${w.name}): ${w.completed}/${w.num_jobs} jobs completed` +
            `${w.failed ? `, ${w.failed} failed` : ''}${w.canceled ? `, ${w.canceled} canceled` : ''}` +
            `${w.terminated ? `, ${w.terminated} terminated` : ''}${w.is_canceled ? ' (workflow canceled)' : ''}\n`,
        );
        if (bad.length > 0 && bad.length <= 20) printTable(bad, ['id', 'name', 'status', 'return_code']);
        if (summary.reason === 'nothing-runnable') logErr('the worker left: no remaining job fits its resources');
      }
      if (!ok) process.exitCode = 1;
    } finally {
      await handle.close();
      exitSoon();
    }
  });
}
