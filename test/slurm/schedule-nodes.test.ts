import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ResolvedSlurmScheduler, workflowsCreate, workflowsInitialize } from '../../packages/core/src/index.js';
import { runCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { type SlurmCluster, startSlurmCluster, waitForSlurmJob } from '../support/slurm-cluster.js';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflowWithActions, type JobSketch } from '../support/workflow-builder.js';

const t = useTestDatabase('slurm_schedule_nodes');
let cluster: SlurmCluster;

beforeAll(async () => {
  cluster = await startSlurmCluster();
}, 240_000);
afterAll(async () => {
  await cluster?.stop();
});

const env = () => ({ ...cluster.env, SLUICE_DATABASE_URL: t.url });

function scheduler(name: string, partition: string): ResolvedSlurmScheduler {
  return {
    name,
    account: null,
    partition,
    // Longer than the jobs' default runtime (PT1H): the worker claims only jobs that fit before the end.
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

/** A workflow whose jobs need the `cluster` scheduler and an on_workflow_start schedule_nodes action. */
async function slurmWorkflow(partition: string, jobs: Record<string, JobSketch>): Promise<number> {
  const wf = buildWorkflowWithActions(jobs, []);
  wf.slurmSchedulers = [scheduler('cluster', partition)];
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
  const id = await workflowsCreate(t.handle.db, wf);
  await workflowsInitialize(t.handle.db, id);
  return id;
}

async function allocations(workflowId: number) {
  return t.query<{ id: number; slurm_job_id: string | null; status: string; message: string | null }>(
    'SELECT id, slurm_job_id, status, message FROM sluice.scheduled_compute_nodes WHERE workflow_id = $1 ORDER BY id',
    [workflowId],
  );
}

describe('schedule_nodes on a real Slurm', { timeout: 180_000 }, () => {
  it('an on_workflow_start allocation runs the workflow jobs in Slurm', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
    const id = await slurmWorkflow('debug', {
      a: { command: 'echo "$SLURM_JOB_ID" > slurm_job.txt' },
      b: { deps: ['a'], command: 'test -s slurm_job.txt' },
    });
    // A plain worker requests the allocation; the jobs are the allocation's, not its own.
    const local = spawnCli(['worker', String(id), '--output-dir', 'out', '--poll-interval', '5'], {
      env: env(),
      cwd: dir,
    });
    await local.exited;
    const [node] = await waitFor('the allocation to be submitted', async () => {
      const rows = await allocations(id);
      return rows[0]?.slurm_job_id ? rows : null;
    });
    const done = await waitFor(
      'the workflow to complete in Slurm',
      async () => {
        const w = await t.query<{ unfinished_jobs: number }>(
          'SELECT unfinished_jobs FROM sluice.workflows WHERE id = $1',
          [id],
        );
        return w[0]?.unfinished_jobs === 0;
      },
      120_000,
    );
    expect(done).toBe(true);
    const jobs = await t.query<{ name: string; status: string; scheduled_node_id: number | null }>(
      `SELECT j.name, j.status, k.scheduled_node_id FROM sluice.jobs j JOIN sluice.workers k ON k.id = j.worker_id
        WHERE j.workflow_id = $1 ORDER BY j.name`,
      [id],
    );
    expect(jobs).toEqual([
      { name: 'a', status: 'completed', scheduled_node_id: node?.id },
      { name: 'b', status: 'completed', scheduled_node_id: node?.id },
    ]);
    await waitForSlurmJob(node?.slurm_job_id as string, ['COMPLETED'], cluster.env, 60_000);
    const after = await waitFor('the allocation to be complete', async () => {
      const rows = await allocations(id);
      return rows[0]?.status === 'complete' ? rows : null;
    });
    expect(after).toHaveLength(1);
    const list = JSON.parse((await runCli(['slurm', 'list', String(id), '--json'], { env: env() })).stdout);
    expect(list).toEqual([
      expect.objectContaining({ slurm_job_id: node?.slurm_job_id, status: 'complete', scheduler: 'cluster' }),
    ]);
  });

  it("an sbatch rejection fails the action run with Slurm's message and leaves no allocation claimed", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
    const id = await slurmWorkflow('nosuchpartition', { a: {} });
    const local = await runCli(['worker', String(id), '--output-dir', 'out', '--poll-interval', '5'], {
      env: env(),
      cwd: dir,
    });
    expect(local.stderr).toMatch(/sbatch failed: .*nosuchpartition/i);
    const rows = await allocations(id);
    expect(rows).toEqual([
      expect.objectContaining({ slurm_job_id: null, status: 'failed', message: expect.stringMatching(/partition/i) }),
    ]);
    const actions = JSON.parse(
      (await runCli(['workflows', 'list-actions', String(id), '--json'], { env: env() })).stdout,
    );
    expect(actions[0]).toMatchObject({
      status: 'failed',
      runs: [expect.objectContaining({ status: 'failed', failed_command: 'sbatch' })],
    });
  });

  it('workflows cancel cancels the queued and running allocations', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
    const id = await slurmWorkflow('debug', { long: { command: 'sleep 120' } });
    const local = spawnCli(['worker', String(id), '--output-dir', 'out', '--poll-interval', '5'], {
      env: env(),
      cwd: dir,
    });
    await local.exited;
    await waitFor(
      'the job to run in the allocation',
      async () =>
        (await t.query<{ status: string }>('SELECT status FROM sluice.jobs WHERE workflow_id = $1', [id]))[0]
          ?.status === 'running',
      120_000,
    );
    const [node] = await allocations(id);
    const c = await runCli(['workflows', 'cancel', String(id)], { env: env() });
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/1 Slurm allocation\(s\) canceled/);
    const info = await waitForSlurmJob(node?.slurm_job_id as string, ['CANCELLED', 'COMPLETED'], cluster.env, 60_000);
    expect(['CANCELLED', 'COMPLETED']).toContain(info.state);
    expect((await allocations(id))[0]?.status).toBe('canceled');
  });
});
