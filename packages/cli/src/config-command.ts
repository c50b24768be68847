import { type MigrationState, migrationState, openPool, redactUrl, rolesWhoAmI, toSluiceError } from '@sluice/core';
import { embeddedServerStatus } from '@sluice/embedded';
import type { Command } from 'commander';
import { globals } from './cli-context.js';
import { expandPgService, type PgServiceExpansion } from './config-pg-service.js';
import { describeSource, loadSettings, type Setting } from './config-settings.js';
import { printJson } from './output-format.js';

interface Connection {
  role: string;
  /** a member of sluice_admin; null when the schema is too old to say */
  admin: boolean | null;
  database: string;
  schema: MigrationState;
}

/** redactUrl, and a password given as ?password= too. */
function redact(url: string): string {
  const shown = redactUrl(url);
  try {
    const u = new URL(shown);
    if (!u.searchParams.has('password')) return shown;
    u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return shown;
  }
}

const settingJson = (s: Setting) => ({
  url: s.value === null ? null : redact(s.value),
  source: s.source,
  origin: s.origin,
  overridden: s.overridden,
});

/** Who this connection is. A schema without sluice.is_admin (not migrated yet) still says its role. */
async function whoAmI(url: string): Promise<Connection> {
  const h = openPool(url, { max: 1 });
  try {
    const schema = await migrationState(h);
    try {
      return { ...(await rolesWhoAmI(h.db)), schema };
    } catch (e) {
      if ((e as { code?: string }).code !== '42883' && (e as { code?: string }).code !== '3F000') throw e;
      const r = await h.pool.query<{ role: string; database: string }>(
        'SELECT current_user::text AS role, current_database()::text AS database',
      );
      return { role: r.rows[0]?.role ?? '', database: r.rows[0]?.database ?? '', admin: null, schema };
    }
  } catch (e) {
    throw toSluiceError(e, url);
  } finally {
    await h.close();
  }
}

function schemaLine(s: MigrationState): string {
  if (s.unknown.length > 0) return `ahead of this sluice (${s.unknown.length} unknown migration(s)): upgrade sluice`;
  if (s.pending.length > 0) return `${s.pending.length} migration(s) pending: run \`sluice db migrate\``;
  return 'up to date';
}

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('which database, role and API server sluice uses, and where each setting comes from')
    .option('--json', 'machine output')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const settings = loadSettings({ databaseUrl: g.databaseUrl });
      const db = settings.database;
      let expansion: PgServiceExpansion | null = null;
      let embedded: Awaited<ReturnType<typeof embeddedServerStatus>> | null = null;
      let url: string | null = null;
      if (db.value) {
        expansion = expandPgService(db.value);
        url = expansion.url;
      } else {
        // Only reported: `sluice config` does not start the embedded server.
        embedded = await embeddedServerStatus();
        url = embedded.running && embedded.url ? embedded.url : null;
      }
      let connection: Connection | { error: string } | null = null;
      if (url) {
        try {
          connection = await whoAmI(url);
        } catch (e) {
          connection = { error: e instanceof Error ? e.message : String(e) };
        }
      }
      const failed = connection !== null && 'error' in connection;
      if (failed) process.exitCode = 1;

      if (g.json) {
        return printJson({
          database: {
            ...settingJson(db),
            connects_to: url === null ? null : redact(url),
            service: expansion?.service ?? null,
            embedded: embedded && {
              running: embedded.running,
              data_dir: embedded.dataDir,
              ...(embedded.port ? { port: embedded.port } : {}),
            },
          },
          connection,
          server: settingJson(settings.server),
          files: {
            user: { path: settings.files.user, exists: settings.files.userExists },
            site: { path: settings.files.site, exists: settings.files.siteExists },
          },
        });
      }
      const out: string[] = [];
      const also = (s: Setting) => (s.overridden.length ? [`           overrides ${s.overridden.join(', ')}`] : []);
      if (db.value) {
        out.push(`database:  ${redact(db.value)}  (${describeSource(db)})`, ...also(db));
        if (expansion?.service && url)
          out.push(`           service "${expansion.service.name}" from ${expansion.service.file}: ${redact(url)}`);
      } else {
        const state = embedded?.running
          ? `running at ${redact(embedded.url ?? '')}`
          : 'not running (the first command that needs it starts it)';
        out.push(`database:  embedded server, ${state}  (${describeSource(db)})`);
        out.push(`           data in ${embedded?.dataDir}`);
      }
      if (connection && 'error' in connection) out.push(`connected: no: ${connection.error}`);
      else if (connection) {
        const admin =
          connection.admin === null ? 'admin: unknown' : connection.admin ? 'a site admin' : 'not a site admin';
        out.push(`connected: as ${connection.role} (${admin}) to database ${connection.database}`);
        out.push(`schema:    ${schemaLine(connection.schema)}`);
      }
      const server = settings.server;
      out.push(
        server.value
          ? `server:    ${redact(server.value)}  (${describeSource(server)})`
          : 'server:    none (set SLUICE_SERVER_URL or server_url in a config file)',
        ...also(server),
      );
      const exists = (b: boolean) => (b ? '' : ' (none)');
      out.push(`files:     user ${settings.files.user}${exists(settings.files.userExists)}`);
      out.push(`           site ${settings.files.site}${exists(settings.files.siteExists)}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
