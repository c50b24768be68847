import { eventsList } from '@sluice/core';
import type { Command } from 'commander';
import { globals, withWorkflow } from './cli-context.js';
import { parsePageFlags, type RawPageFlags } from './cli-options.js';
import { writeOut } from './paged-output.js';

/** Events a person sees without --limit or --follow. */
const HUMAN_DEFAULT_LIMIT = 100;
/** How often --follow looks for new events. */
const FOLLOW_POLL_MS = 500;
/** Events read per query (the repository's own page). */
const EVENTS_PAGE = 10_000;

type EventRow = Awaited<ReturnType<typeof eventsList>>[number];

function humanLine(e: EventRow): string {
  return (
    `${e.created_at.toISOString()}  ${e.kind.padEnd(22)} ${e.job_id ? `job=${e.job_id} ` : ''}` +
    `${e.worker_id ? `worker=${e.worker_id} ` : ''}${e.data ? JSON.stringify(e.data) : ''}\n`
  );
}

export function registerEventsCommand(program: Command): void {
  program
    .command('events <workflow-id>')
    .description("show a workflow's events, oldest first")
    .option('--follow', 'keep printing new events until interrupted')
    .option('--limit <n>', 'at most n events (default: all with --json or --follow, 100 otherwise)')
    .option('--after <event-id>', 'only events with a higher id')
    .option('--json', 'machine output (one JSON object per line)')
    .action(async (id: string, o: RawPageFlags & { follow?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const page = parsePageFlags(o);
      const human = !g.json && !o.follow;
      const target = page.limit ?? (human ? HUMAN_DEFAULT_LIMIT : Number.POSITIVE_INFINITY);
      let after = page.after ?? 0;
      let printed = 0;
      await withWorkflow(g, id, async (h, workflowId) => {
        let stop = false;
        const onSig = () => {
          stop = true;
        };
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        try {
          while (!stop && printed < target) {
            const want = Math.min(target - printed, EVENTS_PAGE);
            const rows = await eventsList(h.db, workflowId, { after, limit: want });
            for (const e of rows) await writeOut(g.json ? `${JSON.stringify(e)}\n` : humanLine(e));
            printed += rows.length;
            after = rows.at(-1)?.id ?? after;
            // A full page: more may be there already.
            if (rows.length === want) continue;
            if (!o.follow) break;
            await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
          }
          if (human && printed === target) {
            const more = await eventsList(h.db, workflowId, { after, limit: 1 });
            if (more.length > 0)
              process.stderr.write(
                `showing ${printed} events; more follow: --after ${after} for the next page, ` +
                  '--limit N for longer pages, --json for all\n',
              );
          }
        } finally {
          process.off('SIGINT', onSig);
          process.off('SIGTERM', onSig);
        }
      });
    });
}
