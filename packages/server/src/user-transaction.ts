import { apiTokensAuthenticate, type Database, type Db, type SluiceDb, SluiceError } from '@sluice/core';
import { sql, type Transaction } from 'kysely';
import { unauthenticated } from './problem-details.js';

/** Longest token accepted: Sluice's are 47 characters; a huge header is refused before it is hashed. */
const MAX_TOKEN_LENGTH = 512;

/** The token of an `Authorization: Bearer <token>` header, or null when there is none to try. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  const token = m?.[1];
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}

/**
 * A transaction that the operations can take for a database. An operation that opens a
 * transaction of its own (workflowsCreate, cancelWorkflow) runs its work in this one instead:
 * kysely refuses to nest transactions, and the request's transaction is all-or-nothing already,
 * so the inner one's atomicity holds without a savepoint.
 */
export function asNestable(trx: Transaction<Database>): Db {
  const proxy: Db = new Proxy(trx, {
    get(target, prop) {
      if (prop === 'transaction') return () => ({ execute: <T>(fn: (t: Db) => Promise<T>) => fn(proxy) });
      // Kysely keeps its state in private fields: its methods must run on the real object.
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return proxy;
}

/** Acts as `role` until the transaction ends; row-level security then decides what it sees. */
export async function setLocalRole(trx: Db, role: string): Promise<void> {
  try {
    await sql`SET LOCAL ROLE ${sql.id(role)}`.execute(trx);
  } catch (e) {
    if ((e as { code?: string }).code === '42501') {
      throw new SluiceError(
        'SLUICE_INTERNAL',
        `the server's database role may not act as user ${JSON.stringify(role)} (sluice admin add-user grants that)`,
      );
    }
    throw e;
  }
}

/**
 * Runs fn in ONE transaction as the token's user: the token is authenticated (as the server's
 * role), the role switched with SET LOCAL ROLE, then fn's queries run. `check` runs once the
 * user is known and may throw (a request's validation error: 401 comes before 400). Nothing is
 * filtered by owner here: PostgreSQL's row-level security does that.
 */
export function withUserTransaction<T>(
  handle: SluiceDb,
  token: string | null,
  fn: (h: SluiceDb, role: string) => Promise<T>,
  check?: () => void,
): Promise<T> {
  if (!token) return Promise.reject(unauthenticated());
  return handle.db.transaction().execute(async (trx) => {
    const role = await apiTokensAuthenticate(trx, token);
    if (!role) throw unauthenticated();
    await setLocalRole(trx, role);
    check?.();
    return fn({ ...handle, db: asNestable(trx) }, role);
  });
}
