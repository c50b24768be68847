import { type SluiceDb, SluiceError } from '@sluice/core';
import { sql } from 'kysely';

/**
 * Refuses to serve from a role that could authenticate no token: every request would fail. On a
 * site that is a member of sluice_server; on a personal database its owner (a superuser). Read
 * from the catalog, which every role may: a role without grants cannot even name the schema.
 * A database without the function is left to the migration check.
 */
export async function assertServerRole(handle: SluiceDb): Promise<string> {
  const r = await sql<{ role: string; present: boolean; may: boolean }>`
    SELECT current_user::text AS role, p.oid IS NOT NULL AS present,
           coalesce(has_function_privilege(p.oid, 'EXECUTE'), false) AS may
      FROM (SELECT 1) one
      LEFT JOIN pg_proc p ON p.proname = 'api_tokens_authenticate'
                          AND p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'sluice')`.execute(
    handle.db,
  );
  const row = r.rows[0];
  if (row?.present && !row.may) {
    throw new SluiceError(
      'USAGE',
      `role ${JSON.stringify(row.role)} may not authenticate API tokens: connect the server as a member of sluice_server (GRANT sluice_server TO ${row.role})`,
    );
  }
  return row?.role ?? '?';
}
