import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SluiceError } from '@sluice/core';

/**
 * `service=NAME` in a database URL, as libpq reads it: the connection parameters of section
 * [NAME] of pg_service.conf. node-postgres does not read service files, so Sluice expands the
 * service into the URL before connecting. Like libpq: the user's file (PGSERVICEFILE, else
 * ~/.pg_service.conf) is searched first and, if it defines the service, alone; then the
 * system's (PGSYSCONFDIR/pg_service.conf, else the Debian and RPM locations); parameters given
 * in the URL itself win over the service's.
 */
export interface PgServiceExpansion {
  url: string;
  service: { name: string; file: string } | null;
}

const SYSTEM_SERVICE_FILES = ['/etc/postgresql-common/pg_service.conf', '/etc/sysconfig/pgsql/pg_service.conf'];

export function pgServiceFiles(env: NodeJS.ProcessEnv = process.env): { user: string; system: string[] } {
  return {
    user: env.PGSERVICEFILE || path.join(os.homedir(), '.pg_service.conf'),
    system: env.PGSYSCONFDIR ? [path.join(env.PGSYSCONFDIR, 'pg_service.conf')] : SYSTEM_SERVICE_FILES,
  };
}

/** Section NAME of a service file, or null when the file or the section does not exist. */
export function readPgService(file: string, name: string): Map<string, string> | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new SluiceError('USAGE', `${file}: cannot read the service file: ${(e as Error).message}`);
  }
  let section: string | null = null;
  let found: Map<string, string> | null = null;
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      if (section === name && !found) found = new Map();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new SluiceError('USAGE', `${file}:${index + 1}: syntax error in the service file`);
    if (section !== name || !found) continue;
    const key = line.slice(0, eq).trim();
    if (key === 'service')
      throw new SluiceError('USAGE', `${file}:${index + 1}: a service may not name another service`);
    found.set(key, line.slice(eq + 1).trim());
  }
  return found;
}

function findService(name: string, env: NodeJS.ProcessEnv): { file: string; params: Map<string, string> } {
  const files = pgServiceFiles(env);
  for (const file of [files.user, ...files.system]) {
    const params = readPgService(file, name);
    if (params) return { file, params };
  }
  throw new SluiceError(
    'USAGE',
    `database URL: service "${name}" is not defined in ${[files.user, ...files.system].join(' or ')}`,
  );
}

/** The URL with its service's parameters filled in; a URL without `service=` comes back as it is. */
export function expandPgService(url: string, env: NodeJS.ProcessEnv = process.env): PgServiceExpansion {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, service: null };
  }
  const name = u.searchParams.get('service');
  if (name === null) return { url, service: null };
  const { file, params } = findService(name, env);
  const query = new URLSearchParams(u.searchParams);
  query.delete('service');
  const take = (key: string) => {
    const v = params.get(key);
    params.delete(key);
    return v;
  };
  const dec = (s: string) => decodeURIComponent(s);
  let host = u.host;
  const serviceHost = take('host') ?? take('hostaddr');
  take('hostaddr');
  if (!host && !query.has('host') && serviceHost) {
    // A socket directory goes in the query, where node-postgres reads it.
    if (serviceHost.startsWith('/')) query.set('host', serviceHost);
    else host = serviceHost;
  }
  const servicePort = take('port');
  if (servicePort && !u.port) {
    if (host) host = `${host}:${servicePort}`;
    else if (!query.has('port')) query.set('port', servicePort);
  }
  const user = u.username ? dec(u.username) : take('user');
  const password = u.password ? dec(u.password) : take('password');
  const dbPath = u.pathname.replace(/^\//, '');
  const dbname = dbPath ? dec(dbPath) : take('dbname');
  take('user');
  take('password');
  take('dbname');
  for (const [k, v] of params) if (!query.has(k)) query.set(k, v);
  const auth = user ? `${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}@` : '';
  const search = query.toString();
  const expanded = `${u.protocol}//${auth}${host}/${dbname ? encodeURIComponent(dbname) : ''}${search ? `?${search}` : ''}`;
  return { url: expanded, service: { name, file } };
}
