import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli-runner.js';
import { databaseUrl } from '../support/test-database.js';

// docs/site-guide.md, done as a site would: a database owned by a role that is no superuser,
// migrated by it, an admin that may create roles adding users, one site config file without
// user or password (each process connects as its login name, $USER), and a user running a
// workflow from their own directory.

const suffix = `${inject('pgRunId')}_${Math.random().toString(36).slice(2, 7)}`;
const owner = `owner_${suffix}`;
const dba = `dba_${suffix}`;
const carol = `carol_${suffix}`;
const boss = `boss_${suffix}`;
const dbName = `sluice_site_${suffix}`;
const root = mkdtempSync(path.join(os.tmpdir(), 'sluice-site-setup-'));
const siteFile = path.join(root, 'etc/sluice/config.toml');

async function superuser<T extends pg.QueryResultRow>(sql: string, db = 'postgres', values: unknown[] = []) {
  const c = new pg.Client({ connectionString: databaseUrl(db) });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

/** sluice as login user `user`: only the site file says where the database is. */
const as = (user: string, cwd = root) => ({
  cwd,
  env: {
    USER: user,
    HOME: path.join(root, 'home', user),
    XDG_CONFIG_HOME: '',
    SLUICE_SITE_CONFIG: siteFile,
    SLUICE_DATABASE_URL: '',
    PGUSER: '',
  },
});

beforeAll(async () => {
  // As the guide's superuser steps.
  await superuser(`CREATE ROLE "${owner}" LOGIN`);
  // The admin who adds users: may create roles, and is in sluice_admin (so sees the schema).
  await superuser(`CREATE ROLE "${dba}" LOGIN CREATEROLE IN ROLE sluice_admin`);
  await superuser(`CREATE DATABASE "${dbName}" OWNER "${owner}"`);
  await superuser(`REVOKE ALL ON DATABASE "${dbName}" FROM PUBLIC`);
  await superuser(`GRANT CONNECT ON DATABASE "${dbName}" TO sluice_users, sluice_admin, sluice_server`);
  const u = new URL(databaseUrl(dbName));
  u.username = '';
  u.password = '';
  mkdirSync(path.dirname(siteFile), { recursive: true });
  writeFileSync(siteFile, `# the site's database: no user, no password\ndatabase_url = "${u}"\n`);
});

afterAll(async () => {
  await superuser(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  for (const r of [carol, boss, dba, owner]) await superuser(`DROP ROLE IF EXISTS "${r}"`);
});

describe('a site set up as docs/site-guide.md says', () => {
  it('the owner role migrates; a role with CREATEROLE adds users; users work from their own directory', async () => {
    const migrated = await runCli(['db', 'migrate'], as(owner));
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^applied 0001_core-schema, /);

    for (const user of [carol, boss]) {
      const added = await runCli(['admin', 'add-user', user], as(dba));
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toBe(`created user ${user} (member of sluice_users)\n`);
    }
    await superuser(`GRANT sluice_admin TO "${boss}"`);

    const work = path.join(root, 'work');
    mkdirSync(work);
    writeFileSync(path.join(work, 'spec.yaml'), 'name: mine\njobs:\n  - name: hello\n    command: echo hi > hi.txt\n');
    const run = await runCli(['run', 'spec.yaml', '--output-dir', 'out', '--json'], as(carol, work));
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ owner: carol, success: true });
    expect(readFileSync(path.join(work, 'hi.txt'), 'utf8')).toBe('hi\n');

    const who = JSON.parse((await runCli(['config', '--json'], as(carol))).stdout);
    expect(who.database).toMatchObject({ source: 'site-file', origin: `${siteFile}:2` });
    expect(who.connection).toMatchObject({ role: carol, admin: false, database: dbName });
    const chief = JSON.parse((await runCli(['config', '--json'], as(boss))).stdout);
    expect(chief.connection).toMatchObject({ role: boss, admin: true });
    const seen = JSON.parse((await runCli(['workflows', 'list', '--json'], as(boss))).stdout);
    expect(seen.map((w: { owner: string }) => w.owner)).toEqual([carol]);
  });

  it('the owner is no superuser and owns the tables; the API server may act as each user', async () => {
    const [r] = await superuser<{ su: boolean; tables: number; others: number; server_is_carol: boolean }>(
      `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = $1) AS su,
              count(*) FILTER (WHERE pg_get_userbyid(c.relowner) = $1)::int AS tables,
              count(*) FILTER (WHERE pg_get_userbyid(c.relowner) <> $1)::int AS others,
              pg_has_role('sluice_server', $2, 'MEMBER') AS server_is_carol
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'sluice' AND c.relkind IN ('r', 'v')`,
      dbName,
      [owner, carol],
    );
    expect(r).toEqual({ su: false, tables: expect.any(Number), others: 0, server_is_carol: true });
    expect(r?.tables).toBeGreaterThan(20);
  });

  it('has SECURITY DEFINER functions with pinned search_paths only for the token lookup (the server may run it), the ANALYZE after bulk writes (users may), and the set-wise reference checks and cascades (triggers only)', async () => {
    const rows = await superuser<{
      fn: string;
      owner: string;
      config: string[];
      public_exec: boolean;
      server: boolean;
      users: boolean;
    }>(
      `SELECT p.oid::regprocedure::text AS fn, pg_get_userbyid(p.proowner) AS owner, p.proconfig AS config,
              has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec,
              has_function_privilege('sluice_server', p.oid, 'EXECUTE') AS server,
              has_function_privilege('sluice_users', p.oid, 'EXECUTE') AS users
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'sluice' AND p.prosecdef
        ORDER BY 1`,
      dbName,
    );
    expect(rows).toEqual([
      {
        fn: 'sluice.api_tokens_authenticate(bytea)',
        owner,
        config: ['search_path=pg_catalog, pg_temp'],
        public_exec: false,
        server: true,
        users: false,
      },
      {
        fn: 'sluice.tables_analyze(text[],bigint[])',
        owner,
        config: ['search_path=pg_catalog, pg_temp'],
        public_exec: false,
        server: false,
        users: true,
      },
      // Migration 0011: in place of foreign keys, run as the owner as a foreign key's queries are.
      ...[
        'sluice.tg_job_dependencies__check_jobs()',
        'sluice.tg_jobs__delete_links()',
        'sluice.tg_workflow_action_jobs__check_refs()',
        'sluice.tg_workflow_actions__delete_members()',
        'sluice.tg_workflows__delete_jobs()',
      ].map((fn) => ({
        fn,
        owner,
        config: ['search_path=pg_catalog, pg_temp', ...(fn.includes('check') ? ['jit=off'] : [])],
        public_exec: false,
        server: false,
        users: false,
      })),
    ]);
  });
});
