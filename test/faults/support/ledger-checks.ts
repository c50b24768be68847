import { expect } from 'vitest';
import type { Query } from './invariants.js';
import type { JobLedger } from './job-ledger.js';

/**
 * What the ledger says against the database: no overlap ever, every completed job has exactly
 * one run that got to its end with 0 (more only if a result row says an attempt was terminated,
 * or `allowReruns`, when the test reset and reran jobs).
 */
export async function ledgerViolations(
  query: Query,
  workflowId: number,
  ledger: JobLedger,
  opts: { allowReruns?: boolean } = {},
): Promise<string[]> {
  const out = ledger.overlaps().map((o) => `overlap: ${o}`);
  const jobs = await query<{ id: number; name: string; status: string; terminated: number }>(
    `SELECT j.id, j.name, j.status::text,
            (SELECT count(*)::int FROM sluice.results r WHERE r.job_id = j.id AND r.status = 'terminated') AS terminated
       FROM sluice.jobs j WHERE j.workflow_id = $1`,
    [workflowId],
  );
  const ends = new Map<number, number>();
  for (const e of ledger.ends()) if (e.rc === 0) ends.set(e.jobId, (ends.get(e.jobId) ?? 0) + 1);
  for (const j of jobs) {
    const n = ends.get(j.id) ?? 0;
    if (j.status === 'completed' && n === 0) out.push(`job ${j.name} is completed but never ran to its end`);
    if (n > 1 && j.terminated === 0 && !opts.allowReruns) out.push(`job ${j.name} ran to completion ${n} times`);
  }
  return out;
}

export async function expectLedgerConsistent(
  query: Query,
  workflowId: number,
  ledger: JobLedger,
  opts: { allowReruns?: boolean; context?: string } = {},
): Promise<void> {
  const v = await ledgerViolations(query, workflowId, ledger, opts);
  const shown = v.slice(0, 10).join('\n') + (v.length > 10 ? `\n... and ${v.length - 10} more` : '');
  expect(v, `${opts.context ? `${opts.context}: ` : ''}the job ledger disagrees:\n${shown}\n`).toEqual([]);
}
