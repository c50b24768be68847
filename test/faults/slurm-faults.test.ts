import path from 'node:path';
import type { ResolvedSlurmScheduler, ResolvedWorkflow } from '@sluice/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, waitFor } from '../support/cli-runner.js';
import { runSlurm, type SlurmCluster, startSlurmCluster, waitForSlurmJob } from '../support/slurm-cluster.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflowWithActions, type JobSketch } from '../support/workflow-builder.js';
import { createInitialized, describeWorkflow, jobByName, tmpDir, within } from './support/fault-fixtures.js';
import { isComplete } from './support/invariants.js';
import { killAllWorkers, startWorker } from './support/worker-process.js';

// Finding 15: faults on the real test Slurm. An allocation scancel-ed under a running worker
// must leave its jobs terminated (so that the workflow can be reset and rerun), and an
// allocation that has not started must be reported: by `slurm list` (state and reason) and by
// `workflows status` (what the ready jobs wait for), and one whose Slurm job ended unstarted
// must stop counting as queued.

const t = useTestDatabase('faults_slurm');
let cluster: SlurmCluster;

beforeAll(async () => {
  cluster = await startSlurmCluster();
}, 300_000);
afterAll(async () => {
  await cluster?.stop();
});
afterEach(async () => {
  await killAllWorkers();
});

const env = () => ({ ...cluster.env, SLUICE_DATABASE_URL: t.url });

function scheduler(): ResolvedSlurmScheduler {
  return {
    name: 'cluster',
    account: null,
    partition: 'debug',
    walltime: '02:00:00',
    nodes: 1,
    mem: null,
    gres: null,
    qos: null,
    ntasksPerNode: null,
    tmp: null,
    extra: null,
  };
}

function slurmWorkflow(jobs: Record<string, JobSketch>, extra: Partial<ResolvedWorkflow> = {}): ResolvedWorkflow {
  const wf = buildWorkflowWithActions(jobs, [], extra);
  wf.slurmSchedulers = [scheduler()];
  wf.jobs = wf.jobs.map((j) => ({ ...j, scheduler: 'cluster' }));
  wf.actions = [
    {
      triggerType: 'on_workflow_start',
      actionType: 'schedule_nodes',
      persistent: false,
      jobs: [],
      commands: null,
      scheduler: 'cluster',
      schedulerType: 'slurm',
      numAllocations: 1,
      startOneWorkerPerNode: false,
      maxParallelJobs: 2,
    },
  ];
  return wf;
}

async function submitViaLocalWorker(id: number, dir: string): Promise<void> {
  const local = startWorker(id, {
    url: t.url,
    cwd: dir,
    env: cluster.env,
    args: ['--output-dir', 'out', '--poll-interval', '5'],
  });
  const r = await within(local.exited, 120_000, null);
  expect(r, 'the local worker that submits the allocation did not leave').not.toBeNull();
}

async function allocation(id: number) {
  return waitFor(
    'the allocation to be submitted',
    async () => {
      const rows = await t.query<{ id: number; slurm_job_id: string | null; status: string }>(
        'SELECT id, slurm_job_id, status::text FROM sluice.scheduled_compute_nodes WHERE workflow_id = $1 ORDER BY id DESC',
        [id],
      );
      return rows[0]?.slurm_job_id ? rows[0] : null;
    },
    120_000,
  );
}

