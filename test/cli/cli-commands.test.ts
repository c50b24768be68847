import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli-runner.js';
import { databaseUrl, useTestDatabase } from '../support/test-database.js';

const t = useTestDatabase('cli_commands');
const env = () => ({ SLUICE_DATABASE_URL: t.url });
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-cli-'));

function spec(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const DIAMOND = `name: diamond
jobs:
  - name: top
    command: echo top
  - name: left
    command: echo left
    depends_on: [top]
  - name: right
    command: "false"
    depends_on: [top]
    cancel_on_blocking_job_failure: false
  - name: bottom
    command: echo bottom
    depends_on: [left, right]
    cancel_on_blocking_job_failure: false
`;

describe('sluice CLI', { timeout: 180_000 }, () => {
  it('run creates, initializes and runs a spec, exiting 1 when a job failed', async () => {
    const r = await runCli(['run', spec('diamond.yaml', DIAMOND), '--json', '--poll-interval', '60'], {
      env: env(),
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ name: 'diamond', is_complete: true, success: false });
    expect(out.job_counts).toMatchObject({ completed: 3, failed: 1 });
  });

  it('workflows create --initialize creates a workflow ready to run', async () => {
    const created = await runCli(['workflows', 'create', spec('d3.yaml', DIAMOND), '--initialize'], { env: env() });
    expect(created.code, created.stderr).toBe(0);
    const id = Number(/^created and initialized workflow (\d+)\n$/.exec(created.stdout)?.[1]);
    const status = JSON.parse((await runCli(['workflows', 'status', String(id), '--json'], { env: env() })).stdout);
    expect(status).toMatchObject({ id, run_id: 1, is_complete: false });
    expect(status.job_counts).toMatchObject({ uninitialized: 0, ready: 1, blocked: 3 });
    const again = await runCli(['workflows', 'initialize', String(id)], { env: env() });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`sluice: workflow ${id} is already initialized (run 1); use reinitialize\n`);
  });

  it('workflows create/status/list/jobs list/results list/events speak JSON', async () => {
    const created = await runCli(['workflows', 'create', spec('d2.yaml', DIAMOND), '--json'], { env: env() });
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout);
    expect(id).toBeGreaterThan(0);

    const status = JSON.parse((await runCli(['workflows', 'status', String(id), '--json'], { env: env() })).stdout);
    expect(status).toMatchObject({ id, name: 'diamond', is_complete: false, is_canceled: false });
    expect(status.job_counts.uninitialized).toBe(4);

    expect((await runCli(['workflows', 'initialize', String(id)], { env: env() })).code).toBe(0);
    const init2 = await runCli(['workflows', 'initialize', String(id)], { env: env() });
    expect(init2.code).toBe(1);
    expect(init2.stderr).toBe(`sluice: workflow ${id} is already initialized (run 1); use reinitialize\n`);

    const jobs = JSON.parse((await runCli(['jobs', 'list', String(id), '--json'], { env: env() })).stdout);
    expect(jobs.map((j: { name: string; status: string }) => [j.name, j.status])).toEqual([
      ['top', 'ready'],
      ['left', 'blocked'],
      ['right', 'blocked'],
      ['bottom', 'blocked'],
    ]);
    expect(jobs[0]).toHaveProperty('return_code', null);

    const ready = JSON.parse(
      (await runCli(['jobs', 'list', String(id), '--status', 'ready', '--json'], { env: env() })).stdout,
    );
    expect(ready).toHaveLength(1);

    const list = JSON.parse((await runCli(['workflows', 'list', '--json'], { env: env() })).stdout);
    expect(list.some((w: { id: number }) => w.id === id)).toBe(true);

    const run = await runCli(['run', String(id), '--poll-interval', '60'], { env: env(), cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/3\/4 jobs completed, 1 failed/);

    const results = JSON.parse((await runCli(['results', 'list', String(id), '--json'], { env: env() })).stdout);
    expect(results).toHaveLength(4);

    const events = (await runCli(['events', String(id), '--json'], { env: env() })).stdout.trim().split('\n');
    expect(events.map((l) => JSON.parse(l).kind)).toContain('workflow_completed');

    const human = await runCli(['jobs', 'list', String(id)], { env: env() });
    expect(human.stdout.split('\n')[0]).toMatch(/^id\s+name\s+status\s+return_code/);

    expect((await runCli(['workflows', 'delete', String(id)], { env: env() })).code).toBe(0);
    const gone = await runCli(['workflows', 'status', String(id)], { env: env() });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`sluice: workflow ${id} does not exist\n`);
  });

  it('rejects bad flags and spec errors with one line and exit 2, leaving nothing behind', async () => {
    const before = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.workflows');
    const bad = await runCli(['worker', '12', '--num-cpus', 'lots'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('sluice: --num-cpus: expected a positive integer (got "lots")\n');
    // --wake sse without the server or a token could only fail later, again and again.
    const sse = await runCli(['worker', '12', '--wake', 'sse'], {
      env: { ...env(), SLUICE_SERVER_URL: 'http://127.0.0.1:9', SLUICE_API_TOKEN: '' },
    });
    expect(sse.code).toBe(2);
    expect(sse.stderr).toBe(
      'sluice: --wake sse needs the API server and a token: set SLUICE_API_TOKEN (sluice tokens create makes a token)\n',
    );
    const badId = await runCli(['workflows', 'status', 'abc'], { env: env() });
    expect(badId.code).toBe(2);
    const badStatus = await runCli(['jobs', 'list', '1', '--status', 'done'], { env: env() });
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toMatch(/^sluice: --status: expected one of uninitialized, /);
    const badSpec = await runCli(
      ['workflows', 'create', spec('bad.yaml', 'name: x\njobs:\n  - name: a\n    comand: echo\n')],
      {
        env: env(),
      },
    );
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr.trim().split('\n')).toHaveLength(1);
    expect(badSpec.stderr).toMatch(/bad\.yaml:4: jobs\[0\]/);
    expect(badSpec.stderr).not.toMatch(/at .*\.js/);
    const missing = await runCli(['workflows', 'create', path.join(dir, 'nope.yaml')], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml/);
    const unknown = await runCli(['workflows', 'frobnicate'], { env: env() });
    expect(unknown.code).toBe(2);
    const after = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.workflows');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  describe('migration guard', () => {
    const name = `sluice_test_${inject('pgRunId')}_guard`;
    const admin = () => new pg.Client({ connectionString: inject('pgAdminUrl') });
    afterAll(async () => {
      const c = admin();
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    });

    it('refuses an unmigrated database, migrates it, then refuses one ahead of the code', async () => {
      const c = admin();
      await c.connect();
      await c.query(`CREATE DATABASE "${name}"`);
      await c.end();
      const url = databaseUrl(name);
      const behind = await runCli(['workflows', 'list', '--database-url', url]);
      expect(behind.code).toBe(1);
      expect(behind.stderr).toMatch(/^sluice: the database is \d+ migration\(s\) behind; run `sluice db migrate`\n$/);
      const m = await runCli(['db', 'migrate', '--database-url', url]);
      expect(m.code, m.stderr).toBe(0);
      expect(m.stdout).toMatch(/^applied 0001_core-schema/);
      expect((await runCli(['workflows', 'list', '--database-url', url])).code).toBe(0);
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      await db.query("INSERT INTO sluice.migrations (name, run_on) VALUES ('9999_from-the-future', now())");
      await db.end();
      const ahead = await runCli(['workflows', 'list', '--database-url', url]);
      expect(ahead.code).toBe(1);
      expect(ahead.stderr).toMatch(/9999_from-the-future .* upgrade sluice/);
    });
  });
});
