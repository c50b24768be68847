import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './row-types.js';

/** Tokens are stored as their sha-256: whoever reads the table cannot use what it reads. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface ApiTokenRow {
  id: number;
  owner_role: string;
  name: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** Creates a token for the connected role; the token is returned once and never stored. */
export async function apiTokensCreate(
  db: Db,
  name: string | null,
  expiresInSeconds: number | null,
): Promise<{ token: string; row: ApiTokenRow }> {
  const token = `slc_${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('sluice.api_tokens')
    .values({
      name,
      token_hash: hashToken(token),
      expires_at: expiresInSeconds === null ? null : sql<Date>`now() + make_interval(secs => ${expiresInSeconds})`,
    })
    .returning(['id', 'owner_role', 'name', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'])
    .executeTakeFirstOrThrow();
  return { token, row };
}

/** The connected role's tokens (an admin's query sees every user's). */
export function apiTokensList(db: Db): Promise<ApiTokenRow[]> {
  return db
    .selectFrom('sluice.api_tokens')
    .select(['id', 'owner_role', 'name', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'])
    .orderBy('id')
    .execute();
}

/** Revokes one of the connected role's tokens; false when it has no such token. */
export async function apiTokensRevoke(db: Db, id: number): Promise<boolean> {
  const r = await db
    .updateTable('sluice.api_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** The role a token speaks for, or null (unknown, revoked, expired). Run as the server's role. */
export async function apiTokensAuthenticate(db: Db, token: string): Promise<string | null> {
  const r = await sql<{
    role: string | null;
  }>`SELECT sluice.api_tokens_authenticate(${hashToken(token)}) AS role`.execute(db);
  return r.rows[0]?.role ?? null;
}
