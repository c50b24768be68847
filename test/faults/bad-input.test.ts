import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { workflowsCreate } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow } from '../support/workflow-builder.js';
import { createInitialized, eventually, tmpDir, within } from './support/fault-fixtures.js';
import { holdLocks } from './support/lock-holder.js';
import { killAllWorkers, startSluice } from './support/worker-process.js';

// Finding 9: bad input must be refused at the boundary, in one line on stderr, with exit 2, and
// leave nothing behind. Values beyond what PostgreSQL's integer or Node's timers hold, NUL bytes
// and fractional seconds reach the database (or a timer) today, and fail late or loop.

const t = useTestDatabase('faults_bad_input');

afterEach(async () => {
  await killAllWorkers();
});

const BASE_SPEC = 'name: bad-input\njobs:\n  - name: a\n    command: "true"\n';

function writeSpec(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

async function count(table: string): Promise<number> {
  const [r] = await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM sluice.${table}`);
  return r?.n ?? 0;
}

/** Runs sluice (killed if it has not exited within 60 s) and reports what it did. */
async function attempt(args: string[], cwd: string) {
  const before = { workflows: await count('workflows'), workers: await count('workers') };
  const p = startSluice(args, { url: t.url, cwd });
  const r = await within(p.exited, 60_000, null);
  if (!r) p.killGroup('SIGKILL');
  const after = { workflows: await count('workflows'), workers: await count('workers') };
  const lines = (r?.stderr ?? p.output().stderr).trim().split('\n').filter(Boolean);
  return {
    r,
    lines,
    created: { workflows: after.workflows - before.workflows, workers: after.workers - before.workers },
  };
}

/** Exit 2, exactly one line on stderr naming the problem, nothing created. */
async function expectRefused(args: string[], cwd: string, mentions: RegExp, codes: number[] = [2]): Promise<void> {
  const { r, lines, created } = await attempt(args, cwd);
  const shown = `sluice ${args.join(' ')} -> ${r ? `exit ${r.code}` : 'still running after 60 s'}; stderr: ${JSON.stringify(lines.slice(0, 4))}`;
  expect(r, shown).not.toBeNull();
  expect(codes, shown).toContain(r?.code);
  expect(lines, shown).toHaveLength(1);
  expect(lines[0], shown).toMatch(mentions);
  expect(created, `${shown}: rows created`).toEqual({ workflows: 0, workers: 0 });
}

describe('bad input is refused in one line, exit 2, nothing created', () => {
  const dir = tmpDir();
  const spec = writeSpec(dir, 'ok.yaml', BASE_SPEC);

  const flagCases: [string, string[], RegExp][] = [
    [
      '--heartbeat-timeout not above twice --heartbeat-interval',
      ['--heartbeat-interval', '5', '--heartbeat-timeout', '10'],
      /heartbeat/,
    ],
    ['--poll-interval beyond Node timers', ['--poll-interval', '99999999999'], /poll-interval/],
    ['--num-cpus beyond an integer', ['--num-cpus', '99999999999'], /num-cpus/],
    ['--time-limit P99999999W', ['--time-limit', 'P99999999W'], /time-limit/],
    ['--num-cpus abc', ['--num-cpus', 'abc'], /num-cpus/],
  ];
  for (const [what, flags, mentions] of flagCases) {
    it(`sluice run spec.yaml: ${what}`, async () => {
      await expectRefused(['run', spec, ...flags, '--output-dir', path.join(dir, 'out')], dir, mentions);
    });
  }

  it('sluice run spec.yaml --output-dir /proc/forbidden does not create the workflow', async () => {
    await expectRefused(['run', spec, '--output-dir', '/proc/forbidden'], dir, /\/proc\/forbidden/, [1, 2]);
  });

  it('sluice worker ID --output-dir /proc/sluice-test fails in one line', async () => {
    const id = await createInitialized(t, buildWorkflow({ a: {} }));
    await expectRefused(
      ['worker', String(id), '--output-dir', '/proc/sluice-test'],
      dir,
      /\/proc\/sluice-test/,
      [1, 2],
    );
  });

  it('a workflow id of 20 digits', async () => {
    await expectRefused(['workflows', 'status', '12345678901234567890'], dir, /12345678901234567890|workflow-id/);
    await expectRefused(['run', '12345678901234567890'], dir, /12345678901234567890|workflow-id/);
  });

  const rr = (extra: string) =>
    `name: bad-input\nresource_requirements:\n  - name: big\n    ${extra}\njobs:\n  - name: a\n    command: "true"\n    resource_requirements: big\n`;
  const specCases: [string, string, string, RegExp][] = [
    ['num_cpus of 3000000000', 'cpus.yaml', rr('num_cpus: 3000000000'), /num_cpus/],
    ['runtime PT1.5S', 'runtime.yaml', rr('runtime: PT1.5S'), /runtime|PT1\.5S/],
    [
      'nodes of 3000000000',
      'nodes.yaml',
      'name: bad-input\nslurm_schedulers:\n  - name: s\n    partition: debug\n    walltime: "01:00:00"\n    nodes: 3000000000\njobs:\n  - name: a\n    command: "true"\n    scheduler: s\n',
      /nodes/,
    ],
    [
      'num_allocations of 3000000000',
      'allocations.yaml',
      'name: bad-input\nslurm_schedulers:\n  - name: s\n    partition: debug\n    walltime: "01:00:00"\njobs:\n  - name: a\n    command: "true"\n    scheduler: s\nactions:\n  - trigger_type: on_workflow_start\n    action_type: schedule_nodes\n    scheduler: s\n    scheduler_type: slurm\n    num_allocations: 3000000000\n',
      /num_allocations/,
    ],
    [
      'a NUL in a command',
      'nul-command.json',
      JSON.stringify({ name: 'bad-input', jobs: [{ name: 'a', command: 'echo a\u0000b' }] }),
      /NUL|\\u0000|null (byte|character)|command/i,
    ],
    [
      'a NUL in user data',
      'nul-data.json',
      JSON.stringify({
        name: 'bad-input',
        user_data: [{ name: 'd', data: { text: 'a\u0000b' } }],
        jobs: [{ name: 'a', command: 'true', input_user_data: ['d'] }],
      }),
      /NUL|\\u0000|null (byte|character)|user_data|data/i,
    ],
    // Found by the spec fuzz: the unknown name was quoted raw, and the message took two lines.
    [
      'an action naming an unknown job with a line break in its name',
      'newline-name.json',
      JSON.stringify({
        name: 'bad-input',
        jobs: [{ name: 'a', command: 'true' }],
        actions: [
          { trigger_type: 'on_jobs_complete', action_type: 'run_commands', jobs: ['r\nt'], commands: ['true'] },
        ],
      }),
      /unknown job "r\\nt"/,
    ],
  ];
  for (const [what, file, text, mentions] of specCases) {
    it(`a spec with ${what}`, async () => {
      const f = writeSpec(dir, file, text);
      await expectRefused(['workflows', 'create', f], dir, mentions);
      await expectRefused(['run', f, '--output-dir', path.join(dir, 'out')], dir, mentions);
    });
  }

  it('sluice slurm list of a missing workflow says so and exits 1', async () => {
    await expectRefused(['slurm', 'list', '999999'], dir, /999999/, [1]);
  });
});

describe('two sluice run ID at once on a new workflow', () => {
  it('both succeed: one initializes, the other joins', async () => {
    const dir = tmpDir();
    const id = await workflowsCreate(t.handle.db, buildWorkflow({ a: {}, b: {}, c: { deps: ['a', 'b'] } }));
    // Both runs read "not initialized" and queue on the workflow row before either initializes.
    const holder = await holdLocks(t.url, 'SELECT 1 FROM sluice.workflows WHERE id = $1 FOR NO KEY UPDATE', [id]);
    const runs = [0, 1].map(() =>
      startSluice(['run', String(id), '--poll-interval', '1', '--output-dir', 'out'], { url: t.url, cwd: dir }),
    );
    await eventually(async () => {
      const [r] = await t.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return (r?.n ?? 0) >= 2;
    }, 30_000);
    await holder.rollback();
    const exits = await Promise.all(runs.map((r) => within(r.exited, 120_000, null)));
    for (const e of exits) expect(e?.code, e?.stderr).toBe(0);
    const [wf] = await t.query<{ run_id: number; unfinished_jobs: number }>(
      'SELECT run_id, unfinished_jobs FROM sluice.workflows WHERE id = $1',
      [id],
    );
    expect(wf).toEqual({ run_id: 1, unfinished_jobs: 0 });
  });
});
