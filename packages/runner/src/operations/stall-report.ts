import { formatDuration, type SluiceDb, type WorkflowStallFacts, workflowsStallFacts } from '@sluice/core';

const GIB = 1024 ** 3;
const size = (bytes: number) =>
  bytes >= GIB ? `${(bytes / GIB).toFixed(bytes % GIB ? 1 : 0)}g` : `${Math.ceil(bytes / 1024 ** 2)}m`;

/**
 * Why a workflow cannot go on, in one line, or null when it can (or is only waiting for jobs
 * that run, or for allocations that are queued or running): ready jobs that no live worker can
 * run, e.g. `3 ready jobs need 16 cpus; live workers have at most 8`.
 */
export function describeStall(workflowId: number, f: WorkflowStallFacts): string | null {
  if (f.unfit === 0 || f.queued_allocations > 0) return null;
  const jobs = `${f.unfit} ready job${f.unfit === 1 ? '' : 's'}`;
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

export async function workflowStall(h: SluiceDb, workflowId: number): Promise<string | null> {
  return describeStall(workflowId, await workflowsStallFacts(h.db, workflowId));
}
