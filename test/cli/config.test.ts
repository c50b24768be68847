import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfigText } from '../../packages/cli/src/config-file.js';
import { expandPgService } from '../../packages/cli/src/config-pg-service.js';
import { runCli } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';

// Settings come from real files in a temp HOME and a temp site file: flag > environment > user
// file > site file > the embedded default, and every command connects where they say.

const t = useTestDatabase('cli_config');
const user = `cfg_${inject('pgRunId')}_${Math.random().toString(36).slice(2, 7)}`;
const root = mkdtempSync(path.join(os.tmpdir(), 'sluice-config-'));
const home = path.join(root, 'home');
const userFile = path.join(home, '.config/sluice/config.toml');
const siteFile = path.join(root, 'etc/sluice/config.toml');
const embeddedHome = path.join(root, 'embedded');
const baseEnv = {
  HOME: home,
  XDG_CONFIG_HOME: '',
  SLUICE_SITE_CONFIG: siteFile,
  SLUICE_DATABASE_URL: '',
  SLUICE_SERVER_URL: '',
  SLUICE_HOME: embeddedHome,
  PGSERVICEFILE: path.join(home, '.pg_service.conf'),
  PGSYSCONFDIR: path.join(root, 'no-sysconf'),
};

/** The test database's URL as `role`, marked with application_name so that each source is told apart. */
const urlAs = (role: string, mark: string) => {
  const u = new URL(t.url);
  u.username = role;
  u.searchParams.set('application_name', mark);
  return u.toString();
};

function writeConfig(file: string, text: string, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

async function config(env: Record<string, string> = {}, args: string[] = []) {
  const r = await runCli([...args, 'config', '--json'], { env: { ...baseEnv, ...env }, cwd: root });
  return { ...r, json: r.code === 0 || r.stdout.startsWith('{') ? JSON.parse(r.stdout) : null };
}

beforeAll(async () => {
  const made = await runCli(['admin', 'add-user', user], { env: { SLUICE_DATABASE_URL: t.url } });
  expect(made.code, made.stderr).toBe(0);
});

afterAll(async () => {
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  try {
    await c.query(`DROP ROLE IF EXISTS "${user}"`);
  } finally {
    await c.end();
  }
});

describe('sluice config: where each setting comes from', () => {
  it('takes the flag over the environment over the user file over the site file', async () => {
    writeConfig(
      siteFile,
      `# the site's database\ndatabase_url = "${urlAs(user, 'site')}"\nserver_url = "https://sluice.example.org"\n`,
    );
    const site = await config();
    expect(site.code, site.stderr).toBe(0);
    expect(site.json.database).toMatchObject({ source: 'site-file', origin: `${siteFile}:2`, overridden: [] });
    expect(site.json.database.url).toContain('application_name=site');
    expect(site.json.server).toMatchObject({ url: 'https://sluice.example.org/', source: 'site-file' });
    // The role connected as, and that it is not an admin.
    expect(site.json.connection).toMatchObject({ role: user, admin: false, database: t.name });
    expect(site.json.connection.schema.pending).toEqual([]);

    writeConfig(userFile, `database_url = '${urlAs(user, 'user')}'  # mine\n`, 0o600);
    const mine = await config();
    expect(mine.json.database).toMatchObject({
      source: 'user-file',
      origin: `${userFile}:1`,
      overridden: [`${siteFile}:2`],
    });
    expect(mine.json.database.url).toContain('application_name=user');
    expect(mine.json.server.source).toBe('site-file');

    const fromEnv = await config({
      SLUICE_DATABASE_URL: urlAs(user, 'env'),
      SLUICE_SERVER_URL: 'http://127.0.0.1:8080',
    });
    expect(fromEnv.json.database).toMatchObject({
      source: 'environment',
      origin: 'SLUICE_DATABASE_URL',
      overridden: [`${userFile}:1`, `${siteFile}:2`],
    });
    expect(fromEnv.json.server).toMatchObject({ url: 'http://127.0.0.1:8080/', source: 'environment' });

    const flag = await config({ SLUICE_DATABASE_URL: urlAs(user, 'env') }, ['--database-url', urlAs(user, 'flag')]);
    expect(flag.json.database).toMatchObject({ source: 'flag', origin: '--database-url' });
    expect(flag.json.database.url).toContain('application_name=flag');

    const human = await runCli(['config'], { env: baseEnv, cwd: root });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`(user file ${userFile}:1)`);
    expect(human.stdout).toContain(`overrides ${siteFile}:2`);
    expect(human.stdout).toContain(`connected: as ${user} (not a site admin) to database ${t.name}`);
    expect(human.stdout).toContain('server:    https://sluice.example.org/  (site file');
  });

  it('follows $XDG_CONFIG_HOME for the user file', async () => {
    const xdg = path.join(root, 'xdg');
    writeConfig(path.join(xdg, 'sluice/config.toml'), `database_url = "${urlAs(user, 'xdg')}"\n`);
    const r = await config({ XDG_CONFIG_HOME: xdg });
    expect(r.json.database).toMatchObject({ source: 'user-file', origin: `${xdg}/sluice/config.toml:1` });
    expect(r.json.files.user).toEqual({ path: `${xdg}/sluice/config.toml`, exists: true });
  });

  it('is what every command connects to', async () => {
    // Only the user's file names the database: a workflow created through it is in the test
    // database, owned by the file's role, and listed from another directory.
    writeFileSync(path.join(root, 'spec.yaml'), 'name: via_config\njobs:\n  - name: a\n    command: "true"\n');
    const created = await runCli(['workflows', 'create', 'spec.yaml', '--json'], { env: baseEnv, cwd: root });
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout);
    expect(await t.query('SELECT owner_role FROM sluice.workflows WHERE id = $1', [id])).toEqual([
      { owner_role: user },
    ]);
    const r = await runCli(['workflows', 'list', '--json'], { env: baseEnv, cwd: os.tmpdir() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).map((w: { id: number }) => w.id)).toEqual([id]);
    // And a site file alone pointing at a database that does not exist is where they fail.
    const bad = new URL(t.url);
    bad.pathname = '/sluice_no_such_database';
    writeConfig(siteFile, `database_url = "${bad}"\n`);
    const emptyHome = path.join(root, 'empty-home');
    mkdirSync(emptyHome, { recursive: true });
    const failed = await runCli(['workflows', 'list'], { env: { ...baseEnv, HOME: emptyHome } });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^sluice: cannot connect to PostgreSQL at .*\/sluice_no_such_database/);
    const shown = await config({ HOME: emptyHome });
    expect(shown.code).toBe(1);
    expect(shown.json.database.source).toBe('site-file');
    expect(shown.json.connection.error).toMatch(/sluice_no_such_database/);
  });

  it('reports the embedded default without starting it', async () => {
    const r = await config({ HOME: path.join(root, 'nobody'), SLUICE_SITE_CONFIG: path.join(root, 'missing.toml') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.database).toMatchObject({ url: null, source: 'default', embedded: { running: false } });
    expect(r.json.connection).toBeNull();
    expect(r.json.server).toMatchObject({ url: null, source: 'default' });
    expect(r.json.files.site.exists).toBe(false);
    expect(existsSync(path.join(embeddedHome, 'pg', 'PG_VERSION'))).toBe(false);
  });
});

