import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli-runner.js';

// No database configured at all: sluice must start, migrate and use its own server.
const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-home-'));
const env = { SLUICE_HOME: home, SLUICE_DATABASE_URL: '' };

afterAll(async () => {
  await runCli(['db', 'stop'], { env });
});

describe('the embedded default', () => {
  it('runs the README example from nothing, then reports and stops its server', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'sluice-embedded-run-'));
    const r = await runCli(['run', path.join(REPO_ROOT, 'examples/hello.yaml'), '--poll-interval', '60'], { env, cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/5\/5 jobs completed/);
    expect(readFileSync(path.join(cwd, 'output/hello/part_3.txt'), 'utf8')).toBe('hello from sluice (part 3)\n');

    const status = JSON.parse((await runCli(['db', 'status', '--json'], { env })).stdout);
    expect(status).toMatchObject({ database: 'embedded', embedded: { running: true } });
    expect(status.embedded.port).not.toBe(5432);
    // The embedded server has a password (TCP is not trusted); it is never printed.
    expect(status.url).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/sluice/);
    expect(status.migrations.pending).toEqual([]);

    const list = JSON.parse((await runCli(['workflows', 'list', '--json'], { env })).stdout);
    expect(list.map((w: { name: string }) => w.name)).toEqual(['hello']);

    const stop = await runCli(['db', 'stop'], { env });
    expect(stop.stdout).toBe('embedded PostgreSQL stopped\n');
    const after = JSON.parse((await runCli(['db', 'status', '--json'], { env })).stdout);
    expect(after.embedded.running).toBe(false);
  });
});
