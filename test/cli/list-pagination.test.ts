import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';

const t = useTestDatabase('cli_pagination');
const env = () => ({ SLUICE_DATABASE_URL: t.url });
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-pages-'));
const NUM_JOBS = 230;

async function cli(args: string[]) {
  return runCli(args, { env: env(), cwd: dir });
}

async function json<T>(args: string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('jobs list, results list and events page by id', { timeout: 180_000 }, () => {
  let wf = '';
  beforeAll(async () => {
    const jobs = Array.from({ length: NUM_JOBS }, (_, i) => `  - name: j${i}\n    command: "true"\n`).join('');
    const file = path.join(dir, 'many.yaml');
    writeFileSync(file, `name: many\njobs:\n${jobs}`);
    const r = await cli(['run', file, '--json', '--max-parallel-jobs', '16', '--output-dir', path.join(dir, 'out')]);
    expect(r.code, r.stderr).toBe(0);
    wf = String(JSON.parse(r.stdout).id);
  });

  it('--json streams every job as one array, in id order, whatever the page size', async () => {
    const all = await json<{ id: number; status: string }[]>(['jobs', 'list', wf]);
    expect(all).toHaveLength(NUM_JOBS);
    expect(all.every((j) => j.status === 'completed')).toBe(true);
    const ids = all.map((j) => j.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('--limit and --after walk the pages with no row twice and none missed', async () => {
    const all = (await json<{ id: number }[]>(['jobs', 'list', wf])).map((j) => j.id);
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await json<{ id: number }[]>(['jobs', 'list', wf, '--limit', '100', '--after', String(after)]);
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(100);
      seen.push(...page.map((j) => j.id));
      after = page.at(-1)?.id ?? after;
    }
    expect(seen).toEqual(all);
  });

  it('people see 100 rows and a note on stderr naming the next page', async () => {
    const r = await cli(['jobs', 'list', wf]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(101);
    const hundredth = Number(lines[100]?.split(/\s+/)[0]);
    expect(r.stderr).toContain(`showing 100 jobs; more follow: --after ${hundredth}`);
    const last = await cli(['jobs', 'list', wf, '--after', String(hundredth), '--limit', '500']);
    expect(last.stdout.trimEnd().split('\n')).toHaveLength(NUM_JOBS - 100 + 1);
    expect(last.stderr).toBe('');
  });

  it('results list pages the same way', async () => {
    const all = await json<{ id: number; job_id: number }[]>(['results', 'list', wf]);
    expect(all).toHaveLength(NUM_JOBS);
    const second = await json<{ id: number }[]>(['results', 'list', wf, '--after', String(all[9]?.id), '--limit', '5']);
    expect(second.map((r) => r.id)).toEqual(all.slice(10, 15).map((r) => r.id));
  });

  it('events: all of them as JSON lines, capped for people, --limit and --after', async () => {
    const r = await cli(['events', wf, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; kind: string });
    expect(events.filter((e) => e.kind === 'job_finished')).toHaveLength(NUM_JOBS);
    const human = await cli(['events', wf]);
    expect(human.stdout.trimEnd().split('\n')).toHaveLength(100);
    expect(human.stderr).toContain(`showing 100 events; more follow: --after ${events[99]?.id}`);
    const page = await cli(['events', wf, '--json', '--after', String(events[4]?.id), '--limit', '3']);
    expect(
      page.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: number }).id),
    ).toEqual(events.slice(5, 8).map((e) => e.id));
  });

  it('a bad --limit or --after is one line naming the flag, exit 2', async () => {
    for (const args of [
      ['jobs', 'list', wf, '--limit', '0'],
      ['results', 'list', wf, '--after', '-3'],
      ['events', wf, '--limit', 'many'],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--(limit|after)/);
    }
  });
});
