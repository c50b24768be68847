import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ResolvedSlurmScheduler, workflowsCreate, workflowsInitialize } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, waitFor } from '../support/cli-runner.js';
import { runSlurm, type SlurmCluster, startSlurmCluster, waitForSlurmJob } from '../support/slurm-cluster.js';
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

function scheduler(
  name: string,
  partition: string,
  walltime = '02:00:00',
  extra: string | null = null,
): ResolvedSlurmScheduler {
  return {
    name,
    account: null,
    partition,
    // Longer than the jobs' default runtime (PT1H): the worker claims only jobs that fit before the end.
    walltime,
    nodes: 1,
    mem: null,
    gres: null,
    qos: null,
    ntasksPerNode: null,
    tmp: null,
    extra,
  };
}

/** A workflow whose jobs need the `cluster` scheduler and an on_workflow_start schedule_nodes action. */
async function slurmWorkflow(
  partition: string,
  jobs: Record<string, JobSketch>,
  walltime?: string,
  extra?: string,
): Promise<number> {
  const wf = buildWorkflowWithActions(jobs, []);
  wf.slurmSchedulers = [scheduler('cluster', partition, walltime, extra)];
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
      expect.objectContaining({
        slurm_job_id: node?.slurm_job_id,
        status: 'complete',
        scheduler: 'cluster',
        // A finished job Slurm still knows (MinJobAge) keeps its state.
        slurm_state: 'COMPLETED',
        slurm_reason: 'None',
      }),
    ]);
  });

  it("slurm list shows why an allocation waits (squeue's reason), and its comment names the row", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
    const id = await slurmWorkflow('debug', { a: {} }, undefined, '--begin=now+1hour');
    const local = await runCli(['worker', String(id), '--output-dir', 'out', '--poll-interval', '5'], {
      env: env(),
      cwd: dir,
    });
    // The local worker only submits: the job is the allocation's (it exits with nothing runnable).
    expect(local.stderr).toMatch(/running action \d+ \(on_workflow_start, schedule_nodes\)/);
    const [node] = await allocations(id);
    expect(node?.slurm_job_id).toMatch(/^\d+$/);
    const r = await runCli(['slurm', 'list', String(id), '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({
        id: node?.id,
        slurm_job_id: node?.slurm_job_id,
        status: 'pending',
        slurm_state: 'PENDING',
        slurm_reason: 'BeginTime',
      }),
    ]);
    const table = await runCli(['slurm', 'list', String(id)], { env: env() });
    expect(table.stdout).toMatch(/slurm_reason/);
    expect(table.stdout).toMatch(/PENDING\s+BeginTime/);
    const q = await runSlurm('squeue', ['-h', '-j', node?.slurm_job_id as string, '-o', '%j|%k'], cluster.env);
    expect(q.stdout.trim()).toMatch(new RegExp(`^sluice_wf${id}_sketch\\|sluice-allocation-${node?.id}-[0-9a-f]{8}$`));
    const c = await runCli(['workflows', 'cancel', String(id)], { env: env() });
    expect(c.code, c.stderr).toBe(0);
    await waitForSlurmJob(node?.slurm_job_id as string, ['CANCELLED'], cluster.env, 60_000);
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

  it('submit: a two-node allocation with one worker per node, then a later phase allocated when its jobs become ready', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
    const spec = path.join(dir, 'phases.yaml');
    writeFileSync(
      spec,
      `name: phases
slurm_schedulers:
  - name: wide
    partition: debug
    walltime: "02:00:00"
    nodes: 2
  - name: phase2
    partition: debug
    walltime: "02:00:00"
    nodes: 1
resource_requirements:
  - name: short
    runtime: PT5M
jobs:
  - name: prep_{i}
    command: sleep 1; echo "$SLUICE_WORKER_ID" > prep_{i}.txt
    scheduler: wide
    resource_requirements: short
    parameters:
      i: "1:4"
  - name: train_{i}
    command: echo "$SLURM_JOB_ID" > train_{i}.txt
    depends_on_regexes: ["prep_[0-9]+"]
    scheduler: phase2
    resource_requirements: short
    parameters:
      i: "1:2"
actions:
  - trigger_type: on_workflow_start
    action_type: schedule_nodes
    scheduler: wide
    scheduler_type: slurm
    num_allocations: 1
    start_one_worker_per_node: true
    max_parallel_jobs: 1
  - trigger_type: on_jobs_ready
    action_type: schedule_nodes
    job_name_regexes: ["train_[0-9]+"]
    scheduler: phase2
    scheduler_type: slurm
    num_allocations: 1
`,
    );
    const r = await runCli(['submit', spec, '--output-dir', 'out', '--json'], { env: env(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const { id, submitted } = JSON.parse(r.stdout);
    expect(submitted).toBe(1);
    // The later phase is not allocated before its jobs are ready.
    const early = await allocations(id);
    expect(early).toHaveLength(1);
    await waitFor(
      'the workflow to complete in Slurm',
      async () =>
        (
          await t.query<{ unfinished_jobs: number }>('SELECT unfinished_jobs FROM sluice.workflows WHERE id = $1', [id])
        )[0]?.unfinished_jobs === 0,
      150_000,
    );
    const rows = await allocations(id);
    expect(rows).toHaveLength(2);
    const workersOfWide = await t.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sluice.workers WHERE scheduled_node_id = $1',
      [rows[0]?.id],
    );
    expect(workersOfWide[0]?.n).toBe(2);
    const byPhase = await t.query<{ name: string; scheduled_node_id: number }>(
      `SELECT j.name, k.scheduled_node_id FROM sluice.jobs j JOIN sluice.workers k ON k.id = j.worker_id
        WHERE j.workflow_id = $1 AND j.status = 'completed' ORDER BY j.name`,
      [id],
    );
    expect(byPhase.map((j) => [j.name, j.scheduled_node_id])).toEqual([
      ['prep_1', rows[0]?.id],
      ['prep_2', rows[0]?.id],
      ['prep_3', rows[0]?.id],
      ['prep_4', rows[0]?.id],
      ['train_1', rows[1]?.id],
      ['train_2', rows[1]?.id],
    ]);
    const firstPhaseDone = await t.query<{ at: Date; created: Date }>(
      `SELECT max(r.completed_at) AS at, (SELECT created_at FROM sluice.scheduled_compute_nodes WHERE id = $2) AS created
         FROM sluice.results r JOIN sluice.jobs j ON j.id = r.job_id WHERE j.workflow_id = $1 AND j.name LIKE 'prep_%'`,
      [id, rows[1]?.id],
    );
    const phase = firstPhaseDone[0]!;
    // The second allocation was requested once the first phase had finished, not before.
    expect(phase.created.getTime()).toBeGreaterThanOrEqual(phase.at.getTime() - 1000);
  });

  it('submit refuses a workflow without an on_workflow_start schedule_nodes action, creating nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
    const spec = path.join(dir, 'plain.yaml');
    writeFileSync(spec, 'name: plain\njobs:\n  - name: a\n    command: "true"\n');
    const before = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.workflows');
    const r = await runCli(['submit', spec], { env: env(), cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no on_workflow_start schedule_nodes action/);
    const after = await t.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.workflows');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it("does not claim a job whose runtime exceeds the allocation's remaining time, and gives the nodes back", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
    // The jobs' default runtime is PT1H; the allocation has ten minutes.
    const id = await slurmWorkflow('debug', { long: { command: 'touch long.ran' } }, '00:10:00');
    const local = spawnCli(['worker', String(id), '--output-dir', 'out', '--poll-interval', '5'], {
      env: env(),
      cwd: dir,
    });
    await local.exited;
    const [node] = await waitFor(
      'the allocation to end',
      async () => {
        const rows = await allocations(id);
        return rows[0]?.status === 'complete' ? rows : null;
      },
      120_000,
    );
    expect(node?.slurm_job_id).toMatch(/^\d+$/);
    const jobs = await t.query<{ status: string; attempt: number }>(
      'SELECT status, attempt FROM sluice.jobs WHERE workflow_id = $1',
      [id],
    );
    expect(jobs).toEqual([{ status: 'ready', attempt: 0 }]);
    await waitForSlurmJob(node?.slurm_job_id as string, ['COMPLETED'], cluster.env, 60_000);
  });
});
