import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SlurmSchedulerWithDefaults } from '@sluice/core';
import { makeDirectorySync } from '../output-directory.js';

export interface AllocationScript {
  workflowId: number;
  scheduledNodeId: number;
  scheduler: SlurmSchedulerWithDefaults;
  outputDir: string;
  startOneWorkerPerNode: boolean;
  maxParallelJobs: number | null;
  /** absolute paths, so the script works from any directory on the node */
  nodePath: string;
  cliPath: string;
  /** sbatch --comment: what tells this allocation's Slurm job apart (allocationComment) */
  comment: string;
}

/** The Slurm job name of a workflow's allocations: readable in squeue, shared by all of them. */
export function allocationJobName(workflowId: number, workflowName: string): string {
  return `sluice_wf${workflowId}_${workflowName.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/**
 * The comment that names one allocation row. The token (random, per allocation) keeps apart jobs
 * of another database whose workflow and allocation ids are the same, and an older job that
 * squeue still shows: after a lost reply, the job found by name and comment is this one.
 */
export function allocationComment(scheduledNodeId: number, token: string): string {
  return `sluice-allocation-${scheduledNodeId}-${token}`;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The sbatch script: slurm_defaults first, then the scheduler's own fields overriding them.
 * It carries no password: the database URL reaches the worker through the environment that
 * sbatch exports from the submitting process.
 */
export function buildAllocationScript(a: AllocationScript): string {
  const out = path.resolve(a.outputDir);
  const options = new Map<string, string>();
  for (const [k, v] of Object.entries(a.scheduler.slurm_defaults ?? {})) options.set(k.replace(/_/g, '-'), String(v));
  const s = a.scheduler;
  const own: [string, string | number | null][] = [
    ['account', s.account],
    ['partition', s.partition],
    ['time', s.walltime],
    ['nodes', s.nodes],
    ['mem', s.mem],
    ['gres', s.gres],
    ['qos', s.qos],
    ['ntasks-per-node', s.ntasks_per_node],
    ['tmp', s.tmp],
  ];
  for (const [k, v] of own) if (v !== null && v !== undefined) options.set(k, String(v));
  options.set('job-name', allocationJobName(a.workflowId, s.workflow_name));
  options.set('comment', a.comment);
  options.set('output', path.join(out, 'slurm', `slurm_wf${a.workflowId}_node${a.scheduledNodeId}_%j.o`));
  options.set('error', path.join(out, 'slurm', `slurm_wf${a.workflowId}_node${a.scheduledNodeId}_%j.e`));

  const lines = ['#!/bin/bash'];
  for (const [k, v] of options) lines.push(`#SBATCH --${k}=${v}`);
  if (s.extra) lines.push(`#SBATCH ${s.extra}`);
  const worker = [
    quote(a.nodePath),
    quote(a.cliPath),
    'worker',
    String(a.workflowId),
    '--output-dir',
    quote(out),
    '--scheduled-node-id',
    String(a.scheduledNodeId),
    ...(a.maxParallelJobs ? ['--max-parallel-jobs', String(a.maxParallelJobs)] : []),
  ].join(' ');
  lines.push('', 'set -e', `cd ${quote(out)}`);
  lines.push(
    a.startOneWorkerPerNode
      ? `exec srun --nodes="$SLURM_JOB_NUM_NODES" --ntasks-per-node=1 ${worker} --one-worker-per-node`
      : `exec ${worker}`,
  );
  return `${lines.join('\n')}\n`;
}

export function writeAllocationScript(a: AllocationScript): string {
  const dir = path.join(path.resolve(a.outputDir), 'slurm');
  makeDirectorySync(dir);
  const file = path.join(dir, `sbatch_wf${a.workflowId}_node${a.scheduledNodeId}.sh`);
  writeFileSync(file, buildAllocationScript(a), { mode: 0o755 });
  return file;
}
