import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { SluiceError } from '../errors.js';
import type { SluiceDb } from './connection.js';

/**
 * db/migrations at the repository root, found by walking up from this module: it runs from
 * packages/core/src, packages/core/dist and the bundled CLI in packages/cli/dist.
 */
function findMigrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'db', 'migrations');
    if (existsSync(path.join(candidate, '0001_core-schema.sql'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('internal: db/migrations not found above the sluice installation');
    dir = parent;
  }
}

export const MIGRATIONS_DIR = findMigrationsDir();
export const MIGRATIONS_SCHEMA = 'sluice';
export const MIGRATIONS_TABLE = 'migrations';

export function codeMigrations(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -'.sql'.length))
    .sort();
}

export async function appliedMigrations(handle: SluiceDb): Promise<string[] | null> {
  const exists = await sql<{ t: string | null }>`SELECT to_regclass('sluice.migrations')::text AS t`.execute(handle.db);
  if (!exists.rows[0]?.t) return null;
  const rows = await handle.db.selectFrom('sluice.migrations').select('name').orderBy('id').execute();
  return rows.map((r) => r.name);
}

export interface MigrationState {
  applied: string[];
  pending: string[];
  unknown: string[];
}

export async function migrationState(handle: SluiceDb): Promise<MigrationState> {
  const applied = (await appliedMigrations(handle)) ?? [];
  const code = codeMigrations();
  return {
    applied,
    pending: code.filter((m) => !applied.includes(m)),
    unknown: applied.filter((m) => !code.includes(m)),
  };
}

/** Every command but `db migrate` refuses a database whose schema does not match the code. */
export async function assertMigrated(handle: SluiceDb): Promise<void> {
  const state = await migrationState(handle);
  if (state.unknown.length > 0) {
    throw new SluiceError(
      'DB_AHEAD_OF_CODE',
      `the database has migration ${state.unknown[0]} that this sluice does not know; upgrade sluice`,
    );
  }
  if (state.pending.length > 0) {
    throw new SluiceError(
      'DB_NOT_MIGRATED',
      `the database is ${state.pending.length} migration(s) behind; run \`sluice db migrate\``,
    );
  }
}

/** Applies pending migrations under node-pg-migrate's advisory lock, so concurrent first uses are safe. */
export async function migrate(url: string, log: (msg: string) => void = () => {}): Promise<string[]> {
  // Loaded on demand: node-pg-migrate pulls in glob and jiti, which only `db migrate` needs.
  const { runner } = await import('node-pg-migrate');
  const ran = await runner({
    databaseUrl: url,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    migrationsSchema: MIGRATIONS_SCHEMA,
    createMigrationsSchema: true,
    direction: 'up',
    checkOrder: true,
    singleTransaction: true,
    log: () => {},
    logger: { debug: () => {}, info: () => {}, warn: log, error: log },
  });
  return ran.map((m) => m.name);
}
