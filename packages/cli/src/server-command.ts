import { assertMigrated, openPool, SluiceError, toSluiceError } from '@sluice/core';
import type { SluiceApp } from '@sluice/server';
import type { Command } from 'commander';
import { z } from 'zod';
import { globals, logErr, resolveDatabase } from './cli-context.js';
import { parseFlag } from './cli-options.js';
import { exitSoon } from './worker-command.js';

const Port = z
  .string()
  .regex(/^[0-9]{1,5}$/, 'expected a TCP port (0 for any free one)')
  .transform(Number)
  .refine((n) => n <= 65_535, 'expected a TCP port of at most 65535');
const Host = z.string().min(1, 'expected a host name or address');

/** Connections the API may use at once: each request holds one for its transaction. */
const POOL_SIZE = 10;

const urlOf = (address: string, port: number) => `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('serve the HTTP API (clients authenticate with `sluice tokens create` tokens; see docs/api.md)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port to listen on (0: any free port)', '8080')
    .action(async (o: { host: string; port: string }, cmd: Command) => {
      const g = globals(cmd);
      const host = parseFlag(Host, '--host', o.host);
      const port = parseFlag(Port, '--port', o.port);
      const { url: databaseUrl } = await resolveDatabase(g);
      const handle = openPool(databaseUrl, { max: POOL_SIZE, applicationName: 'sluice-server' });
      let app: SluiceApp | undefined;
      try {
        // Loaded on demand: fastify and its plugins are for this command only.
        const { assertServerRole, buildApp } = await import('@sluice/server');
        // The role first: one without grants cannot even read the schema's version.
        const role = await assertServerRole(handle).catch((e) => {
          throw toSluiceError(e, databaseUrl);
        });
        await assertMigrated(handle).catch((e) => {
          throw toSluiceError(e, databaseUrl);
        });
        app = buildApp({ db: handle, logger: g.debug ?? false, log: (m) => logErr(`[server] ${m}`) });
        try {
          await app.listen({ host, port });
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
          throw new SluiceError('USAGE', `cannot listen on ${urlOf(host, port)}: ${why}`);
        }
        const address = app.server.address();
        const url = typeof address === 'object' && address ? urlOf(address.address, address.port) : String(address);
        logErr(`sluice server listening on ${url} (database role ${role}; API at ${url}/api/v1, docs at ${url}/docs)`);
        const signal = await stopSignal();
        logErr(`received ${signal}: stopping (finishing requests in flight)`);
        const closing = app;
        app = undefined;
        await closing.close();
        logErr('sluice server stopped');
      } finally {
        await app?.close();
        await handle.close();
      }
      exitSoon();
    });
}

/** The first SIGTERM or SIGINT; a second one ends the process at once. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', first);
      process.off('SIGINT', first);
      const again = (s: NodeJS.Signals) => {
        logErr(`received ${s} again: exiting without waiting`);
        process.exit(1);
      };
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      resolve(sig);
    };
    process.on('SIGTERM', first);
    process.on('SIGINT', first);
  });
}
