import { migrate, migrationState, openPool, redactUrl, toSluiceError } from '@sluice/core';
import { embeddedServerStatus, stopEmbeddedServer } from '@sluice/embedded';
import type { Command } from 'commander';
import {
  configuredDatabaseUrl,
  type GlobalOptions,
  logErr,
  resolveDatabase,
  resolveEmbeddedDatabase,
} from './cli-context.js';
import { printJson } from './output-format.js';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the database: migrate it, or manage the embedded server');

  db.command('migrate')
    .description('apply pending migrations')
    .option('--json', 'machine output')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { url } = await resolveDatabase(g);
      let ran: string[];
      try {
        ran = await migrate(url, logErr);
      } catch (e) {
        throw toSluiceError(e, url);
      }
      if (g.json) printJson({ applied: ran });
      else process.stdout.write(ran.length ? `applied ${ran.join(', ')}\n` : 'database is up to date\n');
    });

  db.command('start')
    .description('start the embedded PostgreSQL server (and migrate it)')
    .option('--json', 'machine output')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // The embedded server whatever else is configured: this command manages it.
      const { url } = await resolveEmbeddedDatabase(g);
      if (g.json) printJson({ url: redactUrl(url) });
      else process.stdout.write(`embedded PostgreSQL is running: ${redactUrl(url)}\n`);
    });

  db.command('stop')
    .description('stop the embedded PostgreSQL server')
    .option('--json', 'machine output')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const r = await stopEmbeddedServer();
      if (g.json) printJson(r);
      else
        process.stdout.write(r.wasRunning ? 'embedded PostgreSQL stopped\n' : 'embedded PostgreSQL was not running\n');
    });

  db.command('status')
    .description('where the database is, and whether its schema matches this sluice')
    .option('--json', 'machine output')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // Configured by a flag, the environment or a config file (sluice config says which).
      const explicit = configuredDatabaseUrl(g);
      const embedded = explicit ? null : await embeddedServerStatus();
      const url = explicit || embedded?.url;
      const state = url
        ? await withPool(url, migrationState).catch((e) => ({
            error: String((toSluiceError(e, url) as Error).message),
          }))
        : null;
      const shown = url ? redactUrl(url) : null;
      const out = {
        database: explicit ? 'external' : 'embedded',
        url: shown,
        embedded: embedded && { ...embedded, url: embedded.url ? redactUrl(embedded.url) : undefined },
        migrations: state,
      };
      if (g.json) return printJson(out);
      process.stdout.write(`database: ${out.database}${shown ? ` at ${shown}` : ''}\n`);
      if (embedded)
        process.stdout.write(
          `embedded server: ${embedded.running ? `running (pid ${embedded.pid})` : 'stopped'}, data in ${embedded.dataDir}\n`,
        );
      if (state && 'error' in state) process.stdout.write(`schema: ${state.error}\n`);
      else if (state)
        process.stdout.write(
          `schema: ${state.applied.length} migration(s) applied, ${state.pending.length} pending${state.unknown.length ? `, ${state.unknown.length} unknown to this sluice` : ''}\n`,
        );
    });
}

async function withPool<T>(url: string, fn: (h: ReturnType<typeof openPool>) => Promise<T>): Promise<T> {
  const h = openPool(url, { max: 1 });
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}
