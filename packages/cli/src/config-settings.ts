import os from 'node:os';
import path from 'node:path';
import { SluiceError } from '@sluice/core';
import { type ConfigFile, type ConfigKey, readConfigFile } from './config-file.js';

/**
 * Where sluice's settings come from, first match wins: a flag, the environment
 * (SLUICE_DATABASE_URL, SLUICE_SERVER_URL), the user's file ($XDG_CONFIG_HOME/sluice/config.toml,
 * else ~/.config/sluice/config.toml), the site's file (/etc/sluice/config.toml, or
 * $SLUICE_SITE_CONFIG), else the default: the embedded server for the database, none for the
 * API server.
 */
export type SettingSource = 'flag' | 'environment' | 'user-file' | 'site-file' | 'default';

export interface Setting {
  value: string | null;
  source: SettingSource;
  /** exactly where: --database-url, SLUICE_DATABASE_URL, /path/config.toml:3, or the default's name */
  origin: string;
  /** places of lower precedence that set it too */
  overridden: string[];
}

export interface SluiceSettings {
  database: Setting;
  server: Setting;
  files: { user: string; site: string; userExists: boolean; siteExists: boolean };
}

export interface SettingFlags {
  databaseUrl?: string;
  serverUrl?: string;
}

export const SITE_CONFIG_FILE = '/etc/sluice/config.toml';

export function configFilePaths(env: NodeJS.ProcessEnv = process.env): { user: string; site: string } {
  // XDG: a relative XDG_CONFIG_HOME is invalid and ignored.
  const xdg = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : null;
  return {
    user: path.join(xdg ?? path.join(os.homedir(), '.config'), 'sluice', 'config.toml'),
    site: env.SLUICE_SITE_CONFIG || SITE_CONFIG_FILE,
  };
}

/** A password in a URL: user:password@ or ?password=. */
export function urlHasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || u.searchParams.has('password');
  } catch {
    return /:[^/@:]*[^/@:]@|[?&]password=/.test(url);
  }
}

/** Files that others may read must hold no password: ~/.pgpass (mode 0600) is the place for it. */
function refuseReadablePasswords(file: ConfigFile): void {
  if ((file.mode & 0o044) === 0) return;
  for (const entry of Object.values(file.values)) {
    if (entry && urlHasPassword(entry.value)) {
      const mode = file.mode.toString(8).padStart(4, '0');
      throw new SluiceError(
        'USAGE',
        `${entry.file}:${entry.line}: a URL with a password in a file others can read (mode ${mode}); put the password in ~/.pgpass (mode 0600) or make the file private (chmod 600)`,
      );
    }
  }
}

const SCHEMES: Record<ConfigKey, { protocols: string[]; expected: string }> = {
  database_url: { protocols: ['postgres:', 'postgresql:'], expected: 'a postgres:// or postgresql:// URL' },
  server_url: { protocols: ['http:', 'https:'], expected: 'an http:// or https:// URL' },
};

function checkUrl(key: ConfigKey, where: string, value: string): void {
  let protocol: string | null = null;
  try {
    protocol = new URL(value).protocol;
  } catch {
    // reported below, without the value: it may hold a password
  }
  if (protocol === null || !SCHEMES[key].protocols.includes(protocol))
    throw new SluiceError('USAGE', `${where}: expected ${SCHEMES[key].expected}`);
}

interface Candidate {
  value: string;
  source: SettingSource;
  origin: string;
  where: string;
}

function resolveOne(key: ConfigKey, candidates: Candidate[], fallback: { value: string | null; origin: string }) {
  const [winner, ...rest] = candidates;
  if (!winner) return { value: fallback.value, source: 'default', origin: fallback.origin, overridden: [] } as Setting;
  checkUrl(key, winner.where, winner.value);
  return { value: winner.value, source: winner.source, origin: winner.origin, overridden: rest.map((c) => c.origin) };
}

export function loadSettings(flags: SettingFlags = {}, env: NodeJS.ProcessEnv = process.env): SluiceSettings {
  const paths = configFilePaths(env);
  const user = readConfigFile(paths.user);
  const site = readConfigFile(paths.site);
  for (const f of [user, site]) if (f) refuseReadablePasswords(f);

  const gather = (key: ConfigKey, flag: string | undefined, flagName: string, envName: string): Candidate[] => {
    const out: Candidate[] = [];
    if (flag) out.push({ value: flag, source: 'flag', origin: flagName, where: flagName });
    const fromEnv = env[envName];
    if (fromEnv) out.push({ value: fromEnv, source: 'environment', origin: envName, where: envName });
    for (const [f, source] of [
      [user, 'user-file'],
      [site, 'site-file'],
    ] as const) {
      const e = f?.values[key];
      if (e) out.push({ value: e.value, source, origin: `${e.file}:${e.line}`, where: `${e.file}:${e.line}: ${key}` });
    }
    return out;
  };

  return {
    database: resolveOne(
      'database_url',
      gather('database_url', flags.databaseUrl, '--database-url', 'SLUICE_DATABASE_URL'),
      { value: null, origin: 'the embedded server' },
    ),
    server: resolveOne('server_url', gather('server_url', flags.serverUrl, '--server-url', 'SLUICE_SERVER_URL'), {
      value: null,
      origin: 'none',
    }),
    files: { user: paths.user, site: paths.site, userExists: user !== null, siteExists: site !== null },
  };
}

/** How a setting's source reads in `sluice config`: `user file /home/a/.config/sluice/config.toml:2`. */
export function describeSource(s: Setting): string {
  switch (s.source) {
    case 'flag':
      return `flag ${s.origin}`;
    case 'environment':
      return `environment ${s.origin}`;
    case 'user-file':
      return `user file ${s.origin}`;
    case 'site-file':
      return `site file ${s.origin}`;
    default:
      return 'default';
  }
}