describe('Slurm faults', { timeout: 600_000 }, () => {
  it('scancel of an allocation under a running worker terminates its jobs; reset and rerun completes', async () => {
    const dir = tmpDir();
    const marker = path.join(dir, 'first-run');
    const id = await createInitialized(
      t,
      slurmWorkflow({
        long: { command: `if [ -e '${marker}' ]; then true; else touch '${marker}'; sleep 300; fi` },
        after: { deps: ['long'], cob: false, command: 'true' },
      }),
    );
    await submitViaLocalWorker(id, dir);
    const node = await allocation(id);
    await waitFor(
      'the job to run in the allocation',
      async () => (await jobByName(t, id, 'long')).status === 'running',
      180_000,
    );
    const c = await runSlurm('scancel', [node.slurm_job_id as string], cluster.env);
    expect(c.code, c.stderr).toBe(0);
    await waitForSlurmJob(
      node.slurm_job_id as string,
      ['CANCELLED', 'COMPLETED', 'FAILED'],
      cluster.env,
      120_000,
    ).catch(() => undefined);
    const result = await waitFor(
      "the job's result",
      async () => {
        const rows = await t.query<{ status: string; message: string | null }>(
          "SELECT r.status::text, r.message FROM sluice.results r JOIN sluice.jobs j ON j.id = r.job_id WHERE j.workflow_id = $1 AND j.name = 'long'",
          [id],
        );
        // workflows status reaps a worker that went silent.
        if (rows.length === 0) await runCli(['workflows', 'status', String(id)], { env: env() });
        return rows[0] ?? null;
      },
      180_000,
    );
    expect(result.status, `the job of the scancel-ed allocation (${result.message})`).toBe('terminated');
    for (const args of [
      ['workflows', 'reset-status', String(id), '--failed-only'],
      ['workflows', 'reinitialize', String(id)],
    ]) {
      const r = await runCli(args, { env: env() });
      expect(r.code, r.stderr).toBe(0);
    }
    await submitViaLocalWorker(id, dir);
    const done = await waitFor('the rerun to complete', async () => isComplete(t.query, id), 240_000).catch(
      () => false,
    );
    expect(done, `the rerun did not complete: ${await describeWorkflow(t, id)}`).toBe(true);
    expect((await jobByName(t, id, 'long')).status).toBe('completed');
    const results = await t.query<{ status: string }>(
      "SELECT r.status::text FROM sluice.results r JOIN sluice.jobs j ON j.id = r.job_id WHERE j.workflow_id = $1 AND j.name = 'long' ORDER BY r.id",
      [id],
    );
    expect(results.map((r) => r.status)).toEqual(['terminated', 'completed']);
  });

  it('an allocation that has not started is reported as waited for; once its Slurm job ends unstarted, it is failed and the workflow stalled', async () => {
    const dir = tmpDir();
    const id = await createInitialized(t, slurmWorkflow({ a: {} }, { slurmDefaults: { begin: 'now+1hour' } }));
    await submitViaLocalWorker(id, dir);
    const node = await allocation(id);
    const jobId = node.slurm_job_id as string;
    try {
      await waitForSlurmJob(jobId, ['PENDING'], cluster.env, 60_000);
      const list = await runCli(['slurm', 'list', String(id), '--json'], { env: env() });
      expect(list.code, list.stderr).toBe(0);
      const rows = JSON.parse(list.stdout) as Record<string, unknown>[];
      const row = rows.find((r) => r.slurm_job_id === jobId);
      expect(row?.slurm_state, 'slurm list --json: slurm_state').toBe('PENDING');
      expect(row?.slurm_reason, 'slurm list --json: slurm_reason (why it has not started)').toMatch(/BeginTime/);
      // Queued, for a reason that passes: waited for, not stalled (the jobs will run).
      const status = await runCli(['workflows', 'status', String(id), '--json'], { env: env() });
      expect(status.code, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout) as { stalled: string | null; waiting: string | null };
      expect(s.stalled).toBeNull();
      expect(s.waiting).toMatch(
        new RegExp(`waits for allocation ${node.id} \\(Slurm job ${jobId} .*PENDING, BeginTime`),
      );
      const human = await runCli(['workflows', 'status', String(id)], { env: env() });
      expect(human.stdout).toMatch(/^waiting: 1 ready job waits for allocation/m);

      // Canceled in Slurm before any worker started: not queued for ever in Sluice.
      await runSlurm('scancel', [jobId], cluster.env);
      const stalled = await waitFor(
        'workflows status reports the stall once the allocation ended',
        async () => {
          const r = JSON.parse((await runCli(['workflows', 'status', String(id), '--json'], { env: env() })).stdout);
          return r.stalled as string | null;
        },
        60_000,
      );
      expect(stalled).toMatch(/1 ready job/);
      const after = JSON.parse((await runCli(['slurm', 'list', String(id), '--json'], { env: env() })).stdout) as {
        id: number;
        status: string;
        message: string | null;
      }[];
      expect(after.find((r) => r.id === node.id)).toMatchObject({
        status: 'failed',
        message: expect.stringMatching(new RegExp(`Slurm job ${jobId} ended .*before any worker of it started`)),
      });
    } finally {
      await runCli(['workflows', 'cancel', String(id)], { env: env() });
      await runSlurm('scancel', [jobId], cluster.env);
    }
  });
});
