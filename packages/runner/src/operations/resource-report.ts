import { type ResourceUseRow, resultsResourceUse, type SluiceDb } from '@sluice/core';

/** Used more than asked by more than this (torc flags overuse of 1% and more). */
const OVER = 1.01;
/** Averaged less than this share of the cores it asked for. */
const UNDER_CPU = 0.25;

export interface ResourceReportRow extends ResourceUseRow {
  /** what stands out: memory over, cpu under, runtime over */
  flags: string[];
}

/**
 * torc's check-resource-utilization: each monitored job's peak and average use against its
 * resource requirements, flagging jobs that used more memory than requested, far less CPU than
 * requested, or ran longer than their runtime.
 */
export async function resourceReport(h: SluiceDb, workflowId: number): Promise<ResourceReportRow[]> {
  return (await resultsResourceUse(h.db, workflowId)).map((r) => {
    const flags: string[] = [];
    if (r.peak_memory_bytes > r.memory_bytes * OVER) flags.push('memory over request');
    if (r.avg_cpu_percent < r.num_cpus * 100 * UNDER_CPU) flags.push('cpu far under request');
    if (r.exec_time_s !== null && r.exec_time_s > r.runtime_seconds * OVER) flags.push('runtime over request');
    return { ...r, flags };
  });
}
