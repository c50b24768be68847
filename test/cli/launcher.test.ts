import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli-runner.js';
import { runProcess } from '../support/process-runner.js';
import { useTestDatabase } from '../support/test-database.js';

// bin/sluice, the launcher a site links into a directory on PATH: it finds node and the bundle
// from its own real path and leaves the caller's working directory alone.

const t = useTestDatabase('cli_launcher');
const root = mkdtempSync(path.join(os.tmpdir(), 'sluice-launcher-'));
const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  SLUICE_DATABASE_URL: t.url,
  HOME: path.join(root, 'home'),
  XDG_CONFIG_HOME: '',
  SLUICE_SITE_CONFIG: path.join(root, 'no-site.toml'),
  ...extra,
});

describe('bin/sluice', () => {
  it('works through a chain of relative symlinks on PATH, resolving paths against the caller’s directory', async () => {
    // /usr/local/bin/sluice -> ../lib/sluice -> <repo>/bin/sluice, as a site might lay it out.
    const usrBin = path.join(root, 'usr/local/bin');
    const usrLib = path.join(root, 'usr/local/lib');
    mkdirSync(usrBin, { recursive: true });
    mkdirSync(usrLib, { recursive: true });
    symlinkSync(path.relative(usrLib, path.join(REPO_ROOT, 'bin/sluice')), path.join(usrLib, 'sluice'));
    symlinkSync('../lib/sluice', path.join(usrBin, 'sluice'));

    const work = path.join(root, 'work');
    mkdirSync(work);
    writeFileSync(
      path.join(work, 'spec.yaml'),
      'name: launched\njobs:\n  - name: where\n    command: pwd > where.txt\n',
    );
    const r = await runProcess('sluice', ['run', 'spec.yaml', '--output-dir', 'out'], {
      cwd: work,
      env: env({ PATH: `${usrBin}:${process.env.PATH}` }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1\/1 jobs completed/);
    expect(readFileSync(path.join(work, 'where.txt'), 'utf8')).toBe(`${work}\n`);
    const logs = await runProcess('ls', [path.join(work, 'out/job_stdio')]);
    expect(logs.stdout).toMatch(/\.o\n/);
  });

  it('says so in one line when node or the bundle is missing', async () => {
    const noNode = await runProcess(path.join(REPO_ROOT, 'bin/sluice'), ['--help'], {
      env: env({ SLUICE_NODE: path.join(root, 'no-such-node') }),
    });
    expect(noNode.code).toBe(1);
    expect(noNode.stderr).toBe(
      'sluice: node not found (install Node.js 20.19 or newer, put it on PATH, or set SLUICE_NODE)\n',
    );
    const alone = path.join(root, 'alone/bin');
    mkdirSync(alone, { recursive: true });
    copyFileSync(path.join(REPO_ROOT, 'bin/sluice'), path.join(alone, 'sluice'));
    const noBundle = await runProcess('sh', [path.join(alone, 'sluice'), '--help'], { env: env() });
    expect(noBundle.code).toBe(1);
    expect(noBundle.stderr).toBe(
      `sluice: the bundled CLI is missing next to ${alone} (run \`pnpm run build\` in the checkout)\n`,
    );
  });

  it('leaves `pnpm sluice` working from the repository root', async () => {
    const r = await runProcess('pnpm', ['sluice', '--help'], { cwd: REPO_ROOT, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: sluice /);
  });
});
