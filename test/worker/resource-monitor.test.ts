import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';

// torc's resource_monitor: the worker samples each running job's whole process tree.

const t = useTestDatabase('resource_monitor');
const env = () => ({ SLUICE_DATABASE_URL: t.url });
const FAST = ['--poll-interval', '60', '--heartbeat-interval', '0.5', '--output-dir', 'out'];

function spec(dir: string, granularity: 'summary' | 'time_series'): string {
  const file = path.join(dir, 'spec.yaml');
  writeFileSync(
    file,
    `name: monitored
resource_monitor:
  enabled: true
  granularity: ${granularity}
  sample_interval_seconds: 1
resource_requirements:
  - name: small
    num_cpus: 1
    memory: 20m
    runtime: PT1M
  - name: four_cores
    num_cpus: 4
    memory: 1g
    runtime: PT1M
jobs:
  # ~100 MB held by a child process: the tree is measured, not only the shell.
  - name: hungry
    command: perl -e '$x = "a" x 100_000_000; sleep 3'
    resource_requirements: small
  - name: idle
    command: sleep 3
    resource_requirements: four_cores
`,
  );
  return file;
}

describe('resource monitoring', () => {
  it('records peak and average memory and CPU per execution, and reports over- and under-use', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-monitor-'));
    const r = await runCli(['run', spec(dir, 'summary'), ...FAST, '--num-cpus', '8'], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const id = Number(/created workflow (\d+)/.exec(r.stderr)?.[1]);
    const report = JSON.parse((await runCli(['reports', 'resources', String(id), '--json'], { env: env() })).stdout);
    const byName = Object.fromEntries(report.map((x: { job_name: string }) => [x.job_name, x]));
    expect(byName.hungry.peak_memory_bytes).toBeGreaterThan(80 * 2 ** 20);
    expect(byName.hungry.flags).toContain('memory over request');
    expect(byName.idle.peak_memory_bytes).toBeLessThan(50 * 2 ** 20);
    expect(byName.idle.flags).toEqual(['cpu far under request']);
    const samples = await t.query('SELECT 1 FROM sluice.job_samples WHERE workflow_id = $1', [id]);
    expect(samples, 'granularity summary keeps no samples').toEqual([]);
    const human = await runCli(['reports', 'resources', String(id)], { env: env() });
    expect(human.stdout).toMatch(/hungry .*memory over request/);
  });

  it('with granularity time_series keeps every sample', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-monitor-'));
    const r = await runCli(['run', spec(dir, 'time_series'), ...FAST, '--num-cpus', '8'], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const id = Number(/created workflow (\d+)/.exec(r.stderr)?.[1]);
    const rows = await t.query<{ name: string; n: number; peak: number }>(
      `SELECT j.name, count(*)::int AS n, max(s.memory_bytes) AS peak FROM sluice.job_samples s
         JOIN sluice.jobs j ON j.id = s.job_id WHERE s.workflow_id = $1 GROUP BY j.name ORDER BY j.name`,
      [id],
    );
    expect(rows.map((x) => x.name)).toEqual(['hungry', 'idle']);
    for (const x of rows) expect(x.n).toBeGreaterThanOrEqual(2);
    expect(rows[0]?.peak).toBeGreaterThan(80 * 2 ** 20);
  });
});
