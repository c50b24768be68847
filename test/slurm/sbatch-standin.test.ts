import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ResolvedSlurmScheduler, workflowsCreate } from '@sluice/core';
import { commandLineSlurmClient, type SlurmClient, submitWorkflow } from '@sluice/runner';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflowWithActions } from '../support/workflow-builder.js';

// Stand-ins for sbatch and squeue, first on PATH: each case is a way a real sbatch (or a site's
// wrapper around it) answers. They log every call to DIR/calls; the stand-in sbatch adds the jobs
// it "creates" to DIR/queue, which the stand-in squeue lists, filtered by --name as Slurm does.
const SBATCH = `#!/bin/bash
dir="$SLUICE_STANDIN_DIR"
script="\${@: -1}"
echo "sbatch $*" >> "$dir/calls"
n=$(grep -c '^sbatch' "$dir/calls")
name=$(sed -n 's/^#SBATCH --job-name=//p' "$script")
comment=$(sed -n 's/^#SBATCH --comment=//p' "$script")
created() { echo "$1|$name|PENDING|$comment" >> "$dir/queue"; }
case "$(cat "$dir/scenario")" in
  plain) echo "Submitted batch job 4001" ;;
  banner) echo "*** Welcome to the cluster: jobs are charged to your project ***"; echo "4002;cluster" ;;
  unreadable) echo "job accepted, have a nice day" ;;
  transient)
    if [ "$n" -le 2 ]; then
      echo "sbatch: error: Batch job submission failed: Slurm temporarily unable to accept job, sleeping and retrying" >&2
      exit 1
    fi
    echo 4003 ;;
  killed) created 4004; exec sleep 600 ;;
  socket)
    # An older allocation of the same workflow has the same name: only the comment tells them apart.
    echo "3990|$name|COMPLETED|sluice-allocation-0-0000" >> "$dir/queue"
    created 4005
    echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2
    exit 1 ;;
  socket-lost)
    if [ "$n" -le 1 ]; then
      echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2
      exit 1
    fi
    echo 4006 ;;
  blind)
    echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2
    exit 1 ;;
  rejected)
    echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2
    exit 1 ;;
esac
`;

const SQUEUE = `#!/bin/bash
dir="$SLUICE_STANDIN_DIR"
echo "squeue $*" >> "$dir/calls"
if [ "$(cat "$dir/scenario")" = blind ]; then
  echo "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2
  exit 1
fi
name=""
for a in "$@"; do case "$a" in --name=*) name="\${a#--name=}" ;; esac; done
touch "$dir/queue"
awk -F'|' -v n="$name" '$2 == n' "$dir/queue"
`;

const t = useTestDatabase('slurm_sbatch_standin');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-standin-'));
const saved = { PATH: process.env.PATH, SLUICE_STANDIN_DIR: process.env.SLUICE_STANDIN_DIR };
const fast = { attempts: 4, initialDelayMs: 20, maxDelayMs: 100 };
/** The real client, with quick retries; its sbatch is killed after a generous minute, as in production. */
const slurm = commandLineSlurmClient({ submitPolicy: fast, sbatchTimeoutMs: 60_000 });

beforeAll(() => {
  for (const [name, text] of [
    ['sbatch', SBATCH],
    ['squeue', SQUEUE],
  ] as const) {
    writeFileSync(path.join(dir, name), text);
    chmodSync(path.join(dir, name), 0o755);
  }
  process.env.PATH = `${dir}${path.delimiter}${process.env.PATH}`;
  process.env.SLUICE_STANDIN_DIR = dir;
});
afterAll(() => {
  process.env.PATH = saved.PATH;
  if (saved.SLUICE_STANDIN_DIR === undefined) delete process.env.SLUICE_STANDIN_DIR;
  else process.env.SLUICE_STANDIN_DIR = saved.SLUICE_STANDIN_DIR;
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  rmSync(path.join(dir, 'calls'), { force: true });
  rmSync(path.join(dir, 'queue'), { force: true });
});

const scheduler: ResolvedSlurmScheduler = {
  name: 'cluster',
  account: null,
  partition: 'debug',
  walltime: '01:00:00',
  nodes: 1,
  mem: null,
  gres: null,
  qos: null,
  ntasksPerNode: null,
  tmp: null,
  extra: null,
};

interface AllocationRow {
  id: number;
  slurm_job_id: string | null;
  status: string;
  message: string | null;
  script_path: string | null;
}

/** Creates a workflow with one on_workflow_start allocation and submits it as `sluice submit` does. */
async function submitWith(scenario: string, client: SlurmClient = slurm) {
  writeFileSync(path.join(dir, 'scenario'), scenario);
  const wf = buildWorkflowWithActions({ a: {} }, [], { name: `standin ${scenario}` });
  wf.slurmSchedulers = [scheduler];
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
      maxParallelJobs: null,
    },
  ];
  const id = await workflowsCreate(t.handle.db, wf);
  const result = await submitWorkflow(t.handle, { id }, path.join(dir, `out-${id}`), client, '/nonexistent/sluice.mjs');
  const allocations = await t.query<AllocationRow>(
    'SELECT id, slurm_job_id, status::text, message, script_path FROM sluice.scheduled_compute_nodes WHERE workflow_id = $1 ORDER BY id',
    [id],
  );
  const calls = readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n');
  return {
    id,
    result,
    allocations,
    sbatch: calls.filter((c) => c.startsWith('sbatch ')),
    squeue: calls.filter((c) => c.startsWith('squeue ')),
  };
}

