import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli-runner.js';
import {
  runSlurm,
  type SlurmCluster,
  startSlurmCluster,
  submitSlurmJob,
  waitForSlurmJob,
} from '../support/slurm-cluster.js';

// A real Slurm cluster (slurmctld + two slurmd on this machine), never a mock.
describe('test Slurm cluster', () => {
  let cluster: SlurmCluster;

  beforeAll(async () => {
    cluster = await startSlurmCluster();
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const slurm = (command: string, args: string[]) => runSlurm(command, args, cluster.env, { cwd: cluster.dir });

  // First: later tests' jobs would leave the nodes allocated or completing.
  it('has two idle nodes and the debug and short partitions', async () => {
    // -N: a line per node and partition.
    const nodes = await slurm('sinfo', ['-h', '-N', '-o', '%N %t %P']);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout.trim().split('\n').sort()).toEqual([
      'node1 idle debug*',
      'node1 idle short',
      'node2 idle debug*',
      'node2 idle short',
    ]);

    const parts = await slurm('sinfo', ['-h', '-o', '%P %l %D']);
    expect(parts.stdout.trim().split('\n').sort()).toEqual(['debug* infinite 2', 'short 5:00 2']);
  });

  it('runs a batch job to COMPLETED and the job writes its file', async () => {
    const file = path.join(cluster.dir, 'hi.txt');
    const jobId = await submitSlurmJob(['--wrap', `echo hi > ${file}`], cluster.env, cluster.dir);
    const job = await waitForSlurmJob(jobId, ['COMPLETED'], cluster.env, 30_000);
    expect(job.fields.ExitCode).toBe('0:0');
    expect(readFileSync(file, 'utf8')).toBe('hi\n');
  });

  it('runs one srun task on each node of an -N2 job', async () => {
    const out = path.join(cluster.dir, 'two-nodes.out');
    const jobId = await submitSlurmJob(
      ['-N2', '-o', out, '--wrap', 'srun bash -c \'echo "$SLURM_NODEID $SLURMD_NODENAME"\''],
      cluster.env,
      cluster.dir,
    );
    const job = await waitForSlurmJob(jobId, ['COMPLETED'], cluster.env, 30_000);
    expect(job.fields.NodeList).toBe('node[1-2]');
    expect(readFileSync(out, 'utf8').trim().split('\n').sort()).toEqual(['0 node1', '1 node2']);
  });

  it('rejects a job for a partition that does not exist at once', async () => {
    const t0 = Date.now();
    const r = await slurm('sbatch', ['-p', 'nosuchpartition', '--wrap', 'true']);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/Submitted/);
    expect(r.stderr).toMatch(/invalid partition.*nosuchpartition/i);
  });

  it('cancels a running job: CANCELLED, and its processes are gone', async () => {
    // An odd duration tells this job's sleep apart from any other on the machine.
    const marker = `sleep 3000.${process.pid}${Date.now() % 1000}`;
    const jobId = await submitSlurmJob(['--wrap', marker], cluster.env, cluster.dir);
    await waitForSlurmJob(jobId, ['RUNNING'], cluster.env, 30_000);
    await waitFor(
      'the job to start its sleep',
      async () => (await runSlurm('pgrep', ['-f', marker], cluster.env)).code === 0,
    );

    const r = await slurm('scancel', [jobId]);
    expect(r.code).toBe(0);
    const job = await waitForSlurmJob(jobId, ['CANCELLED'], cluster.env, 30_000);
    expect(job.state).toBe('CANCELLED');
    expect((await runSlurm('pgrep', ['-f', marker], cluster.env)).code).toBe(1);
  });
});
