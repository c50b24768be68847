import { sql } from 'kysely';
import { SluiceError } from '../errors.js';
import type { Db } from './row-types.js';

const ROLE_NAME = /^[a-z_][a-z0-9_.-]{0,62}$/;

/**
 * Makes a site user: a login role in sluice_users, whom the API server (sluice_server) may act
 * as. Run by a site admin connected as a role that may create roles. A role that exists already
 * (a site that syncs its users from LDAP) only gets the memberships. No password is set: users
 * authenticate the way the site's pg_hba.conf says (peer, ldap, gss, cert, or a ~/.pgpass).
 */
export async function rolesAddUser(db: Db, name: string): Promise<{ created: boolean }> {
  if (!ROLE_NAME.test(name)) {
    throw new SluiceError(
      'USAGE',
      `user name ${JSON.stringify(name)}: expected a PostgreSQL role name (lower-case letters, digits, _ . -)`,
    );
  }
  return db.transaction().execute(async (trx) => {
    const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${name}`.execute(
      trx,
    );
    const created = (exists.rows[0]?.n ?? 0) === 0;
    if (created) await sql`CREATE ROLE ${sql.id(name)} LOGIN`.execute(trx);
    await sql`GRANT sluice_users TO ${sql.id(name)}`.execute(trx);
    await sql`GRANT ${sql.id(name)} TO sluice_server`.execute(trx);
    return { created };
  });
}

/** The role this connection is, whether it is a site admin, and the database it is in. */
export async function rolesWhoAmI(db: Db): Promise<{ role: string; admin: boolean; database: string }> {
  const r = await sql<{ role: string; admin: boolean; database: string }>`
    SELECT current_user::text AS role, sluice.is_admin() AS admin, current_database()::text AS database`.execute(db);
  return r.rows[0] as { role: string; admin: boolean; database: string };
}
