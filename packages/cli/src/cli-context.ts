import {
  assertMigrated,
  ensureEmbeddedServer,
  migrate,
  migrationState,
  openPool,
  type SluiceDb,
  toSluiceError,
} from '@sluice/core';

export interface GlobalOptions {
  databaseUrl?: string;
  debug?: boolean;
  json?: boolean;
}

export function logErr(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/**
 * Where the database is: --database-url, else SLUICE_DATABASE_URL, else the per-user embedded
 * server (started if needed, and migrated on first use since nobody else administers it).
 */
export async function resolveDatabase(opts: GlobalOptions): Promise<{ url: string; embedded: boolean }> {
  const url = opts.databaseUrl || process.env.SLUICE_DATABASE_URL;
  if (url) return { url, embedded: false };
  const server = await ensureEmbeddedServer({ onProgress: (m) => (opts.json ? undefined : logErr(m)) });
  return { url: server.url, embedded: true };
}

/** Opens the database for any command but `db migrate`, refusing a schema that does not match the code. */
export async function openDatabase(opts: GlobalOptions, poolMax = 2): Promise<SluiceDb> {
  const { url, embedded } = await resolveDatabase(opts);
  const handle = openPool(url, { max: poolMax });
  try {
    if (embedded && (await migrationState(handle)).pending.length > 0) await migrate(url);
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