describe('config files are strict', () => {
  it('names file, line and key of an unknown key, for any command (exit 2)', async () => {
    const bad = path.join(root, 'bad-home');
    writeConfig(
      path.join(bad, '.config/sluice/config.toml'),
      `# ok\ndatabase_url = "${urlAs(user, 'x')}"\ndatabse_url = "x"\n`,
    );
    for (const args of [['config'], ['workflows', 'list']]) {
      const r = await runCli(args, { env: { ...baseEnv, HOME: bad } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(
        `sluice: ${bad}/.config/sluice/config.toml:3: unknown key "databse_url" (known: database_url, server_url)\n`,
      );
    }
  });

  it('refuses a URL with a password in a file others can read, and accepts it in a private one', async () => {
    const secret = new URL(urlAs(user, 'pw'));
    secret.password = 'hunter2secret';
    const leaky = path.join(root, 'leaky-home');
    const file = path.join(leaky, '.config/sluice/config.toml');
    writeConfig(file, `database_url = "${secret}"\n`, 0o644);
    const r = await runCli(['workflows', 'list'], { env: { ...baseEnv, HOME: leaky } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `sluice: ${file}:1: a URL with a password in a file others can read (mode 0644); put the password in ~/.pgpass (mode 0600) or make the file private (chmod 600)\n`,
    );
    // The same in the site file (readable by everyone, as it must be).
    writeConfig(siteFile, `database_url = "postgres://${user}:pw@db.example.org/sluice"\n`, 0o644);
    const site = await config({ HOME: path.join(root, 'nobody') });
    expect(site.code).toBe(2);
    expect(site.stderr).toMatch(/config\.toml:1: a URL with a password in a file others can read \(mode 0644\)/);
    writeConfig(siteFile, '# no database here\n');

    chmodSync(file, 0o600);
    const ok = await config({ HOME: leaky });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).not.toContain('hunter2secret');
    expect(ok.json.database.url).toContain(`${user}:***@`);
    expect(ok.json.connection.role).toBe(user);
  });

  it('rejects what is not a key = "string" line, naming file and line', async () => {
    const f = path.join(root, 'syntax.toml');
    const cases: [string, string][] = [
      ['database_url = postgres://x\n', '1: database_url: expected a quoted string'],
      [
        '\n[database]\nurl = "x"\n',
        '2: tables are not supported: set database_url and server_url at the top of the file',
      ],
      ['server_url = "http://a\n', '1: unterminated string'],
      ['server_url = "http://a" "http://b"\n', '1: server_url: unexpected text after the value'],
      ['server_url = "http://a"\nserver_url = "http://b"\n', '2: server_url is set twice (first on line 1)'],
      ['"database_url" = "x"\n', '1: expected key = "value"'],
      ['database_url = """x"""\n', '1: database_url: multi-line strings are not supported'],
      ['database_url = ""\n', '1: database_url: empty; remove the line to use the default'],
    ];
    for (const [text, message] of cases) {
      writeConfig(f, text);
      const r = await runCli(['config'], { env: { ...baseEnv, SLUICE_SITE_CONFIG: f } });
      expect(r.code, text).toBe(2);
      expect(r.stderr, text).toBe(`sluice: ${f}:${message}\n`);
    }
  });

  it('checks the scheme of the winning URL, wherever it came from, without echoing it', async () => {
    const env = { HOME: path.join(root, 'nobody') };
    const r = await runCli(['workflows', 'list'], {
      env: { ...baseEnv, ...env, SLUICE_DATABASE_URL: 'mysql://u:pw@h/db' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sluice: SLUICE_DATABASE_URL: expected a postgres:// or postgresql:// URL\n');
    const f = path.join(root, 'scheme.toml');
    writeConfig(f, 'server_url = "ftp://example.org"\n');
    const s = await runCli(['config'], { env: { ...baseEnv, ...env, SLUICE_SITE_CONFIG: f } });
    expect(s.code).toBe(2);
    expect(s.stderr).toBe(`sluice: ${f}:1: server_url: expected an http:// or https:// URL\n`);
  });

  it('parses escapes and comments as TOML does', () => {
    const v = parseConfigText(
      '\uFEFF# comment\r\n  database_url = "postgres://h/d\\u00e9b?x=\\"1\\""   # trailing\r\nserver_url=\'http://a/\\b\'\n',
      'f.toml',
    );
    expect(v.database_url).toEqual({ value: 'postgres://h/déb?x="1"', file: 'f.toml', line: 2 });
    expect(v.server_url?.value).toBe('http://a/\\b');
  });
});

describe('pg_service.conf', () => {
  it('expands service= in the URL, the URL’s own parameters winning', async () => {
    const db = new URL(t.url);
    writeConfig(
      path.join(home, '.pg_service.conf'),
      `# services\n[other]\nhost=elsewhere\n\n[sluice]\nhost=${db.hostname}\nport=${db.port || 5432}\ndbname=${t.name}\nuser=${user}\napplication_name=from_service\n`,
      0o600,
    );
    writeConfig(userFile, 'database_url = "postgresql:///?service=sluice&application_name=from_url"\n', 0o600);
    const r = await config();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.database.url).toBe('postgresql:///?service=sluice&application_name=from_url');
    expect(r.json.database.service).toEqual({ name: 'sluice', file: path.join(home, '.pg_service.conf') });
    expect(r.json.database.connects_to).toBe(
      `postgresql://${user}@${db.hostname}:${db.port || 5432}/${t.name}?application_name=from_url`,
    );
    expect(r.json.connection).toMatchObject({ role: user, database: t.name });
    const list = await runCli(['workflows', 'list', '--json'], { env: baseEnv });
    expect(list.code, list.stderr).toBe(0);

    writeConfig(userFile, 'database_url = "postgres:///?service=nope"\n', 0o600);
    const missing = await runCli(['workflows', 'list'], { env: baseEnv });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `sluice: database URL: service "nope" is not defined in ${path.join(home, '.pg_service.conf')} or ${path.join(root, 'no-sysconf', 'pg_service.conf')}\n`,
    );
  });

  it('reads the system file only when the user file lacks the service, and keeps socket directories', () => {
    const sys = path.join(root, 'sysconf');
    writeConfig(path.join(sys, 'pg_service.conf'), '[site]\nhost=/var/run/postgresql\nport=5433\ndbname=sluice\n');
    const env = { PGSERVICEFILE: path.join(root, 'none.conf'), PGSYSCONFDIR: sys };
    expect(expandPgService('postgres:///?service=site', env)).toEqual({
      url: 'postgres:///sluice?host=%2Fvar%2Frun%2Fpostgresql&port=5433',
      service: { name: 'site', file: path.join(sys, 'pg_service.conf') },
    });
    expect(expandPgService('postgres://db.example.org/x', env).service).toBeNull();
  });
});
