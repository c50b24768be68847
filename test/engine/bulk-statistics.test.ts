import { workflowsCreate, workflowsInitialize } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/test-database.js';
import { buildWorkflow, type JobSketch } from '../support/workflow-builder.js';

// Autovacuum may be off or late: creation and a run's start ANALYZE what they wrote, so the
// claim planner knows a big workflow's jobs right away (issue 11, figure 6).
const t = useTestDatabase('bulk-statistics');

/** A chain of n jobs: one ready after initialize, n - 1 blocked. */
function chain(prefix: string, n: number): Record<string, JobSketch> {
  const jobs: Record<string, JobSketch> = {};
  for (let i = 0; i < n; i++) jobs[`${prefix}${i}`] = i === 0 ? {} : { deps: [`${prefix}${i - 1}`] };
  return jobs;
}

/** The planner's most common job statuses with their frequencies, or null without statistics. */
async function statusStatistics(): Promise<Record<string, number> | null> {
  const rows = await t.query<{ vals: string | null; freqs: number[] | null }>(
    `SELECT most_common_vals::text AS vals, most_common_freqs AS freqs
       FROM pg_stats WHERE schemaname = 'sluice' AND tablename = 'jobs' AND attname = 'status'`,
  );
  const row = rows[0];
  if (!row?.vals || !row.freqs) return null;
  const vals = row.vals.replace(/^\{|\}$/g, '').split(',');
  return Object.fromEntries(vals.map((v, i) => [v, Number((row.freqs as number[])[i]?.toFixed(3))]));
}

async function analyzedRows(table: string): Promise<number> {
  const [row] = await t.query<{ n: number }>(`SELECT reltuples::int AS n FROM pg_class WHERE oid = $1::regclass`, [
    `sluice.${table}`,
  ]);
  return row?.n ?? -1;
}

describe('statistics after bulk writes', () => {
  it('leaves a small workflow alone, and analyzes a big one when it is created and when it is initialized', async () => {
    const small = await workflowsCreate(t.handle.db, buildWorkflow(chain('s', 10)));
    await workflowsInitialize(t.handle.db, small);
    expect(await statusStatistics()).toBeNull();

    const big = await workflowsCreate(t.handle.db, buildWorkflow(chain('b', 400)));
    expect(await analyzedRows('jobs')).toBe(410);
    expect(await analyzedRows('job_dependencies')).toBe(9 + 399);
    // The small workflow's 10 jobs: 1 ready, 9 blocked; the big one's all uninitialized.
    expect(await statusStatistics()).toMatchObject({ uninitialized: 0.976 });

    await workflowsInitialize(t.handle.db, big);
    const stats = await statusStatistics();
    expect(stats).toMatchObject({ blocked: 0.995 });
    expect(stats).not.toHaveProperty('uninitialized');
  });
});