describe('sbatch outcomes, through stand-ins on PATH', () => {
  it('"Submitted batch job N" (sbatch without --parsable, or a wrapper): one submission, its id', async () => {
    const r = await submitWith('plain');
    expect(r.sbatch).toHaveLength(1);
    expect(r.sbatch[0]).toMatch(/^sbatch --parsable \S+\.sh$/);
    expect(r.squeue).toEqual([]);
    expect(r.allocations).toEqual([
      expect.objectContaining({ slurm_job_id: '4001', status: 'pending', message: null }),
    ]);
    expect(r.result).toMatchObject({ submitted: 1, failed: [] });
  });

  it('a banner line before "N;cluster": one submission, the id from the last line', async () => {
    const r = await submitWith('banner');
    expect(r.sbatch).toHaveLength(1);
    expect(r.allocations).toEqual([expect.objectContaining({ slurm_job_id: '4002', status: 'pending' })]);
  });

  it('exit 0 with no readable id: exactly one submission, the allocation unknown with what sbatch printed', async () => {
    const r = await submitWith('unreadable');
    expect(r.sbatch).toHaveLength(1);
    // It looked for the job by name (the comment is matched on this side), found none, and stopped.
    expect(r.squeue).toHaveLength(1);
    const [row] = r.allocations;
    expect(row).toMatchObject({ slurm_job_id: null, status: 'unknown' });
    expect(row?.message).toContain('sbatch exited 0 but printed no job id');
    expect(row?.message).toContain('job accepted, have a nice day');
    expect(r.result).toMatchObject({ submitted: 1, failed: [] });
  });

  it('a transient failure twice, then success: three calls, one allocation', async () => {
    const r = await submitWith('transient');
    expect(r.sbatch).toHaveLength(3);
    // "temporarily unable to accept job": the controller refused it, so nothing to look up.
    expect(r.squeue).toEqual([]);
    expect(r.allocations).toEqual([expect.objectContaining({ slurm_job_id: '4003', status: 'pending' })]);
  });

  it('sbatch killed by the timeout after Slurm created the job: no second sbatch, the job found is used', async () => {
    const impatient = commandLineSlurmClient({ submitPolicy: fast, sbatchTimeoutMs: 2_000 });
    const r = await submitWith('killed', impatient);
    expect(r.sbatch).toHaveLength(1);
    expect(r.allocations).toHaveLength(1);
    const [row] = r.allocations as [AllocationRow];
    expect(row).toMatchObject({ slurm_job_id: '4004', status: 'pending' });
    expect(row.message).toMatch(/did not answer in time.*Slurm had created job 4004/);
    const script = readFileSync(row.script_path as string, 'utf8');
    const name = /^#SBATCH --job-name=(.+)$/m.exec(script)?.[1];
    expect(name).toBe(`sluice_wf${r.id}_standin_killed`);
    expect(script).toMatch(new RegExp(`^#SBATCH --comment=sluice-allocation-${row.id}-[0-9a-f]{8}$`, 'm'));
    expect(r.squeue).toEqual([`squeue -h --name=${name} -t all -o %i|%j|%T|%k`]);
  });

  it('"Socket timed out" after Slurm created the job: the job with this comment is used, not its namesake', async () => {
    const r = await submitWith('socket');
    expect(r.sbatch).toHaveLength(1);
    expect(r.squeue).toHaveLength(1);
    expect(r.allocations).toEqual([
      expect.objectContaining({
        slurm_job_id: '4005',
        status: 'pending',
        message: expect.stringMatching(/Socket timed out.*Slurm had created job 4005/),
      }),
    ]);
  });

  it('"Socket timed out" when Slurm did not create the job: looked up, then submitted again once', async () => {
    const r = await submitWith('socket-lost');
    expect(r.sbatch).toHaveLength(2);
    expect(r.squeue).toHaveLength(1);
    expect(r.allocations).toEqual([expect.objectContaining({ slurm_job_id: '4006', status: 'pending' })]);
  });

  it('a timeout while squeue cannot answer either: never submitted again, the allocation unknown', async () => {
    const r = await submitWith('blind');
    expect(r.sbatch).toHaveLength(1);
    // Every later try only looked (fast.attempts - 1), then one last look.
    expect(r.squeue).toHaveLength(fast.attempts);
    const [row] = r.allocations;
    expect(row).toMatchObject({ slurm_job_id: null, status: 'unknown' });
    expect(row?.message).toMatch(/Socket timed out.*squeue could not tell whether Slurm created job/);
  });

  it("a rejection: one call, the allocation failed with sbatch's message, the action failed", async () => {
    const r = await submitWith('rejected');
    expect(r.sbatch).toHaveLength(1);
    expect(r.squeue).toEqual([]);
    expect(r.allocations).toEqual([
      expect.objectContaining({
        slurm_job_id: null,
        status: 'failed',
        message: 'sbatch: error: Batch job submission failed: Invalid partition name specified',
      }),
    ]);
    expect(r.result.submitted).toBe(0);
    expect(r.result.failed).toEqual([expect.stringMatching(/^sbatch failed: .*Invalid partition name specified/)]);
    const runs = await t.query<{ status: string; failed_command: string | null }>(
      `SELECT r.status::text, r.failed_command FROM sluice.action_runs r JOIN sluice.workflow_actions a ON a.id = r.action_id
        WHERE a.workflow_id = $1`,
      [r.id],
    );
    expect(runs).toEqual([{ status: 'failed', failed_command: 'sbatch' }]);
  });
});
