import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, buildWorkflowWithActions } from '../support/workflow-builder.js';
import {
  createInitialized,
  describeWorkflow,
  eventually,
  jobByName,
  tmpDir,
  within,
} from './support/fault-fixtures.js';
import { FaultProxy } from './support/fault-proxy.js';
import { JobLedger } from './support/job-ledger.js';
import { alive, killAllWorkers, sluice, startWorker } from './support/worker-process.js';

// Finding 1: a worker partitioned from the database keeps running its jobs, so another worker
// reruns them at the same time once the partitioned one is declared lost. A worker must fence
// itself (kill its jobs and actions, stop claiming) when it has not renewed its heartbeat within
// its own heartbeat timeout, measured on its own clock: before anyone else may declare it lost.

const t = useTestDatabase('faults_fencing');
const proxies: FaultProxy[] = [];
const ledgers: JobLedger[] = [];

afterEach(async () => {
  const used = proxies.splice(0);
  for (const p of used) p.restore();
  await killAllWorkers();
  for (const l of ledgers.splice(0)) l.killAll();
  for (const p of used) await p.close();
});

const HEARTBEAT = ['--heartbeat-interval', '1', '--heartbeat-timeout', '6', '--poll-interval', '1'];
// The worker's own timeout is 6 s: its job must be dead by then, plus a margin for a busy machine.
const FENCE_WITHIN_MS = 12_000;

async function reapUntilLost(workflowId: number, workerId: number): Promise<void> {
  await waitFor(
    `worker ${workerId} to be declared lost`,
    async () => {
      await t.query('SELECT sluice.workers_reap($1)', [workflowId]);
      const r = await t.query<{ status: string }>('SELECT status::text FROM sluice.workers WHERE id = $1', [workerId]);
      return r[0]?.status === 'lost';
    },
    60_000,
  );
}

describe('fencing: a worker cut off from the database', () => {
  it('kills its job within its own heartbeat timeout, so the rerun elsewhere never overlaps', async () => {
    const dir = tmpDir();
    const ledger = new JobLedger();
    ledgers.push(ledger);
    // First run: long. Any later run: short, so that the rerun can complete.
    const work = `if [ -e '${dir}/first.done' ]; then sleep 0.2; else touch '${dir}/first.done'; sleep 120; fi`;
    const id = await createInitialized(t, buildWorkflow({ long: { command: ledger.job(work) } }));
    const proxy = await FaultProxy.start(t.url);
    proxies.push(proxy);
    const a = startWorker(id, { url: proxy.url(t.url), cwd: dir, args: HEARTBEAT });
    const [run1] = await waitFor(
      'worker A to start the job',
      async () => ledger.starts().length > 0 && ledger.starts(),
      60_000,
    );
    if (!run1) throw new Error('no run');

    proxy.cut();
    const fenced = await eventually(() => !alive(run1.pid), FENCE_WITHIN_MS);
    expect(
      fenced,
      `worker A's job (pid ${run1.pid}) still runs ${FENCE_WITHIN_MS / 1000} s after A lost the database ` +
        '(heartbeat timeout 6 s): A did not fence itself',
    ).toBe(true);

    await reapUntilLost(id, run1.workerId);
    expect((await jobByName(t, id, 'long')).status).toBe('terminated');
    for (const args of [
      ['workflows', 'reset-status', String(id), '--failed-only'],
      ['workflows', 'reinitialize', String(id)],
    ]) {
      const r = await sluice(t.url, args);
      expect(r.code, r.stderr).toBe(0);
    }
    const b = startWorker(id, { url: t.url, cwd: dir, args: HEARTBEAT });
    const bExit = await b.exited;
    expect(bExit.code, bExit.stderr).toBe(0);
    expect(ledger.overlaps(), 'a second run of the job started while the first one still ran').toEqual([]);
    const job = await jobByName(t, id, 'long');
    expect({ status: job.status, attempt: job.attempt }).toEqual({ status: 'completed', attempt: 2 });
    expect(ledger.starts().length).toBe(2);

    proxy.restore();
    const aExit = await within(a.exited, 60_000, null);
    expect(aExit, 'worker A did not exit within 60 s of the database coming back').not.toBeNull();
    expect(aExit?.code, aExit?.stderr).toBe(1);
    expect(a.lastStderrLine(), 'the last line of A says it fenced itself').toMatch(/fenc/i);
  });

  it('kills its running action too', async () => {
    const dir = tmpDir();
    const ledger = new JobLedger();
    ledgers.push(ledger);
    const wf = buildWorkflowWithActions({ a: { command: 'true' } }, [
      { trigger: 'on_workflow_start', commands: [ledger.action('start', 'sleep 120')] },
    ]);
    const id = await createInitialized(t, wf);
    const proxy = await FaultProxy.start(t.url);
    proxies.push(proxy);
    startWorker(id, { url: proxy.url(t.url), cwd: dir, args: HEARTBEAT });
    const [run] = await waitFor(
      'the action to run',
      async () => ledger.actions().length > 0 && ledger.actions(),
      60_000,
    );
    if (!run) throw new Error('no action run');
    proxy.cut();
    const fenced = await eventually(() => !alive(run.pid), FENCE_WITHIN_MS);
    expect(
      fenced,
      `the worker's action (pid ${run.pid}) still runs ${FENCE_WITHIN_MS / 1000} s after its worker lost the database; ` +
        (await describeWorkflow(t, id)),
    ).toBe(true);
  });

  it('default dead-worker detection is under 30 s: --heartbeat-interval 5, --heartbeat-timeout 20', async () => {
    const dir = tmpDir();
    const id = await createInitialized(t, buildWorkflow({ a: {} }));
    const r = await sluice(t.url, ['worker', String(id), '--poll-interval', '1'], dir);
    expect(r.code, r.stderr).toBe(0);
    const [w] = await t.query<{ s: number }>(
      'SELECT extract(epoch FROM heartbeat_timeout)::float8 AS s FROM sluice.workers WHERE workflow_id = $1',
      [id],
    );
    expect(w?.s, 'a worker registered with the default heartbeat timeout (seconds)').toBe(20);
    const help = await sluice(t.url, ['worker', '--help']);
    expect(help.code, help.stderr).toBe(0);
    const flat = help.stdout.replace(/\s+/g, ' ');
    expect(flat).toMatch(/--heartbeat-interval <seconds>[^(]*\(default: "5"\)/);
    expect(flat).toMatch(/--heartbeat-timeout <seconds>[^(]*\(default: "20"\)/);
  });
});
