import { formatDuration, type SluiceDb, type WorkflowStallFacts, workflowsStallFacts } from '@sluice/core';
import { type AllocationReconciliation, allocationsReconcile } from '../slurm/allocation-reconciler.js';
import type { SlurmClient } from '../slurm/slurm-client.js';

const GIB = 1024 ** 3;
const size = (bytes: number) =>
  bytes >= GIB ? `${(bytes / GIB).toFixed(bytes % GIB ? 1 : 0)}g` : `${Math.ceil(bytes / 1024 ** 2)}m`;

/** Why ready jobs do not run, in one line each; both null when nothing holds them back. */
export interface StallReport {
  /** nothing will run them: no live worker can, and no allocation that may start is queued */
  stalled: string | null;
  /** they wait for queued or running allocations (what Slurm says of them) */
  waiting: string | null;
}

/** Allocations listed by name in a report line; the rest are counted. */
const LISTED_ALLOCATIONS = 3;

function allocationList(allocations: AllocationReconciliation['live']): string {
  const named = allocations.slice(0, LISTED_ALLOCATIONS).map((a) => {
    const slurm = a.slurmState
      ? `${a.slurmState}${a.slurmReason && a.slurmReason !== 'None' ? `, ${a.slurmReason}` : ''}`
      : 'not shown by squeue';
    return `allocation ${a.id} (Slurm job ${a.slurmJobId} of scheduler "${a.scheduler}": ${slurm})`;
  });
  const more = allocations.length - named.length;
  return `${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * What holds a workflow's ready jobs back, from the stall facts and what Slurm says of the
 * workflow's allocations: `stalled` when nothing will run them (e.g. `3 ready jobs need 16 cpus;
 * live workers have at most 8`, or every queued allocation is pending for a reason that does not
 * pass, such as PartitionTimeLimit); `waiting` when allocations that may still start are queued.
 */
export function describeStall(
  workflowId: number,
  f: WorkflowStallFacts,
  slurm: AllocationReconciliation = { live: [], ended: [], unavailable: null, states: new Map() },
): StallReport {
  if (f.unfit === 0) return { stalled: null, waiting: null };
  const jobs = `${f.unfit_is_lower_bound ? 'at least ' : ''}${f.unfit} ready job${f.unfit === 1 ? '' : 's'}`;
  const waits = f.unfit === 1 ? 'waits' : 'wait';
  if (f.queued_allocations > 0) {
    const known = slurm.live.length === f.queued_allocations;
    if (known && slurm.live.every((a) => a.neverStarts))
      return {
        stalled: `${jobs} ${waits} for ${allocationList(slurm.live)}, which Slurm will not start as requested`,
        waiting: null,
      };
    if (slurm.live.length > 0) return { stalled: null, waiting: `${jobs} ${waits} for ${allocationList(slurm.live)}` };
    const n = f.queued_allocations;
    const unknown = slurm.unavailable ? ` (Slurm could not be asked: ${slurm.unavailable})` : ' (being submitted)';
    return { stalled: null, waiting: `${jobs} ${waits} for ${n} queued allocation${n === 1 ? '' : 's'}${unknown}` };
  }
  return { stalled: unfitReason(workflowId, jobs, f), waiting: null };
}

function unfitReason(workflowId: number, jobs: string, f: WorkflowStallFacts): string {
  if (f.live_workers === 0) return `${jobs} and no live worker to run them (start one: sluice worker ${workflowId})`;
  const need = f.unfit === 1 ? 'needs' : 'need';
  const reasons: string[] = [];
  if (f.need_schedulers.length > 0)
    reasons.push(
      `${need} a worker of scheduler ${f.need_schedulers.map((s) => `"${s}"`).join(', ')} (an allocation of it); none is running`,
    );
  if (f.need_cpus !== null && f.max_cpus !== null && f.need_cpus > f.max_cpus)
    reasons.push(`${need} ${f.need_cpus} cpus; live workers have at most ${f.max_cpus}`);
  if (f.need_memory_bytes !== null && f.max_memory_bytes !== null && f.need_memory_bytes > f.max_memory_bytes)
    reasons.push(
      `${need} ${size(f.need_memory_bytes)} of memory; live workers have at most ${size(f.max_memory_bytes)}`,
    );
  if (f.need_gpus !== null && f.max_gpus !== null && f.need_gpus > f.max_gpus)
    reasons.push(`${need} ${f.need_gpus} gpus; live workers have at most ${f.max_gpus}`);
  if (f.need_nodes !== null && f.max_nodes !== null && f.need_nodes > f.max_nodes)
    reasons.push(`${need} ${f.need_nodes} nodes; live workers have at most ${f.max_nodes}`);
  if (f.need_runtime_seconds !== null && f.max_seconds_left !== null && f.need_runtime_seconds > f.max_seconds_left)
    reasons.push(
      `${need} a runtime of ${formatDuration(f.need_runtime_seconds)}; live workers have at most ${formatDuration(f.max_seconds_left)} left`,
    );
  // Each job misses some worker in some way, but no single measure explains it.
  if (reasons.length === 0)
    reasons.push(`${f.unfit === 1 ? 'fits' : 'fit'} no live worker (its resources, scheduler and time left together)`);
  return `${jobs} ${reasons.join('; ')}`;
}

/**
 * What holds the workflow's ready jobs back. Reconciles its allocations with Slurm first (only
 * when it has queued or running ones), so that an allocation whose job ended unstarted stops
 * counting as queued.
 */
export async function workflowStall(h: SluiceDb, workflowId: number, slurm: SlurmClient): Promise<StallReport> {
  const reconciled = await allocationsReconcile(h, workflowId, slurm);
  return describeStall(workflowId, await workflowsStallFacts(h.db, workflowId), reconciled);
}
