import {
  assertMigrated,
  migrate,
  migrationState,
  openPool,
  type SluiceDb,
  toSluiceError,
  workflowsGet,
} from '@sluice/core';
import { ensureEmbeddedServer } from '@sluice/embedded';
import type { Command } from 'commander';
import { parseFlag, WorkflowId } from './cli-options.js';
import { expandPgService } from './config-pg-service.js';
import { loadSettings, type Setting } from './config-settings.js';

export interface GlobalOptions {
  databaseUrl?: string;
  debug?: boolean;
  json?: boolean;
}

export const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

export const workflowIdArg = (id: string): number => parseFlag(WorkflowId, 'workflow-id', id);

export function logErr(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/**
 * The configured database, before anything connects: --database-url, else SLUICE_DATABASE_URL,
 * else the user's config file, else the site's (see config-settings.ts); value null means the
 * embedded server. Config files are read, and refused when broken, by every command that
 * reaches a database.
 */
export function databaseSetting(opts: GlobalOptions): Setting {
  return loadSettings({ databaseUrl: opts.databaseUrl }).database;
}

/** The per-user embedded server, started if needed and migrated on first use (nobody else administers it). */
export async function resolveEmbeddedDatabase(opts: GlobalOptions): Promise<{ url: string; embedded: true }> {
  const server = await ensureEmbeddedServer({ onProgress: (m) => (opts.json ? undefined : logErr(m)) });
  const check = openPool(server.url, { max: 1 });
  try {
    if ((await migrationState(check)).pending.length > 0) await migrate(server.url);
  } catch (e) {
    throw toSluiceError(e, server.url);
  } finally {
    await check.close();
  }
  return { url: server.url, embedded: true };
}

/**
 * Where the database is (databaseSetting), as a URL node-postgres can use: a `service=` in it
 * is expanded from pg_service.conf. Without any setting, the embedded server.
 */
export async function resolveDatabase(opts: GlobalOptions): Promise<{ url: string; embedded: boolean }> {
  const url = configuredDatabaseUrl(opts);
  if (url) return { url, embedded: false };
  return resolveEmbeddedDatabase(opts);
}

/** The configured database's URL, ready to connect to; null when none is configured (the embedded server). */
export function configuredDatabaseUrl(opts: GlobalOptions): string | null {
  const setting = databaseSetting(opts);
  return setting.value ? expandPgService(setting.value).url : null;
}

/** Opens the database for any command but `db migrate`, refusing a schema that does not match the code. */
export async function openDatabase(opts: GlobalOptions, poolMax = 2): Promise<SluiceDb> {
  const { url } = await resolveDatabase(opts);
  const handle = openPool(url, { max: poolMax });
  try {
    await assertMigrated(handle);
  } catch (e) {
    await handle.close();
    throw toSluiceError(e, url);
  }
  return handle;
}

export async function withDatabase<T>(opts: GlobalOptions, fn: (h: SluiceDb) => Promise<T>): Promise<T> {
  const handle = await openDatabase(opts);
  try {
    return await fn(handle);
  } catch (e) {
    throw toSluiceError(e, handle.url);
  } finally {
    await handle.close();
  }
}

/** Runs fn for an existing workflow: a missing one is reported by name, not as an empty list. */
export function withWorkflow<T>(
  g: GlobalOptions,
  id: string,
  fn: (h: SluiceDb, workflowId: number) => Promise<T>,
): Promise<T> {
  const workflowId = workflowIdArg(id);
  return withDatabase(g, async (h) => {
    await workflowsGet(h.db, workflowId);
    return fn(h, workflowId);
  });
}
