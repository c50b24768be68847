import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowsCreate, workflowsInitialize } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { type ActionSketch, buildWorkflowWithActions, type JobSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('action_workers');
const env = () => ({ SLUICE_DATABASE_URL: t.url });
const FAST = ['--poll-interval', '120', '--heartbeat-interval', '0.2'];

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
}

async function setup(
  jobs: Record<string, JobSketch>,
  actions: ActionSketch[],
): Promise<{ id: number; dir: string; out: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-actions-'));
  const id = await workflowsCreate(t.handle.db, buildWorkflowWithActions(jobs, actions));
  await workflowsInitialize(t.handle.db, id);
  return { id, dir, out: path.join(dir, 'out') };
}

describe('actions run by worker processes', { timeout: 120_000 }, () => {
  it('six workers: each non-persistent action runs once, each persistent one once per worker, setup before any job', async () => {
    const jobs: Record<string, JobSketch> = {};
    for (let i = 0; i < 24; i++) {
      jobs[`job_${i}`] = { command: `test -f out/setup.done && sleep 0.05 && echo $SLUICE_WORKER_ID > job_${i}.ran` };
    }
    const actions: ActionSketch[] = [
      { trigger: 'on_workflow_start', commands: ['sleep 0.5', 'touch setup.done'] },
      { trigger: 'on_worker_start', commands: ['echo "$SLUICE_WORKER_ID" >> worker_start.log'] },
      { trigger: 'on_worker_complete', commands: ['echo "$SLUICE_WORKER_ID" >> worker_complete.log'] },
      { trigger: 'on_workflow_complete', commands: ['echo "$SLUICE_WORKER_ID" >> workflow_complete.log'] },
    ];
    for (let i = 0; i < 8; i++) {
      const watched = [`job_${i}`, `job_${i + 8}`, `job_${i + 16}`];
      actions.push({
        trigger: 'on_jobs_complete',
        jobs: watched,
        commands: [`echo "$SLUICE_TRIGGER_TYPE" >> complete_${i}.log`],
      });
      actions.push({
        trigger: 'on_jobs_ready',
        jobs: watched,
        commands: [`echo "$SLUICE_ACTION_ID" >> ready_${i}.log`],
      });
    }
    const { id, dir, out } = await setup(jobs, actions);
    const workers = Array.from({ length: 6 }, () =>
      spawnCli(['worker', String(id), '--output-dir', 'out', '--max-parallel-jobs', '2', ...FAST], {
        env: env(),
        cwd: dir,
      }),
    );
    const exits = await Promise.all(workers.map((w) => w.exited));
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    for (let i = 0; i < 24; i++) expect(existsSync(path.join(dir, `job_${i}.ran`)), `job_${i}`).toBe(true);
    const workerIds = (await t.query<{ id: number }>('SELECT id FROM sluice.workers WHERE workflow_id = $1', [id])).map(
      (r) => String(r.id),
    );
    expect(workerIds).toHaveLength(6);
    expect(lines(path.join(out, 'worker_start.log')).sort()).toEqual([...workerIds].sort());
    expect(lines(path.join(out, 'worker_complete.log')).sort()).toEqual([...workerIds].sort());
    expect(lines(path.join(out, 'workflow_complete.log'))).toHaveLength(1);
    for (let i = 0; i < 8; i++) {
      expect(lines(path.join(out, `complete_${i}.log`))).toEqual(['on_jobs_complete']);
      expect(lines(path.join(out, `ready_${i}.log`))).toHaveLength(1);
    }
    const runs = await t.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM sluice.action_runs WHERE workflow_id = $1 GROUP BY status',
      [id],
    );
    expect(runs).toEqual([{ status: 'succeeded', n: 1 + 6 + 6 + 1 + 16 }]);
    expect(readdirSync(path.join(out, 'action_logs')).length).toBe(2 * (1 + 6 + 6 + 1 + 16));
  });

  it('stops an action at its first failing command; the action fails and the workflow goes on', async () => {
    const { id, dir, out } = await setup({ a: {}, b: { deps: ['a'] } }, [
      {
        trigger: 'on_jobs_complete',
        jobs: ['a'],
        commands: ['echo one >> steps.txt', 'exit 4', 'echo three >> steps.txt'],
      },
    ]);
    const r = await runCli(['worker', String(id), '--output-dir', 'out', ...FAST], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(lines(path.join(out, 'steps.txt'))).toEqual(['one']);
    const list = JSON.parse((await runCli(['workflows', 'list-actions', String(id), '--json'], { env: env() })).stdout);
    expect(list).toEqual([
      expect.objectContaining({
        trigger_type: 'on_jobs_complete',
        jobs: ['a'],
        trigger_count: 1,
        required_triggers: 1,
        executed: true,
        status: 'failed',
        runs: [expect.objectContaining({ status: 'failed', exit_code: 4, failed_command: 'exit 4' })],
      }),
    ]);
    const jobs = await t.query<{ status: string }>('SELECT status FROM sluice.jobs WHERE workflow_id = $1', [id]);
    expect(jobs.every((j) => j.status === 'completed')).toBe(true);
  });

  it('makes the action log directory again when it was removed during the run', async () => {
    // b waits until a's action has run (its logs are open by then), then removes their directory.
    const wait = 'for i in $(seq 600); do [ -e "$SLUICE_OUTPUT_DIR/a.ran" ] && break; sleep 0.05; done';
    const { id, dir, out } = await setup(
      { a: {}, b: { deps: ['a'], command: `${wait}; rm -r "$SLUICE_OUTPUT_DIR/action_logs"` } },
      [
        { trigger: 'on_jobs_complete', jobs: ['a'], commands: ['touch a.ran'] },
        { trigger: 'on_jobs_complete', jobs: ['b'], commands: ['echo b-done'] },
      ],
    );
    const r = await runCli(['worker', String(id), '--output-dir', 'out', ...FAST], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const runs = await t.query<{ status: string; stdout_path: string }>(
      'SELECT status, stdout_path FROM sluice.action_runs WHERE workflow_id = $1 ORDER BY id',
      [id],
    );
    expect(runs.map((x) => x.status)).toEqual(['succeeded', 'succeeded']);
    expect(readFileSync(runs[1]?.stdout_path ?? '', 'utf8')).toBe('b-done\n');
    // a's logs went with the directory; b's are in the one made again.
    expect(readdirSync(path.join(out, 'action_logs')).sort()).toEqual(
      [`${path.basename(runs[1]?.stdout_path ?? '', '.o')}.e`, path.basename(runs[1]?.stdout_path ?? '')].sort(),
    );
  });

  it('a worker stopped by SIGTERM still runs its on_worker_complete actions', async () => {
    const { id, dir, out } = await setup({ long: { command: 'touch long.started; sleep 60' } }, [
      { trigger: 'on_worker_complete', commands: ['echo "bye $SLUICE_WORKER_ID" >> bye.txt'] },
    ]);
    const w = spawnCli(['worker', String(id), '--output-dir', 'out', ...FAST], { env: env(), cwd: dir });
    await waitFor('the job to start', async () => existsSync(path.join(dir, 'long.started')));
    w.child.kill('SIGTERM');
    const exit = await w.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(lines(path.join(out, 'bye.txt'))).toHaveLength(1);
    expect(lines(path.join(out, 'bye.txt'))[0]).toMatch(/^bye \d+$/);
  });

  it("a killed worker's running action becomes abandoned, which opens the on_workflow_start gate", async () => {
    const { id, dir } = await setup({ a: { command: 'echo ran > a.txt' } }, [
      { trigger: 'on_workflow_start', commands: ['touch ../start.begun; sleep 60'] },
    ]);
    const first = spawnCli(
      ['worker', String(id), '--output-dir', 'out', '--heartbeat-interval', '0.2', '--heartbeat-timeout', '1'],
      {
        env: env(),
        cwd: dir,
      },
    );
    await waitFor('the start action to begin', async () => existsSync(path.join(dir, 'start.begun')));
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await runCli(['worker', String(id), '--output-dir', 'out', ...FAST], { env: env(), cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'a.txt'), 'utf8').trim()).toBe('ran');
    const list = JSON.parse((await runCli(['workflows', 'list-actions', String(id), '--json'], { env: env() })).stdout);
    expect(list[0]).toMatchObject({
      status: 'failed',
      executed: true,
      runs: [expect.objectContaining({ status: 'abandoned' })],
    });
  });
});
