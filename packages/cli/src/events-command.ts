import { eventsList } from '@sluice/core';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';

export function registerEventsCommand(program: Command): void {
  program
    .command('events <workflow-id>')
    .description("show a workflow's events")
    .option('--follow', 'keep printing new events until interrupted')
    .option('--json', 'machine output (one JSON object per line)')
    .action(async (id: string, o: { follow?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await withWorkflow(g, id, async (h, workflowId) => {
        let after = 0;
        let stop = false;
        const onSig = () => {
          stop = true;
        };
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        try {
          do {
            const rows = await eventsList(h.db, workflowId, after);
            for (const e of rows) {
              after = e.id;
              if (g.json) process.stdout.write(`${JSON.stringify(e)}\n`);
              else
                process.stdout.write(
                  `${e.created_at.toISOString()}  ${e.kind.padEnd(22)} ${e.job_id ? `job=${e.job_id} ` : ''}${e.worker_id ? `worker=${e.worker_id} ` : ''}${e.data ? JSON.stringify(e.data) : ''}\n`,
                );
            }
            if (o.follow && !stop) await new Promise((r) => setTimeout(r, 500));
          } while (o.follow && !stop);
        } finally {
          process.off('SIGINT', onSig);
          process.off('SIGTERM', onSig);
        }
      });
    });
}
