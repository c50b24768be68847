import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { isErrorCode, SluiceError } from '../errors.js';
import type { DB as Database } from './database-types.js';

// Ids and counts are bigint in SQL but stay far below 2^53: numbers are what the rest of the
// code and JSON output want.
const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;
// Intervals stay text (e.g. "00:01:00"): nothing computes with them in TypeScript.
const INTERVAL_OID = 1186;
const parseInt8Array = pg.types.getTypeParser(INT8_ARRAY_OID as never) as (v: string) => unknown;
const typeOverrides = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (v: string) => Number(v);
    if (oid === (INT8_ARRAY_OID as number)) return (v: string) => (parseInt8Array(v) as string[]).map(Number);
    if (oid === INTERVAL_OID) return (v: string) => v;
    return pg.types.getTypeParser(oid, format);
  },
};

export interface SluiceDb {
  db: Kysely<Database>;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

export interface OpenPoolOptions {
  max?: number;
  applicationName?: string;
}

export function pgClientConfig(url: string, applicationName = 'sluice'): pg.ClientConfig {
  return { connectionString: url, application_name: applicationName, types: typeOverrides };
}

/** A pool and a kysely instance over it. No query is sent until one is needed. */
export function openPool(url: string, opts: OpenPoolOptions = {}): SluiceDb {
  const pool = new pg.Pool({ ...pgClientConfig(url, opts.applicationName), max: opts.max ?? 4 });
  // A client that loses its server (idle in the pool, or checked out between two queries) must
  // not crash the process with an unhandled 'error' event; its next query fails and the pool
  // replaces it.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    url,
    close: () => db.destroy(),
  };
}

/** The URL with its password replaced, for printing. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured database';
  }
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/**
 * The connection went away or could not be made (a restart, pg_terminate_backend, a reset
 * network): trying again on a new connection may well succeed, unlike any other error.
 */
export function isConnectionLoss(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  // connection_exception, admin_shutdown, crash_shutdown, cannot_connect_now
  if (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code)) return true;
  const message = typeof err?.message === 'string' ? err.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message);
}

/** Turns errors from pg into SluiceErrors where they have a user-facing meaning. */
export function toSluiceError(e: unknown, url?: string): unknown {
  if (e instanceof SluiceError) return e;
  const err = e as { code?: string; hint?: string; message?: string; errors?: unknown[] };
  // SQL raises the registry's codes in the HINT (test/schema checks that each one is registered).
  if (isErrorCode(err?.hint)) return new SluiceError(err.hint, err.message);
  const connectCodes = [
    'ECONNREFUSED',
    'ENOTFOUND',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ECONNRESET',
    '3D000',
    '28P01',
    '28000',
  ];
  const code = err?.code ?? (err?.errors?.[0] as { code?: string } | undefined)?.code;
  if (code && connectCodes.includes(code)) {
    const where = url ? ` at ${describeUrl(url)}` : '';
    const reason = err.message || code;
    return new SluiceError('DB_CONNECT_FAILED', `cannot connect to PostgreSQL${where}: ${reason}`);
  }
  // insufficient_privilege: a grant the connected role lacks (the site's roles decide, see
  // docs/site-guide.md); PostgreSQL's own message names what was refused.
  if (code === '42501') {
    const who = url ? ` (connected to ${describeUrl(url)})` : '';
    return new SluiceError('PERMISSION_DENIED', `${err.message}${who}: see sluice config for the role in use`);
  }
  return e;
}
